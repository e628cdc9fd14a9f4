"""The pruning study's named studies: what each asks, its rows and seeds, and its budget.

``python -m rllib_experiments pruning_study --study NAME`` runs one (``--list`` shows them with
how many of their trials a folder holds). Every trial is a reproduce trial of a Table I row or
of a variant row (:mod:`rllib_experiments.methods.variants`) at the paper's budget.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Dict, Sequence

from rllib_experiments.studies.common.budgets import PAPER
from rllib_experiments.studies.pruning import pareto
from rllib_experiments.studies.common.found_rows import DISPLAY_NAMES, SEARCH_A_BEST  # noqa: F401 (re-exported)

SCOPES = [
    "harmonic+input_dense",
    "harmonic+io_dense",
    "harmonic+lstm_only",
    "harmonic+global",
    "harmonic+head_dense+global",
]
MECHANICS = [
    "harmonic+hold",
    "harmonic+iprune1",
    "harmonic+iprune20",
    "harmonic+amp0",
    "harmonic+amp0.2",
    "harmonic+period0.1",
    "harmonic+period0.5",
]
#: name -> (what it asks, rows, seeds); setups A and B unless --setups.
STUDIES: Dict[str, tuple] = {
    "rootcause": (
        "harmonic with everything pruned vs its output layer kept dense",
        ["harmonic", "harmonic+head_dense"],
        list(range(5)),
    ),
    "scope": ("which layers to prune, and layer-wise vs global ranking", SCOPES, list(range(5))),
    "mechanics": (
        "regrow vs hold, i_prune, the harmonic amplitude and period (scope as the paper)",
        MECHANICS,
        list(range(3)),
    ),
    "schedules_head_dense": (
        "the other schedules with the output layer dense",
        ["linear+head_dense", "polynomial+head_dense"],
        list(range(5)),
    ),
    "paper_seeds": (
        "the pruning rows of Table I on the paper's 10 seeds, with the best found in "
        "the root-cause study and in the search",
        [
            "dense",
            "harmonic",
            "linear",
            "polynomial",
            "polynomial200",
            "harmonic+head_dense",
            SEARCH_A_BEST,
        ],
        list(range(10)),
    ),
    "sparsity": (
        "the sparsest actors that still coordinate (of all actor parameters)",
        [
            "ours+head_dense+all0.95",
            "ours+head_dense+all0.98",
            "ours+head_dense+biases+all0.99",
            "ours+global+biases+all0.99",
            "ours+global+biases+all0.995",
            "ours_dense",
            "harmonic+head_dense+all0.98",
            "harmonic+head_dense+biases+all0.99",
        ],
        list(range(5)),
    ),
    "bf16": (
        "ours trained with bfloat16 autocast vs float32, paired by seed (run side by side)",
        ["ours", "ours+bf16"],
        list(range(3)),
    ),
    "last3": (
        "ours when a user sees the rate it got, with the sum-rate and the difference reward: "
        "how close a decentralized learned policy gets to the oracle (run with --setups A C)",
        ["ours", "ours+rate", "ours+rate+difference"],
        list(range(5)),
    ),
    "pareto_distribution": (
        "uniform vs ERK sparsity for static, SET and RigL at 95% and 99% of all actor "
        "parameters: which the Pareto study uses (run with --setups A C)",
        pareto.distribution_check_rows(),
        list(range(3)),
    ),
    "pareto": (
        "sparse actors against small dense ones of the same int8 bytes (run with --setups A C)",
        pareto.study_rows(),
        list(range(5)),
    ),
}


#: Seeds of ``--rows`` without a named study.
ROW_SEEDS = list(range(5))


def study_budget(seeds: Sequence[int]) -> Dict[str, Any]:
    """The study's budget: the paper's (:data:`~rllib_experiments.studies.common.budgets.PAPER`)
    on these seeds."""
    return dict(PAPER, seeds=list(seeds))


def paper_seed_table() -> tuple:
    """(rows, seeds, command) of the report's section on the paper's statistic: the
    ``paper_seeds`` study (:func:`rllib_experiments.studies.pruning.report.build_report`)."""
    _, rows, seeds = STUDIES["paper_seeds"]
    return rows, seeds, "python -m rllib_experiments pruning_study --study paper_seeds"


def study_progress(output: Path, setups: Sequence[str]) -> str:
    """The named studies with how many of their trials ``output`` holds, per setup, and the
    trial-hours left at the median recorded trial time (``wall_s`` of its finished trials:
    of whatever machine and concurrency ran them)."""
    from rllib_experiments.studies.common.trials import trial_id  # imports torch: not on import

    trials = Path(output) / "trials"
    walls = []
    for path in sorted(trials.glob("*.json")) if trials.is_dir() else []:
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if rec.get("kind") == "learning" and rec.get("wall_s"):
            walls.append(float(rec["wall_s"]))
    median = statistics.median(walls) if walls else None
    lines = []
    for name, (question, rows, seeds) in STUDIES.items():
        lines += [
            f"{name}: {question}",
            f"    rows {' '.join(rows)}",
            f"    seeds {seeds[0]}-{seeds[-1]}",
        ]
        done = {
            setup: sum(
                (trials / f"{trial_id(setup, row, seed)}.json").is_file()
                for row in rows
                for seed in seeds
            )
            for setup in setups
        }
        total = len(rows) * len(seeds)
        left = total * len(setups) - sum(done.values())
        state = ", ".join(f"{setup} {done[setup]}/{total}" for setup in setups)
        cost = (
            f"; {left} left, about {left * median / 3600:.1f} trial-hours at the median "
            f"finished trial's {median:.0f} s"
            if left and median
            else f"; {left} left"
        )
        lines.append(f"    done {state}{cost}")
    return "\n".join(lines)
