"""The search half of ``tune_schedules``: ``--search {grid,optuna}``, ``--scheduler {fifo,asha}``.

A search samples points of a search-space file (:mod:`rllib_experiments.studies.common.search_space`)
with Ray Tune's ``OptunaSearch`` (TPE, seeded by ``--search-seed``) or runs every
combination of its choices (``--search grid``); ``--scheduler asha`` stops trials early
on their evaluation reward (``ASHAScheduler``, time = iterations). Every trial is
:func:`rllib_experiments.studies.common.trials.tune_trainable`, the training loop of ``train``.

Files in OUTPUT: ``search.json`` (the flags, base settings and space: ``--resume`` must
match them), ``tune/`` (Tune's own state, from which ``--resume`` continues the same
search: the searcher's history and the scheduler's rungs), ``trials/`` (one run folder per
trial, ``<schedule>_p<p>_<critic>_seed<s>_<point hash>``), and at the end
``search_trials.csv`` (one row per trial: its point, seed, status, rewards),
``best.json`` and ``search.md`` (the best configurations, each with its seed).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from rllib_experiments.run.outputs import SEARCH_FILE

TRIALS_CSV = "search_trials.csv"
BEST_JSON = "best.json"
SEARCH_MD = "search.md"
TUNE_DIR = "tune"


def add_search_flags(p) -> None:
    from rllib_experiments.cli.args import int_at_least, number_in

    g = p.add_argument_group("searches (see rllib_experiments.studies.common.search_space for the file format)")
    g.add_argument("--search", choices=["grid", "optuna"], default="grid",
                   help="grid: every combination (of the flags, or of the choices in "
                        "--search-space); optuna: --num-samples points drawn by Optuna's TPE "
                        "from --search-space. Default grid.")
    g.add_argument("--search-space", default=None, metavar="FILE",
                   help="JSON or YAML search space (needed by --search optuna), e.g. "
                        "rllib_experiments/search_spaces/pruning.yaml")
    g.add_argument("--num-samples", type=int_at_least(1), default=None,
                   help="points an optuna search trains (default 16); not with --search grid")
    g.add_argument("--scheduler", choices=["fifo", "asha"], default="fifo",
                   help="fifo: every trial runs to the end; asha: ASHA stops the worse trials "
                        "at rungs of the evaluation reward. Default fifo.")
    g.add_argument("--grace-fraction", type=number_in(0.0, 1.0), default=0.2,
                   help="asha: no trial is stopped before this fraction of the iterations "
                        "(default 0.2)")
    g.add_argument("--search-seed", type=int_at_least(0), default=0,
                   help="seed of Optuna's sampler (default 0)")


def uses_search(args) -> bool:
    return args.search != "grid" or args.search_space is not None


def resolve_search(args, parser, base: Dict[str, Any], output: Path):
    """Validate the search flags and the space before Ray starts; returns the SearchSpace."""
    from rllib_experiments.studies.common.search_space import SearchSpaceError, check_space, load_search_space

    if args.search == "optuna" and args.search_space is None:
        parser.error("argument --search: optuna needs --search-space FILE")
    if args.search == "grid" and args.num_samples is not None:
        parser.error("argument --num-samples: only with --search optuna (a grid runs every "
                     "combination; give seeds as a choice in the space)")
    try:
        space = load_search_space(args.search_space)
        if args.search == "grid":
            space.grid_size()
        check_space(space, base)
    except SearchSpaceError as err:
        where = f" {err.parameter}" if err.parameter else ""
        parser.error(f"argument --search-space{where}: {err}")
    flags = {"search": args.search, "num_samples": args.num_samples or 16, "scheduler": args.scheduler,
             "grace_fraction": args.grace_fraction, "search_seed": args.search_seed}
    saved_file = output / SEARCH_FILE
    if not args.resume and output.is_dir() and any(
            (output / n).exists() for n in (SEARCH_FILE, TUNE_DIR, "trials")):
        parser.error(f"argument --output: {str(output)!r} already holds a search; pass --resume to "
                     "continue it or choose another --output")
    if args.resume and saved_file.is_file():
        saved = json.loads(saved_file.read_text())
        if saved != {"settings": base, "space": space.to_dict(), "flags": flags}:
            parser.error(f"argument --resume: the flags or the search space differ from the search "
                         f"saved in {saved_file}; give the same ones to continue it")
    return space, flags


def _tune_space(space, search: str) -> Dict[str, Any]:
    from ray import tune

    out: Dict[str, Any] = dict(space.fixed())
    for name, spec in space.distributions().items():
        (dist, args), = spec.items()
        if dist == "choice":
            out[name] = tune.grid_search(args) if search == "grid" else tune.choice(args)
        elif dist == "uniform":
            out[name] = tune.uniform(*args)
        elif dist == "loguniform":
            out[name] = tune.loguniform(*args)
        else:
            out[name] = tune.randint(args[0], args[1] + 1)  # high included
    return out


def run_search(args, base: Dict[str, Any], space, flags: Dict[str, Any], output: Path,
               at_once: int, bundle) -> int:
    """Run (or, with --resume, continue) the search; write the tables; 0 if every trial ended."""
    from ray import tune

    from rllib_experiments.run import outputs as out
    from rllib_experiments.studies.common.trials import tune_trainable

    output.mkdir(parents=True, exist_ok=True)
    out.write_json_atomic(output / SEARCH_FILE, {"settings": base, "space": space.to_dict(),
                                                 "flags": flags})
    trainable = tune.with_resources(tune_trainable, tune.PlacementGroupFactory(bundle))
    tune_dir = output / TUNE_DIR
    if args.resume and tune.Tuner.can_restore(str(tune_dir)):
        print(f"resuming the search in {tune_dir}", flush=True)
        tuner = tune.Tuner.restore(str(tune_dir), trainable, resume_errored=True)
    else:
        search_alg = None
        if flags["search"] == "optuna":
            import optuna
            from ray.tune.search.optuna import OptunaSearch

            search_alg = OptunaSearch(sampler=optuna.samplers.TPESampler(seed=flags["search_seed"]))
        scheduler = None
        if flags["scheduler"] == "asha":
            from ray.tune.schedulers import ASHAScheduler

            scheduler = ASHAScheduler(time_attr="iteration", max_t=int(base["iterations"]),
                                      grace_period=max(1, int(flags["grace_fraction"] * base["iterations"])),
                                      reduction_factor=3)
        tuner = tune.Tuner(
            trainable,
            param_space={"settings": base, "output_root": str(output / "trials"),
                         "point": _tune_space(space, flags["search"])},
            tune_config=tune.TuneConfig(
                metric=space.metric_key, mode="max", search_alg=search_alg, scheduler=scheduler,
                num_samples=flags["num_samples"] if flags["search"] == "optuna" else 1,
                max_concurrent_trials=at_once),
            run_config=tune.RunConfig(name=TUNE_DIR, storage_path=str(output), verbose=1,
                                      failure_config=tune.FailureConfig(max_failures=1)),
        )
    results = tuner.fit()
    rows = search_rows(results, base, space)
    write_tables(output, rows, space, base)
    return 1 if any(r["status"] == "error" for r in rows) else 0


def search_rows(results, base: Dict[str, Any], space) -> List[Dict[str, Any]]:
    """One row per trial: its point, the seed, the status and its rewards.

    status: "finished" (result.json written), "stopped" (by ASHA: the rewards are its last
    evaluation, ``iterations_done`` says when), "error".
    """
    from rllib_experiments.studies.common.search_space import settings_for, unused_parameters

    rows = []
    for r in results:
        point = dict((r.config or {}).get("point", {}))
        if not point:
            continue
        settings = settings_for(base, point)
        row: Dict[str, Any] = {**{f"point.{k}": v for k, v in sorted(point.items())},
                               "seed": settings.seed, "unused": " ".join(unused_parameters(point))}
        metrics = r.metrics or {}
        if r.error is not None:
            row["status"] = "error"
            row["error"] = str(r.error).splitlines()[0][:200]
        elif "final_mean_reward" in metrics:
            row.update(status="finished", iterations_done=settings.iterations,
                       stochastic=metrics["final_mean_reward"], greedy=metrics["final_greedy_mean_reward"],
                       sparsity=metrics.get("final_mean_sparsity"),
                       oracle=metrics.get("oracle_mean_reward"))
        else:
            row.update(status="stopped", iterations_done=int(metrics.get("iteration", -1)) + 1,
                       stochastic=metrics.get("eval_stochastic_mean"), greedy=metrics.get("eval_greedy_mean"),
                       sparsity=metrics.get("mean_sparsity"))
        row["trial_output"] = metrics.get("trial_output", "")
        rows.append(row)
    return rows


def study_row(point: Dict[str, Any], base: Dict[str, Any]) -> Optional[str]:
    """The ``pruning_study --rows`` key that trains exactly the point's configuration (its
    Settings equal the search trial's, seed aside), or None when there is none."""
    from rllib_experiments.methods import get_row
    from rllib_experiments.studies.common.search_space import settings_for, variant_key
    from rllib_experiments.settings import Settings

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
    from rllib_experiments.run.outputs import write_json_atomic

    keys: List[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    tmp = output / f".{TRIALS_CSV}.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, output / TRIALS_CSV)
    best = best_configs(rows, space.metric)
    for r in best:
        r["study_row"] = study_row({k[6:]: v for k, v in r.items() if k.startswith("point.")}, base)
    write_json_atomic(output / BEST_JSON, {"metric": space.metric, "best": best})
    counts = {s: sum(r["status"] == s for r in rows) for s in ("finished", "stopped", "error")}
    lines = [f"### Search over {space.source or 'a search space'}", "",
             f"Setup {base['setup']}, {base['iterations']} iterations x {base['episodes_per_iteration']} "
             f"episode(s); {len(rows)} trials: {counts['finished']} finished, {counts['stopped']} "
             f"stopped early, {counts['error']} failed. Best by the final {space.metric} evaluation "
             f"over {base['eval_episodes']} episodes:", "",
             "| rank | greedy | stochastic | sparsity | seed | point | row for `pruning_study --rows` |",
             "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(best, 1):
        point = ", ".join(f"{k[6:]}={v:.4g}" if isinstance(v, float) else f"{k[6:]}={v}"
                          for k, v in r.items() if k.startswith("point."))
        row = f"`{r['study_row']}`" if r.get("study_row") else "— (a parameter has no variant modifier)"
        lines.append(f"| {i} | {r['greedy']:.1f} | {r['stochastic']:.1f} | "
                     f"{(r.get('sparsity') or 0):.3f} | {r['seed']} | {point} | {row} |")
    (output / SEARCH_MD).write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
