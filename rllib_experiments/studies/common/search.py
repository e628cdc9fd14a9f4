"""Searches over a search space with Ray Tune: the search half of ``tune_schedules``.

A search samples points of a search-space file (:mod:`rllib_experiments.studies.common.search_space`)
with Ray Tune's ``OptunaSearch`` (TPE, seeded) or runs every combination of its choices (grid);
the ASHA scheduler stops trials early on their evaluation reward (time = iterations). Every
trial is :func:`rllib_experiments.studies.common.trials.tune_trainable`, the training loop of
``train``. The flags: :mod:`rllib_experiments.cli.tune_search`.

Files in OUTPUT: ``search.json`` (the flags, base settings and space: a resumed search must
match them), ``tune/`` (Tune's own state, from which a resumed search continues: the
searcher's history and the scheduler's rungs), ``trials/`` (one run folder per trial,
``<schedule>_p<p>_<critic>_seed<s>_<point hash>``), and at the end ``search_trials.csv`` (one
row per trial: its point, seed, status, rewards, folder relative to OUTPUT), ``best.json`` and ``search.md`` (the best
configurations, each with its seed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from rllib_experiments.methods import get_row
from rllib_experiments.run.outputs import (
    SEARCH_FILE,
    write_json_atomic,
    write_rows_csv_atomic,
    write_text_atomic,
)
from rllib_experiments.settings import Settings
from rllib_experiments.studies.common.formatting import MISSING
from rllib_experiments.studies.common.records import relative_run_folder
from rllib_experiments.studies.common.search_space import (
    settings_for,
    unused_parameters,
    variant_key,
)

TRIALS_CSV = "search_trials.csv"
BEST_JSON = "best.json"
SEARCH_MD = "search.md"
#: Tune's own state of a search, in its OUTPUT.
SEARCH_TUNE_DIR = "tune"


def tune_space(space, search: str) -> Dict[str, Any]:
    # imports ray: only when called
    from ray import tune

    tuned: Dict[str, Any] = dict(space.fixed())
    for name, spec in space.distributions().items():
        ((dist, args),) = spec.items()
        if dist == "choice":
            tuned[name] = tune.grid_search(args) if search == "grid" else tune.choice(args)
        elif dist == "uniform":
            tuned[name] = tune.uniform(*args)
        elif dist == "loguniform":
            tuned[name] = tune.loguniform(*args)
        else:
            tuned[name] = tune.randint(args[0], args[1] + 1)  # high included
    return tuned


def run_search(
    base: Dict[str, Any],
    space,
    flags: Dict[str, Any],
    output: Path,
    at_once: int,
    bundle,
    resume: bool = False,
) -> int:
    """Run (or, with ``resume``, continue) the search in ``output`` (``at_once`` trials at a
    time, each on the resources ``bundle``); write the tables; 0 if every trial ended."""
    from ray import tune  # Ray and torch only when a search runs

    # imports torch: only when called
    from rllib_experiments.studies.common.trials import tune_trainable

    output.mkdir(parents=True, exist_ok=True)
    write_json_atomic(
        output / SEARCH_FILE, {"settings": base, "space": space.to_dict(), "flags": flags}
    )
    trainable = tune.with_resources(tune_trainable, tune.PlacementGroupFactory(bundle))
    tune_dir = output / SEARCH_TUNE_DIR
    if resume and tune.Tuner.can_restore(str(tune_dir)):
        print(f"resuming the search in {tune_dir}", flush=True)
        tuner = tune.Tuner.restore(str(tune_dir), trainable, resume_errored=True)
    else:
        search_alg = None
        if flags["search"] == "optuna":
            # imports optuna, ray: only when called
            import optuna
            from ray.tune.search.optuna import OptunaSearch

            search_alg = OptunaSearch(sampler=optuna.samplers.TPESampler(seed=flags["search_seed"]))
        scheduler = None
        if flags["scheduler"] == "asha":
            # imports ray: only when called
            from ray.tune.schedulers import ASHAScheduler

            scheduler = ASHAScheduler(
                time_attr="iteration",
                max_t=int(base["iterations"]),
                grace_period=max(1, int(flags["grace_fraction"] * base["iterations"])),
                reduction_factor=3,
            )
        tuner = tune.Tuner(
            trainable,
            param_space={
                "settings": base,
                "output_root": str(output / "trials"),
                "point": tune_space(space, flags["search"]),
            },
            tune_config=tune.TuneConfig(
                metric=space.metric_key,
                mode="max",
                search_alg=search_alg,
                scheduler=scheduler,
                num_samples=flags["num_samples"] if flags["search"] == "optuna" else 1,
                max_concurrent_trials=at_once,
            ),
            run_config=tune.RunConfig(
                name=SEARCH_TUNE_DIR,
                storage_path=str(output),
                verbose=1,
                failure_config=tune.FailureConfig(max_failures=1),
            ),
        )
    results = tuner.fit()
    rows = search_rows(results, base, space, output)
    write_tables(output, rows, space, base)
    return 1 if any(r["status"] == "error" for r in rows) else 0


def search_rows(results, base: Dict[str, Any], space, output: Path) -> List[Dict[str, Any]]:
    """One row per trial: its point, the seed, the status, its rewards and ``trial_output``,
    the trial's folder relative to the search's folder ``output``.

    status: "finished" (result.json written), "stopped" (by ASHA: the rewards are its last
    evaluation, ``iterations_done`` says when), "error".
    """
    rows = []
    for r in results:
        point = dict((r.config or {}).get("point", {}))
        if not point:
            continue
        settings = settings_for(base, point)
        row: Dict[str, Any] = {
            **{f"point.{k}": v for k, v in sorted(point.items())},
            "seed": settings.seed,
            "unused": " ".join(unused_parameters(point)),
        }
        metrics = r.metrics or {}
        if r.error is not None:
            row["status"] = "error"
            row["error"] = str(r.error).splitlines()[0][:200]
        elif "final_mean_reward" in metrics:
            row.update(
                status="finished",
                iterations_done=settings.iterations,
                stochastic=metrics["final_mean_reward"],
                greedy=metrics["final_greedy_mean_reward"],
                sparsity=metrics.get("final_mean_sparsity"),
                oracle=metrics.get("oracle_mean_reward"),
            )
        else:
            row.update(
                status="stopped",
                iterations_done=int(metrics.get("iteration", -1)) + 1,
                stochastic=metrics.get("eval_stochastic_mean"),
                greedy=metrics.get("eval_greedy_mean"),
                sparsity=metrics.get("mean_sparsity"),
            )
        folder = metrics.get("trial_output")
        row["trial_output"] = relative_run_folder(folder, output) if folder else ""
        rows.append(row)
    return rows


def study_row(point: Dict[str, Any], base: Dict[str, Any]) -> Optional[str]:
    """The ``pruning_study --rows`` key that trains exactly the point's configuration (its
    Settings equal the search trial's, seed aside), or None when there is none."""
    key = variant_key(point)
    if key is None:
        return None
    try:
        mine = get_row(key).settings(Settings.from_dict(base)).to_dict()
    except (ValueError, TypeError):
        return None
    searched = settings_for(base, point).to_dict()
    for settings in (mine, searched):
        settings.pop("seed", None)
    return key if mine == searched else None


def best_configs(rows: List[Dict[str, Any]], metric: str, k: int = 5) -> List[Dict[str, Any]]:
    """The k finished trials with the highest ``metric`` ("greedy" or "stochastic"), best first."""
    done = [r for r in rows if r["status"] == "finished" and r.get(metric) is not None]
    return sorted(done, key=lambda r: -float(r[metric]))[:k]


def write_tables(output: Path, rows: List[Dict[str, Any]], space, base: Dict[str, Any]) -> None:
    """``search_trials.csv`` (every row), ``best.json`` and ``search.md`` (the best, each with
    the ``pruning_study --rows`` key that retrains it) in ``output``."""
    write_rows_csv_atomic(output / TRIALS_CSV, rows)
    best = best_configs(rows, space.metric)
    for r in best:
        r["study_row"] = study_row({k[6:]: v for k, v in r.items() if k.startswith("point.")}, base)
    write_json_atomic(output / BEST_JSON, {"metric": space.metric, "best": best})
    counts = {s: sum(r["status"] == s for r in rows) for s in ("finished", "stopped", "error")}
    lines = [
        f"### Search over {space.source or 'a search space'}",
        "",
        f"Setup {base['setup']}, {base['iterations']} iterations x {base['episodes_per_iteration']} "
        f"episode(s); {len(rows)} trials: {counts['finished']} finished, {counts['stopped']} "
        f"stopped early, {counts['error']} failed. Best by the final {space.metric} evaluation "
        f"over {base['eval_episodes']} episodes:",
        "",
        "| rank | greedy | stochastic | sparsity | seed | point | row for `pruning_study --rows` |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(best, 1):
        point = ", ".join(
            f"{k[6:]}={v:.4g}" if isinstance(v, float) else f"{k[6:]}={v}"
            for k, v in r.items()
            if k.startswith("point.")
        )
        row = (
            f"`{r['study_row']}`"
            if r.get("study_row")
            else f"{MISSING} (a parameter has no variant modifier)"
        )
        lines.append(
            f"| {i} | {r['greedy']:.1f} | {r['stochastic']:.1f} | "
            f"{(r.get('sparsity') or 0):.3f} | {r['seed']} | {point} | {row} |"
        )
    write_text_atomic(output / SEARCH_MD, "\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
