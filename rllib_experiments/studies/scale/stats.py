"""The scale study's statistics: the raw records, the CSV rows, the goal per cell, the cost.

Records are read from ``OUTPUT/N<N>/trials/*.json`` (:mod:`rllib_experiments.studies.scale.trials`).
One CSV row per (setup, N, method), columns :data:`CSV_COLUMNS`:

* ours: ``mean`` and ``std`` of the seeds' final rewards (greedy evaluation;
  :func:`~rllib_experiments.studies.common.statistics.mean_std`: the sample std over training
  seeds, ddof 1, empty with one seed), ``trial_cpu_s`` the mean CPU time of one training run;
* a baseline: one evaluation; ``std`` is over the evaluation episodes (ddof 1), ``seeds``
  is empty (no training seed), ``trial_cpu_s`` the evaluation's CPU time;
* ``oracle_mean`` the oracle on the same episodes, ``ratio_to_oracle`` = mean / oracle_mean.

A missing value is None in the rows (an empty cell in the CSV).

A record without ``cpu_s`` (written before the trial process added it) counts its
``wall_s`` instead; the md says how many did.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from rllib_experiments.run.outputs import SCALE_LOG, write_csv_atomic
from rllib_experiments.studies.common import records as common_records
from rllib_experiments.studies.common.goal import GOAL_RATIO, GOAL_SEEDS
from rllib_experiments.studies.common.statistics import mean_std, paired_difference

CSV_COLUMNS = (
    "setup",
    "num_users",
    "num_channels",
    "method",
    "seeds",
    "mean",
    "std",
    "oracle_mean",
    "ratio_to_oracle",
    "episodes_trained",
    "trial_cpu_s",
)

OURS = "ours"
#: Ours trained in setup A and evaluated, unchanged, in B or C (the same N, seed and budget):
#: a record per (setup, N, seed) whose ``episodes_trained`` and ``cpu_s`` are the A run's.
TRANSFER = "ours_from_A"
#: The rows that have training seeds and a goal.
LEARNED = (OURS, TRANSFER)
ORACLE = "oracle"
LABELS = {
    OURS: "ours (IAGC-PPO 95 %)",
    TRANSFER: "ours trained in A (95 %)",
    "aloha": "slotted ALOHA",
    "oca": "OCA",
    "musical_chairs": "musical chairs",
    "musical_chairs_rss": "musical chairs (RSS)",
    "mctopm": "MCTopM",
    "randtopm": "RandTopM",
    "game_of_thrones": "Game of Thrones",
    "oracle": "oracle",
}
METHODS = list(LABELS)


def load_records(output: Path) -> List[Dict[str, Any]]:
    """Every record under ``output/N*/trials/``, with ``num_users`` and ``cpu_s`` filled in."""
    records = []
    for rec in common_records.load_records(sorted(Path(output).glob("N*/trials/*.json"))):
        rec.setdefault("num_users", int(rec["env_kwargs"]["num_users"]))
        rec["cpu_from_wall"] = "cpu_s" not in rec
        rec.setdefault("cpu_s", rec.get("wall_s", 0.0))
        records.append(rec)
    return records


def read_log(folder: Path) -> List[Dict[str, Any]]:
    """The run log of a study folder (one JSON line per invocation), [] without one."""
    log = Path(folder) / SCALE_LOG
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _method_order(method: str) -> int:
    return METHODS.index(method) if method in METHODS else len(METHODS)


def table_rows(records: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The CSV rows (module doc), sorted by setup, N and method; extra keys ``rewards`` and
    ``seed_list`` (the training seeds of ``rewards``, in order)."""
    cells: Dict[tuple, List[Dict]] = {}
    for r in records:
        cells.setdefault((r["setup"], r["num_users"], r["row"]), []).append(r)
    oracle = {(s, n): recs[0]["final_reward"] for (s, n, m), recs in cells.items() if m == ORACLE}
    rows = []
    for (setup, n, method), recs in sorted(
        cells.items(), key=lambda kv: (kv[0][0], kv[0][1], _method_order(kv[0][2]))
    ):
        recs = sorted(recs, key=lambda r: r["seed"])
        rewards = [float(r["final_reward"]) for r in recs]
        learning = recs[0].get("kind") != "baseline"
        mean, std = mean_std(rewards)
        if not learning:  # one evaluation: the std over its episodes
            std = float(recs[0]["final_reward_std"])
        ref = oracle.get((setup, n))
        refs = [r["oracle_reference"] for r in recs if "oracle_reference" in r]
        if ref is None and learning and refs:  # the oracle of the same episodes, from TrainingRun
            ref = float(np.mean(refs))
        rows.append(
            dict(
                setup=setup,
                num_users=n,
                num_channels=int(recs[0]["env_kwargs"]["num_channels"]),
                method=method,
                seeds=len(recs) if learning else None,
                mean=mean,
                std=std,
                oracle_mean=None if ref is None else float(ref),
                ratio_to_oracle=None if ref is None else mean / float(ref),
                episodes_trained=int(np.mean([r["episodes_trained"] for r in recs])),
                trial_cpu_s=float(np.mean([r["cpu_s"] for r in recs])),
                rewards=rewards,
                seed_list=[int(r["seed"]) for r in recs],
            )
        )
    return rows


def goal_cells(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Per (setup, N) and row of ours (:data:`LEARNED`): is the goal met, and by how much it
    falls short where not. The baselines are every other row but the oracle."""
    cells = []
    for ours in (r for r in rows if r["method"] in LEARNED):
        same = [
            r for r in rows if r["setup"] == ours["setup"] and r["num_users"] == ours["num_users"]
        ]
        others = [r for r in same if r["method"] not in (*LEARNED, ORACLE)]
        best = max(others, key=lambda r: r["mean"]) if others else None
        oracle = ours["oracle_mean"]
        cell = dict(
            method=ours["method"],
            setup=ours["setup"],
            num_users=ours["num_users"],
            num_channels=ours["num_channels"],
            seeds=ours["seeds"],
            ratio=ours["ratio_to_oracle"],
            best=best,
            seed_ratios=[x / oracle for x in ours["rewards"]] if oracle else [],
            seed_list=list(ours["seed_list"]),
        )
        cell["ratio_met"] = cell["ratio"] is not None and cell["ratio"] >= GOAL_RATIO
        cell["beats_baselines"] = best is None or ours["mean"] > best["mean"]
        cell["short_ratio"] = (
            0.0 if cell["ratio_met"] or oracle is None else GOAL_RATIO - cell["ratio"]
        )
        cell["short_reward"] = (
            0.0 if cell["ratio_met"] or oracle is None else GOAL_RATIO * oracle - ours["mean"]
        )
        cell["margin"] = ours["mean"] - best["mean"] if best else None
        cell["met"] = cell["ratio_met"] and cell["beats_baselines"] and ours["seeds"] >= GOAL_SEEDS
        cells.append(cell)
    return cells


def _budget_label(rec: Dict[str, Any]) -> str:
    return f"{rec.get('budget')}, {rec.get('iterations')} it."


def paired_with(
    records: List[Dict[str, Any]], reference: List[Dict[str, Any]]
) -> List[Dict[str, Any]]:
    """Ours here against ours in another folder's records (another budget: bf16, longer
    training), per (setup, N), on the seeds both have: the mean ratios to the oracle of these
    episodes, the mean of the per-seed reward differences (here - there) with its t-interval
    (:func:`~rllib_experiments.studies.common.statistics.paired_difference`), and the mean
    CPU s per run of each."""

    def ours(recs):
        return {(r["setup"], r["num_users"], r["seed"]): r for r in recs if r["row"] == OURS}

    here, there = ours(records), ours(reference)
    oracle = {
        (r["setup"], r["num_users"]): float(r["final_reward"])
        for r in list(reference) + list(records)
        if r["row"] == ORACLE
    }
    out = []
    for setup, n in sorted({k[:2] for k in here}):
        seeds = sorted(k[2] for k in here if k[:2] == (setup, n) and k in there)
        if not seeds or (setup, n) not in oracle:
            continue
        a = [float(here[(setup, n, s)]["final_reward"]) for s in seeds]
        b = [float(there[(setup, n, s)]["final_reward"]) for s in seeds]
        d = paired_difference(a, b)
        out.append(
            dict(
                setup=setup,
                num_users=n,
                seeds=seeds,
                ratio=float(np.mean(a)) / oracle[(setup, n)],
                ratio_reference=float(np.mean(b)) / oracle[(setup, n)],
                diff=d["mean"],
                ci=d["ci"],
                cpu=float(np.mean([here[(setup, n, s)]["cpu_s"] for s in seeds])),
                cpu_reference=float(np.mean([there[(setup, n, s)]["cpu_s"] for s in seeds])),
                budget=_budget_label(here[(setup, n, seeds[0])]),
                budget_reference=_budget_label(there[(setup, n, seeds[0])]),
            )
        )
    return out


def write_csv(rows: List[Dict[str, Any]], path: Path) -> Path:
    """The CSV rows (floats to 6 significant digits), written atomically."""
    write_csv_atomic(
        path,
        CSV_COLUMNS,
        [{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
        lineterminator="\n",
    )
    return path


# ---------------------------------------------------------------------- cost estimate
def cost_estimate(
    probe: List[Dict[str, Any]], sizes, setups: int, seeds: int, iterations: int
) -> Optional[Dict[str, Any]]:
    """CPU cost of a study from a probe's records: per method, CPU s linear in N (least
    squares over the probe's sizes; through the origin with one size), ours scaled by
    ``iterations`` / the probe's iterations (its evaluations scale alike at the same
    evaluation interval). None without a probe of ours."""
    ours = [r for r in probe if r["row"] == OURS]
    if not ours:
        return None

    def fit(recs):
        n = np.array([r["num_users"] for r in recs], float)
        c = np.array([r["cpu_s"] for r in recs], float)
        if len(set(n)) < 2:
            return lambda x: float(np.mean(c / n)) * x
        slope, icept = np.polyfit(n, c, 1)
        return lambda x: max(0.0, float(slope * x + icept))

    scale = iterations / float(np.mean([r["iterations"] for r in ours]))
    per_run = {n: fit(ours)(n) * scale for n in sizes}
    base = (
        sum(
            fit([r for r in probe if r["row"] == m])(n)
            for m in {r["row"] for r in probe}
            if m != OURS
            for n in sizes
        )
        * setups
    )
    total = sum(per_run.values()) * setups * seeds + base
    return dict(
        per_run=per_run,
        baselines=base,
        total=total,
        scale=scale,
        probe_sizes=sorted({r["num_users"] for r in ours}),
        probe_iterations=int(ours[0]["iterations"]),
        probe_episodes=int(ours[0]["episodes_trained"]) // max(1, int(ours[0]["iterations"])),
        probe_eval_interval=ours[0].get("settings", {}).get("eval_interval"),
        probe_setups=sorted({r["setup"] for r in ours}),
        probe_seeds=sorted({r["seed"] for r in ours}),
    )
