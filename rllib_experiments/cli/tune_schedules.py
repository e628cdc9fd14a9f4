"""Ray Tune grids and searches over pruning schedules (and any other setting).

Without ``--search-space`` it runs a grid over schedules x seeds (optionally x final
sparsity x critic mode), given by flags. With ``--search-space FILE`` it runs a search
over that file's space, ``--search grid`` or ``--search optuna`` (``--num-samples``
points), optionally under ``--scheduler asha``: see :mod:`rllib_experiments.cli.tune_search`
and :mod:`rllib_experiments.studies.common.search_space`.

Example (setup A, the paper's budget, three seeds)::

    python -m rllib_experiments tune_schedules --setup A --schedules harmonic linear polynomial \\
        --seeds 0 1 2 --output runs/tune_A
    # on a Ray cluster (docs/training.md):
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m rllib_experiments tune_schedules --setup A --seeds 0 1 2 --output /shared/tune_A

Every trial is :func:`rllib_experiments.studies.common.trials.tune_trainable`, the training loop of
``python -m rllib_experiments train`` (one code path), writing a full run folder
(progress.csv, TensorBoard, checkpoints, result.json) under ``OUTPUT/trials/``.
Trials ask for 1 CPU (+1 per env runner); Tune runs as many at once as the cluster's
CPUs allow. At the end a summary (mean +- std over seeds and the best seed, per
schedule / sparsity / critic) is printed and saved as OUTPUT/summary.csv and
OUTPUT/summary.md; per-trial finals (and the Ray node id of each trial) go to OUTPUT/trials.csv.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from dsa_pettingzoo.config import SETUPS
from rllib_experiments.cli.args import deprecated_alias, int_at_least, key_value, validated_settings
from pruning_callbacks.schedules import SCHEDULES
from rllib_experiments.settings import CRITIC_MODES, load_preset, preset_names
from rllib_experiments.cli.tune_search import add_search_flags, resolve_search, uses_search
from rllib_experiments.studies.common.trials import GRID_AXES
from rllib_experiments.studies.common.formatting import number_text
from rllib_experiments.studies.common.statistics import mean_std

#: Settings field -> the flag of this command that sets it (a grid flag: a list of values,
#: one trial each; ``train``'s flag of the same field takes one value, or one per user).
FLAG_OF = {"setup": "--setup", "schedule": "--schedules", "seed": "--seeds",
           "final_sparsity": "--final-sparsity-grid", "critic_mode": "--critic",
           "iterations": "--iterations", "episodes_per_iteration": "--episodes-per-iteration",
           "eval_interval": "--eval-every", "eval_episodes": "--eval-episodes",
           "num_env_runners": "--num-env-runners", "env": "--env"}

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
TRIALS_CSV = "trials.csv"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments tune_schedules",
        description="Ray Tune grid of IAGC-PPO runs over pruning schedules x seeds (and optionally "
        "final sparsities and critic modes); prints and saves a summary table. Each trial is the "
        "training loop of rllib_experiments.train.",
    )
    p.add_argument("--setup", choices=list(SETUPS), default=None,
                   help="paper system setup (default: the preset's; A for paper_A)")
    p.add_argument("--preset", default=None,
                   help=f"settings preset ({preset_names()} or a JSON file); default paper_<setup>")
    p.add_argument("--schedules", nargs="+", choices=sorted(SCHEDULES), default=None,
                   help="sparsity schedules to compare (default: harmonic linear polynomial; add none "
                        "for dense); a grid axis, not with --search-space")
    p.add_argument("--seeds", nargs="+", type=int_at_least(0), default=None,
                   help="training seeds, one trial per schedule and seed (default: 0 1 2); a grid "
                        "axis, not with --search-space (give seed there)")
    p.add_argument("--final-sparsity-grid", nargs="+", type=float, default=None, metavar="P",
                   help="final sparsities p_final in [0, 1) to grid over, one trial each (default: "
                   "the preset's, 0.95 for paper_*); a grid axis, not with --search-space")
    p.add_argument("--final-sparsities", dest="final_sparsity_grid", nargs="+", type=float,
                   action=deprecated_alias("--final-sparsity-grid"), help=argparse.SUPPRESS)
    p.add_argument("--critic", nargs="+", choices=list(CRITIC_MODES), default=None,
                   help="critic mode(s) to grid over (default: the preset's)")
    p.add_argument("--iterations", type=int_at_least(1), default=None,
                   help="training iterations per trial (default: the preset's; paper 1000)")
    p.add_argument("--episodes-per-iteration", type=int_at_least(1), default=None,
                   help="episodes sampled per iteration (default: the preset's)")
    p.add_argument("--eval-every", type=int_at_least(1), default=None, help="evaluate every N iterations (default: the preset's, 10)")
    p.add_argument("--eval-episodes", type=int_at_least(1), default=None, help="episodes per evaluation (default: the preset's, 100)")
    p.add_argument("--num-env-runners", type=int_at_least(0), default=None,
                   help="env runner processes per trial; each trial then takes 1 + this many CPUs (default: the preset's, 0)")
    p.add_argument("--env", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="environment keyword argument, repeatable (e.g. --env num_users=3)")
    p.add_argument("--set", type=key_value, action="append", default=[], metavar="FIELD=VALUE",
                   help="any other Settings field, repeatable")
    p.add_argument("--output", default=None,
                   help="output folder, absolute on a shared file system for multi-node clusters "
                   "(default runs/tune_<setup>)")
    p.add_argument("--resume", action="store_true",
                   help="re-run the grid in an existing --output: finished trials are only "
                   "re-evaluated, interrupted ones continue from their last checkpoint")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (default: RAY_ADDRESS, as set by `ray job submit`, "
                   "else a local Ray instance)")
    p.add_argument("--num-cpus", type=int_at_least(1), default=None,
                   help="logical CPUs of a new local Ray instance (default: the machine's); "
                   "ignored on a cluster")
    p.add_argument("--max-concurrent", type=int_at_least(1), default=None,
                   help="at most this many trials at once (default: as many as the CPUs allow)")
    add_search_flags(p)
    return p


def resolve(argv: Optional[List[str]] = None):
    """Parse and validate every flag before Ray starts; returns (args, base settings, grid)."""
    from rllib_experiments.run import outputs as out

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        base = load_preset(args.preset or f"paper_{args.setup or 'A'}")
    except ValueError as err:
        parser.error(f"argument --preset: {err}")
    d = base.to_dict()
    if args.setup is not None:
        d["setup"] = args.setup
    for field, value in (("iterations", args.iterations),
                         ("episodes_per_iteration", args.episodes_per_iteration),
                         ("eval_interval", args.eval_every), ("eval_episodes", args.eval_episodes),
                         ("num_env_runners", args.num_env_runners)):
        if value is not None:
            d[field] = value
    names = set(d)
    for key, value in args.set:
        if key not in names:
            parser.error(f"argument --set {key}: unknown setting; allowed: {sorted(names)}")
        if key in GRID_AXES:
            parser.error(f"argument --set {key}: this is a grid axis, use its own flag")
        d[key] = value
    d["env"] = {**d.get("env", {}), **dict(args.env)}
    output = Path(args.output or f"runs/tune_{d['setup']}").resolve()
    if uses_search(args):
        given = [flag for flag, v in (("--schedules", args.schedules), ("--seeds", args.seeds),
                                      ("--final-sparsity-grid", args.final_sparsity_grid),
                                      ("--critic", args.critic)) if v is not None]
        if given:
            parser.error(f"argument {given[0]}: a grid axis; with --search-space give it in the "
                         "search space file")
        validated_settings(d, parser, FLAG_OF)
        try:
            out.check_owner(output, "tune_schedules")
        except out.OutputExistsError as err:
            parser.error(f"argument --output: {err}")
        return args, d, resolve_search(args, parser, d, output), output
    if args.num_samples is not None:
        parser.error("argument --num-samples: only with --search optuna --search-space FILE")
    grid = {
        "schedule": list(dict.fromkeys(args.schedules or ["harmonic", "linear", "polynomial"])),
        "seed": list(dict.fromkeys(args.seeds if args.seeds is not None else [0, 1, 2])),
        "final_sparsity": list(dict.fromkeys(args.final_sparsity_grid or [d["final_sparsity"]])),
        "critic_mode": list(dict.fromkeys(args.critic or [d["critic_mode"]])),
    }
    # Validate every grid point now (bad values name their flag before Ray starts).
    for schedule in grid["schedule"]:
        for p in grid["final_sparsity"]:
            for critic in grid["critic_mode"]:
                point = {**d, "schedule": schedule, "final_sparsity": p, "critic_mode": critic,
                         "seed": grid["seed"][0]}
                validated_settings(point, parser, FLAG_OF)
    try:
        out.check_owner(output, "tune_schedules")
    except out.OutputExistsError as err:
        parser.error(f"argument --output: {err}")
    if not args.resume and output.is_dir() and any(
            (output / n).exists() for n in (out.GRID_FILE, SUMMARY_CSV, "trials", "tune")):
        parser.error(f"argument --output: {str(output)!r} already holds a Tune grid; pass --resume to "
                     "continue it or choose another --output")
    if args.resume and (output / out.GRID_FILE).is_file():
        saved = json.loads((output / out.GRID_FILE).read_text())
        if saved["settings"] != d or saved["grid"] != grid:
            parser.error("argument --resume: the flags differ from the grid saved in "
                         f"{output / out.GRID_FILE}; give the same flags to resume it")
    return args, d, grid, output


def summarize(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Per (schedule, final sparsity, critic): mean +- std over seeds and the best seed."""
    groups: Dict[tuple, List[Dict]] = {}
    for r in rows:
        groups.setdefault((r["schedule"], r["final_sparsity"], r["critic_mode"]), []).append(r)
    table = []
    for (schedule, p, critic), rs in groups.items():
        ok = [r for r in rs if r.get("status") == "ok"]
        entry = {"schedule": schedule, "final_sparsity": p, "critic_mode": critic,
                 "seeds": len(ok), "without_result": len(rs) - len(ok)}
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
    lines = [f"### {title}", "",
             "| schedule | p_final | critic | seeds | stochastic mean ± std | greedy mean ± std "
             "| best seed (stochastic) | final sparsity | ALOHA | ratio to ALOHA |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for e in table:
        e = dict(e, final_sparsity="dense" if e["schedule"] == "none" else e["final_sparsity"])
        if e["seeds"] == 0:
            lines.append(f"| {e['schedule']} | {e['final_sparsity']} | {e['critic_mode']} | 0 "
                         f"({e['without_result']} without result) | | | | | | |")
            continue
        failed = f" ({e['without_result']} without result)" if e["without_result"] else ""
        lines.append(
            f"| {e['schedule']} | {e['final_sparsity']} | {e['critic_mode']} | {e['seeds']}{failed} "
            f"| {e['stochastic_mean']:.1f} ± {number_text(e['stochastic_std'], 1)} "
            f"| {e['greedy_mean']:.1f} ± {number_text(e['greedy_std'], 1)} "
            f"| {e['best_seed']} ({e['best_stochastic']:.1f}) | {e['mean_final_sparsity']:.3f} "
            f"| {e['aloha_mean']:.1f} | {e['ratio_to_aloha']:.3f} |")
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, rows: List[Dict[str, Any]]) -> None:
    """``rows`` under the union of their keys, in order of first appearance."""
    from rllib_experiments.run.outputs import write_csv_atomic

    keys: List[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    write_csv_atomic(path, keys, rows)


def trial_rows(output: Path, base: Dict[str, Any], grid: Dict[str, list]) -> List[Dict[str, Any]]:
    """One row per grid point, read from each trial's result.json (status 'missing' if absent)."""
    from rllib_experiments.settings import Settings
    from rllib_experiments.studies.common.trials import trial_name
    from rllib_experiments.training import achieved_sparsity

    rows = []
    for schedule in grid["schedule"]:
        for p in grid["final_sparsity"]:
            for critic in grid["critic_mode"]:
                for seed in grid["seed"]:
                    s = Settings.from_dict({**base, "schedule": schedule, "final_sparsity": p,
                                            "critic_mode": critic, "seed": seed})
                    folder = output / "trials" / trial_name(s)
                    row = {"schedule": schedule, "final_sparsity": p, "critic_mode": critic,
                           "seed": seed, "folder": str(folder)}
                    result_file = folder / "result.json"
                    if result_file.is_file():
                        r = json.loads(result_file.read_text())
                        row.update(status="ok", mean_reward=r["mean_reward"], std_reward=r["std_reward"],
                                   greedy_mean_reward=r["greedy_mean_reward"],
                                   greedy_std_reward=r["greedy_std_reward"],
                                   aloha_mean_reward=r["aloha_reference"]["mean_reward"],
                                   mean_final_sparsity=achieved_sparsity(r)[1],
                                   wall_time_s=r["wall_time_s"])
                    else:
                        row["status"] = "missing"
                    rows.append(row)
    return rows


def _scheduler(args, base) -> Dict[str, Any]:
    """TuneConfig arguments of ``--scheduler asha`` on a flags grid (the greedy evaluation)."""
    if args.scheduler != "asha":
        return {}
    from ray.tune.schedulers import ASHAScheduler

    return {"metric": "eval_greedy_mean", "mode": "max", "scheduler": ASHAScheduler(
        time_attr="iteration", max_t=int(base["iterations"]), reduction_factor=3,
        grace_period=max(1, int(args.grace_fraction * base["iterations"])))}


def main(argv: Optional[List[str]] = None) -> int:
    args, base, grid, output = resolve(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import logging

    import ray
    from ray import tune

    from rllib_experiments.run import outputs as out
    from rllib_experiments.studies.common.trials import tune_trainable

    output.mkdir(parents=True, exist_ok=True)
    if not uses_search(args):
        out.write_json_atomic(output / out.GRID_FILE, {"settings": base, "grid": grid})
    kwargs = dict(logging_level=logging.WARNING, log_to_driver=False)
    if args.address is None and not os.environ.get("RAY_ADDRESS"):
        # A new local instance. (On a cluster or inside `ray job submit`, the job's runtime
        # environment, e.g. its --working-dir, must not be replaced.)
        # Ray starts workers at niceness 15; trials are the work here, so run them at normal priority.
        kwargs.update(include_dashboard=False, runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}},
                      _system_config={"worker_niceness": 0})
        if args.num_cpus:
            kwargs["num_cpus"] = args.num_cpus
    ray.init(address=args.address, **kwargs)
    runners = int(base.get("num_env_runners", 0))
    bundle = [{"CPU": 1}] + [{"CPU": 1}] * runners
    cpus = int(ray.cluster_resources().get("CPU", 1))
    at_once = max(1, cpus // len(bundle))
    if args.max_concurrent:
        at_once = min(at_once, args.max_concurrent)
    if uses_search(args):
        from rllib_experiments.cli.tune_search import run_search

        space, flags = grid
        print(f"{flags['search']} search over {space.source} ({flags['scheduler']} scheduler), "
              f"{len(bundle)} CPU per trial, up to {at_once} at once on {cpus} CPUs; output {output}",
              flush=True)
        return run_search(args, base, space, flags, output, at_once, bundle)
    n_trials = int(np.prod([len(v) for v in grid.values()]))
    print(f"{n_trials} trials ({' x '.join(f'{len(v)} {k}' for k, v in grid.items())}), "
          f"{len(bundle)} CPU each, up to {at_once} at once on {cpus} CPUs; "
          f"{base['iterations']} iterations of {base['episodes_per_iteration']} episode(s) per trial; "
          f"output {output}", flush=True)
    trainable = tune.with_resources(tune_trainable, tune.PlacementGroupFactory(bundle))
    param_space = {"settings": base, "output_root": str(output / "trials"),
                   **{k: tune.grid_search(v) for k, v in grid.items()}}
    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(max_concurrent_trials=at_once, **_scheduler(args, base)),
        run_config=tune.RunConfig(name="tune", storage_path=str(output), verbose=1,
                                  failure_config=tune.FailureConfig(max_failures=1)),
    )
    results = tuner.fit()
    rows = trial_rows(output, base, grid)
    nodes = {str(r.metrics.get("trial_output")): r.metrics.get("node_id") for r in results if r.metrics}
    for row in rows:
        row["node_id"] = nodes.get(row["folder"])  # the Ray node the trial's final report came from
    table = summarize(rows)
    _write_csv(output / TRIALS_CSV, rows)
    _write_csv(output / SUMMARY_CSV, table)
    title = (f"Setup {base['setup']}, {base['iterations']} iterations x "
             f"{base['episodes_per_iteration']} episode(s), final evaluation over "
             f"{base['eval_episodes']} episodes (reward: episode sum of system throughput)")
    md = to_markdown(table, title)
    (output / SUMMARY_MD).write_text(md)
    print(md)
    missing = [r for r in rows if r["status"] != "ok"]
    if missing:
        print(f"{len(missing)} trial(s) produced no result: " + ", ".join(r["folder"] for r in missing))
        return 1
    return 0
