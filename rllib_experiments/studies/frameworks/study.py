"""The frameworks study, resumable: one JSON record per (arm, seed), and a table of the arms.

>>> from rllib_experiments.studies.frameworks.study import run_study, table
>>> records = run_study("docs/results/raw/frameworks", "full")   # 4 arms x 5 seeds
>>> print(table(records))

A trial whose record exists in ``output`` is not run again, so the same call resumes the study.
IAGC-PPO's side of the comparison is Table I's records (``python -m rllib_experiments
reproduce``: the same episodes, evaluation and environment), not trained here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from rllib_experiments.run.outputs import write_json_atomic
from rllib_experiments.studies.common.formatting import ci_text, number_text
from rllib_experiments.studies.common.statistics import mean_std_ci
from rllib_experiments.studies.frameworks.benchmarl_arms import ARMS, BUDGETS, run_trial


def record_path(output, arm: str, seed: int) -> Path:
    return Path(output) / f"{arm}-seed{seed}.json"


def run_study(
    output,
    budget: str = "full",
    arms: Optional[Sequence[str]] = None,
    seeds: Optional[Sequence[int]] = None,
) -> List[Dict[str, Any]]:
    """Run every unfinished (arm, seed) of ``budget`` into ``output``; all records, in order."""
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; allowed: {', '.join(BUDGETS)}")
    plan = BUDGETS[budget]
    arms = list(ARMS) if arms is None else list(arms)
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; allowed: {', '.join(ARMS)}")
    seeds = plan["seeds"] if seeds is None else list(seeds)
    Path(output).mkdir(parents=True, exist_ok=True)
    records = []
    for arm in arms:
        for seed in seeds:
            path = record_path(output, arm, seed)
            if path.is_file():
                record = json.loads(path.read_text())
                if record["budget"] != plan["name"]:
                    raise ValueError(
                        f"{path} holds a record of budget {record['budget']!r}, not "
                        f"{plan['name']!r}: give another output folder"
                    )
            else:
                record = run_trial(arm, seed, plan)
                write_json_atomic(path, record)  # a crash never leaves half a record
            records.append(record)
    return records


def _mean_ci(values: List[float], digits: int) -> str:
    stats = mean_std_ci(values)
    return f"{number_text(stats['mean'], digits)} {ci_text(stats['ci'], digits)}"


def table(records: List[Dict[str, Any]]) -> str:
    """A markdown table, one row per arm: seeds, the mean over seeds with its 95 % t-interval
    (:mod:`rllib_experiments.studies.common.statistics`) of the evaluation reward, of its
    ratio to the oracle, and of the training wall time."""
    lines = [
        "| arm | seeds | reward, mean [95 % t-interval] | reward / oracle | training wall time (s) |",
        "|---|---|---|---|---|",
    ]
    for arm in dict.fromkeys(r["arm"] for r in records):
        rows = [r for r in records if r["arm"] == arm]
        lines.append(
            f"| {arm} | {len(rows)} | {_mean_ci([r['mean_reward'] for r in rows], 1)} | "
            f"{_mean_ci([r['oracle_ratio'] for r in rows], 3)} | "
            f"{_mean_ci([r['train_wall_s'] for r in rows], 0)} |"
        )
    return "\n".join(lines)
