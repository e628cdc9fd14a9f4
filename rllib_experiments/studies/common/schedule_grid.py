"""A grid of training runs with Ray Tune: the grid half of ``tune_schedules``.

The grid is schedules x seeds x final sparsities x critic modes (:data:`GRID_AXES`), one
trial per point, each :func:`rllib_experiments.studies.common.trials.tune_trainable` (the
training loop of ``train``) writing a full run folder under ``OUTPUT/trials/``. The flags:
:mod:`rllib_experiments.cli.tune_schedules`; the search half:
:mod:`rllib_experiments.studies.common.search`.

Files in OUTPUT: ``grid.json`` (the base settings and the grid: a resumed grid must match
them, :func:`save_grid`), ``tune/`` (Tune's own state), ``trials/`` (one run folder per
trial) and at the end ``trials.csv`` (one row per trial: its point, status, rewards and the
Ray node it ran on), ``summary.csv`` and ``summary.md`` (per schedule / p_final / critic:
mean ± std over seeds and the best seed, :func:`summarize`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from rllib_experiments.run.outputs import (
    GRID_FILE,
    write_json_atomic,
    write_rows_csv_atomic,
    write_text_atomic,
)
from rllib_experiments.settings import Settings
from rllib_experiments.studies.common.formatting import number_text
from rllib_experiments.studies.common.statistics import mean_std
from rllib_experiments.studies.common.trials import trial_name, tune_trainable
from rllib_experiments.training import achieved_sparsity

# Ray is imported where a grid runs: the summary and the flags' checks load without it.

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
TRIALS_CSV = "trials.csv"
#: Tune's own state of a grid, in its OUTPUT.
GRID_TUNE_DIR = "tune"


def save_grid(output: Path, base: Dict[str, Any], grid: Dict[str, list]) -> None:
    """``OUTPUT/grid.json``: the base settings and the grid (a resumed grid must match them)."""
    write_json_atomic(output / GRID_FILE, {"settings": base, "grid": grid})


def start_ray(address: Optional[str] = None, num_cpus: Optional[int] = None) -> None:
    """Join the Ray cluster at ``address`` (or ``RAY_ADDRESS``), else start a local instance
    of ``num_cpus`` logical CPUs (default: the machine's) whose workers run single-threaded."""
    # imports ray: only when called
    import ray

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    kwargs: Dict[str, Any] = dict(logging_level=logging.WARNING, log_to_driver=False)
    if address is None and not os.environ.get("RAY_ADDRESS"):
        # A new local instance. (On a cluster or inside `ray job submit`, the job's runtime
        # environment, e.g. its --working-dir, must not be replaced.)
        # Ray starts workers at niceness 15; trials are the work here, so run them at normal priority.
        kwargs.update(
            include_dashboard=False,
            runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}},
            _system_config={"worker_niceness": 0},
        )
        if num_cpus:
            kwargs["num_cpus"] = num_cpus
    ray.init(address=address, **kwargs)


def trial_resources(
    base: Dict[str, Any], max_concurrent: Optional[int] = None
) -> Tuple[list, int, int]:
    """(the resource bundle of one trial: 1 CPU + 1 per env runner, the cluster's CPUs, the
    trials that run at once: as many as the CPUs allow, at most ``max_concurrent``)."""
    # imports ray: only when called
    import ray

    runners = int(base.get("num_env_runners", 0))
    bundle = [{"CPU": 1}] + [{"CPU": 1}] * runners
    cpus = int(ray.cluster_resources().get("CPU", 1))
    at_once = max(1, cpus // len(bundle))
    if max_concurrent:
        at_once = min(at_once, max_concurrent)
    return bundle, cpus, at_once


def scheduler_config(scheduler: str, grace_fraction: float, base: Dict[str, Any]) -> Dict[str, Any]:
    """TuneConfig arguments of ``scheduler`` on a grid: ASHA on the greedy evaluation, no trial
    stopped before ``grace_fraction`` of the iterations; none for "fifo"."""
    if scheduler != "asha":
        return {}
    # imports ray: only when called
    from ray.tune.schedulers import ASHAScheduler

    return {
        "metric": "eval_greedy_mean",
        "mode": "max",
        "scheduler": ASHAScheduler(
            time_attr="iteration",
            max_t=int(base["iterations"]),
            reduction_factor=3,
            grace_period=max(1, int(grace_fraction * base["iterations"])),
        ),
    }


def run_grid(
    base: Dict[str, Any],
    grid: Dict[str, list],
    output: Path,
    at_once: int,
    bundle,
    *,
    scheduler: str = "fifo",
    grace_fraction: float = 0.2,
) -> Tuple[List[Dict[str, Any]], str]:
    """Run the grid in ``output`` on a started Ray (``at_once`` trials at a time, each on the
    resources ``bundle``); write trials.csv, summary.csv and summary.md; returns (the trial
    rows, the summary Markdown)."""
    # imports ray: only when called
    from ray import tune

    trainable = tune.with_resources(tune_trainable, tune.PlacementGroupFactory(bundle))
    param_space = {
        "settings": base,
        "output_root": str(output / "trials"),
        **{k: tune.grid_search(v) for k, v in grid.items()},
    }
    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            max_concurrent_trials=at_once, **scheduler_config(scheduler, grace_fraction, base)
        ),
        run_config=tune.RunConfig(
            name=GRID_TUNE_DIR,
            storage_path=str(output),
            verbose=1,
            failure_config=tune.FailureConfig(max_failures=1),
        ),
    )
    results = tuner.fit()
    rows = trial_rows(output, base, grid)
    nodes = {
        str(r.metrics.get("trial_output")): r.metrics.get("node_id") for r in results if r.metrics
    }
    for row in rows:
        row["node_id"] = nodes.get(row["folder"])  # the Ray node the trial's final report came from
    return rows, write_summary(output, base, rows)


def write_summary(output: Path, base: Dict[str, Any], rows: List[Dict[str, Any]]) -> str:
    """``trials.csv`` (``rows``), ``summary.csv`` and ``summary.md`` (:func:`summarize`) in
    ``output``; returns the Markdown."""
    table = summarize(rows)
    write_rows_csv_atomic(output / TRIALS_CSV, rows)
    write_rows_csv_atomic(output / SUMMARY_CSV, table)
    title = (
        f"Setup {base['setup']}, {base['iterations']} iterations x "
        f"{base['episodes_per_iteration']} episode(s), final evaluation over "
        f"{base['eval_episodes']} episodes (reward: episode sum of system throughput)"
    )
    md = to_markdown(table, title)
    write_text_atomic(output / SUMMARY_MD, md)
    return md


def summarize(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Per (schedule, final sparsity, critic): mean +- std over seeds and the best seed."""
    groups: Dict[tuple, List[Dict]] = {}
    for r in rows:
        groups.setdefault((r["schedule"], r["final_sparsity"], r["critic_mode"]), []).append(r)
    table = []
    for (schedule, p, critic), rs in groups.items():
        ok = [r for r in rs if r.get("status") == "ok"]
        entry = {
            "schedule": schedule,
            "final_sparsity": p,
            "critic_mode": critic,
            "seeds": len(ok),
            "without_result": len(rs) - len(ok),
        }
        if ok:
            for key, name in (("mean_reward", "stochastic"), ("greedy_mean_reward", "greedy")):
                entry[f"{name}_mean"], entry[f"{name}_std"] = mean_std([r[key] for r in ok])
            best = max(ok, key=lambda r: r["mean_reward"])
            entry["best_seed"] = best["seed"]
            entry["best_stochastic"] = best["mean_reward"]
            entry["mean_final_sparsity"] = float(np.mean([r["mean_final_sparsity"] for r in ok]))
            entry["aloha_mean"] = float(np.mean([r["aloha_mean_reward"] for r in ok]))
            entry["ratio_to_aloha"] = entry["stochastic_mean"] / entry["aloha_mean"]
        table.append(entry)
    return sorted(table, key=lambda e: (e["critic_mode"], str(e["final_sparsity"]), e["schedule"]))


def to_markdown(table: List[Dict[str, Any]], title: str) -> str:
    """The summary table (:func:`summarize`) under the heading ``title``."""
    lines = [
        f"### {title}",
        "",
        "| schedule | p_final | critic | seeds | stochastic mean ± std | greedy mean ± std "
        "| best seed (stochastic) | final sparsity | ALOHA | ratio to ALOHA |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in table:
        e = dict(e, final_sparsity="dense" if e["schedule"] == "none" else e["final_sparsity"])
        if e["seeds"] == 0:
            lines.append(
                f"| {e['schedule']} | {e['final_sparsity']} | {e['critic_mode']} | 0 "
                f"({e['without_result']} without result) | | | | | | |"
            )
            continue
        failed = f" ({e['without_result']} without result)" if e["without_result"] else ""
        lines.append(
            f"| {e['schedule']} | {e['final_sparsity']} | {e['critic_mode']} | {e['seeds']}{failed} "
            f"| {e['stochastic_mean']:.1f} ± {number_text(e['stochastic_std'], 1)} "
            f"| {e['greedy_mean']:.1f} ± {number_text(e['greedy_std'], 1)} "
            f"| {e['best_seed']} ({e['best_stochastic']:.1f}) | {e['mean_final_sparsity']:.3f} "
            f"| {e['aloha_mean']:.1f} | {e['ratio_to_aloha']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def trial_rows(output: Path, base: Dict[str, Any], grid: Dict[str, list]) -> List[Dict[str, Any]]:
    """One row per grid point, read from each trial's result.json (status 'missing' if absent)."""
    rows = []
    for schedule in grid["schedule"]:
        for p in grid["final_sparsity"]:
            for critic in grid["critic_mode"]:
                for seed in grid["seed"]:
                    s = Settings.from_dict(
                        {
                            **base,
                            "schedule": schedule,
                            "final_sparsity": p,
                            "critic_mode": critic,
                            "seed": seed,
                        }
                    )
                    folder = output / "trials" / trial_name(s)
                    row = {
                        "schedule": schedule,
                        "final_sparsity": p,
                        "critic_mode": critic,
                        "seed": seed,
                        "folder": str(folder),
                    }
                    result_file = folder / "result.json"
                    if result_file.is_file():
                        r = json.loads(result_file.read_text())
                        row.update(
                            status="ok",
                            mean_reward=r["mean_reward"],
                            std_reward=r["std_reward"],
                            greedy_mean_reward=r["greedy_mean_reward"],
                            greedy_std_reward=r["greedy_std_reward"],
                            aloha_mean_reward=r["aloha_reference"]["mean_reward"],
                            mean_final_sparsity=achieved_sparsity(r)[1],
                            wall_time_s=r["wall_time_s"],
                        )
                    else:
                        row["status"] = "missing"
                    rows.append(row)
    return rows
