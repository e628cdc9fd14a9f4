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

The grid runs in :mod:`rllib_experiments.studies.common.schedule_grid`. Every trial is
:func:`rllib_experiments.studies.common.trials.tune_trainable`, the training loop of
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
import math
from pathlib import Path
from typing import List, Optional

from pruning_callbacks.schedules import SCHEDULES
from rllib_experiments.cli.args import (
    add_settings_flags,
    deprecated_alias,
    int_at_least,
    validated_settings,
)
from rllib_experiments.cli.tune_search import (
    add_search_flags,
    resolve_search,
    run_search,
    uses_search,
)
from rllib_experiments.run import outputs as out
from rllib_experiments.settings import CRITIC_MODES, load_preset
from rllib_experiments.studies.common import schedule_grid
from rllib_experiments.studies.common.schedule_grid import GRID_TUNE_DIR, SUMMARY_CSV
from rllib_experiments.studies.common.trials import GRID_AXES

#: Settings field -> the flag of this command that sets it (a grid flag: a list of values,
#: one trial each; ``train``'s flag of the same field takes one value, or one per user).
FLAG_OF = {
    "setup": "--setup",
    "schedule": "--schedules",
    "seed": "--seeds",
    "final_sparsity": "--final-sparsity-grid",
    "critic_mode": "--critic",
    "iterations": "--iterations",
    "episodes_per_iteration": "--episodes-per-iteration",
    "eval_interval": "--eval-every",
    "eval_episodes": "--eval-episodes",
    "num_env_runners": "--num-env-runners",
    "env": "--env",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments tune_schedules",
        description="Ray Tune grid of IAGC-PPO runs over pruning schedules x seeds (and optionally "
        "final sparsities and critic modes); prints and saves a summary table. Each trial is the "
        "training loop of `python -m rllib_experiments train` (rllib_experiments.training).",
    )
    add_settings_flags(p)
    p.add_argument(
        "--schedules",
        nargs="+",
        choices=sorted(SCHEDULES),
        default=None,
        help="sparsity schedules to compare (default: harmonic linear polynomial; add none "
        "for dense); a grid axis, not with --search-space",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=int_at_least(0),
        default=None,
        help="training seeds, one trial per schedule and seed (default: 0 1 2); a grid "
        "axis, not with --search-space (give seed there)",
    )
    p.add_argument(
        "--final-sparsity-grid",
        nargs="+",
        type=float,
        default=None,
        metavar="P",
        help="final sparsities p_final in [0, 1) to grid over, one trial each (default: "
        "the preset's, 0.95 for paper_*); a grid axis, not with --search-space",
    )
    p.add_argument(
        "--final-sparsities",
        dest="final_sparsity_grid",
        nargs="+",
        type=float,
        action=deprecated_alias("--final-sparsity-grid"),
        help=argparse.SUPPRESS,
    )
    p.add_argument(
        "--critic",
        nargs="+",
        choices=list(CRITIC_MODES),
        default=None,
        help="critic mode(s) to grid over (default: the preset's)",
    )
    p.add_argument(
        "--output",
        default=None,
        help="output folder, absolute on a shared file system for multi-node clusters "
        "(default runs/tune_<setup>)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="re-run the grid in an existing --output: finished trials are only "
        "re-evaluated, interrupted ones continue from their last checkpoint",
    )
    p.add_argument(
        "--address",
        default=None,
        help="Ray cluster address (default: RAY_ADDRESS, as set by `ray job submit`, "
        "else a local Ray instance)",
    )
    p.add_argument(
        "--num-cpus",
        type=int_at_least(1),
        default=None,
        help="logical CPUs of a new local Ray instance (default: the machine's); "
        "ignored on a cluster",
    )
    p.add_argument(
        "--max-concurrent",
        type=int_at_least(1),
        default=None,
        help="at most this many trials at once (default: as many as the CPUs allow)",
    )
    add_search_flags(p)
    return p


def resolve(argv: Optional[List[str]] = None):
    """Parse and validate every flag before Ray starts; returns (args, base settings, grid)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        base = load_preset(args.preset or f"paper_{args.setup or 'A'}")
    except ValueError as err:
        parser.error(f"argument --preset: {err}")
    d = base.to_dict()
    if args.setup is not None:
        d["setup"] = args.setup
    for field, value in (
        ("iterations", args.iterations),
        ("episodes_per_iteration", args.episodes_per_iteration),
        ("eval_interval", args.eval_every),
        ("eval_episodes", args.eval_episodes),
        ("num_env_runners", args.num_env_runners),
    ):
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
        given = [
            flag
            for flag, v in (
                ("--schedules", args.schedules),
                ("--seeds", args.seeds),
                ("--final-sparsity-grid", args.final_sparsity_grid),
                ("--critic", args.critic),
            )
            if v is not None
        ]
        if given:
            parser.error(
                f"argument {given[0]}: a grid axis; with --search-space give it in the "
                "search space file"
            )
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
                point = {
                    **d,
                    "schedule": schedule,
                    "final_sparsity": p,
                    "critic_mode": critic,
                    "seed": grid["seed"][0],
                }
                validated_settings(point, parser, FLAG_OF)
    try:
        out.check_owner(output, "tune_schedules")
    except out.OutputExistsError as err:
        parser.error(f"argument --output: {err}")
    if (
        not args.resume
        and output.is_dir()
        and any(
            (output / n).exists() for n in (out.GRID_FILE, SUMMARY_CSV, "trials", GRID_TUNE_DIR)
        )
    ):
        parser.error(
            f"argument --output: {str(output)!r} already holds a Tune grid; pass --resume to "
            "continue it or choose another --output"
        )
    if args.resume and (output / out.GRID_FILE).is_file():
        saved = json.loads((output / out.GRID_FILE).read_text())
        if saved["settings"] != d or saved["grid"] != grid:
            parser.error(
                "argument --resume: the flags differ from the grid saved in "
                f"{output / out.GRID_FILE}; give the same flags to resume it"
            )
    return args, d, grid, output


def main(argv: Optional[List[str]] = None) -> int:
    args, base, grid, output = resolve(argv)
    output.mkdir(parents=True, exist_ok=True)
    if not uses_search(args):
        schedule_grid.save_grid(output, base, grid)
    schedule_grid.start_ray(args.address, args.num_cpus)
    bundle, cpus, at_once = schedule_grid.trial_resources(base, args.max_concurrent)
    if uses_search(args):
        space, flags = grid
        print(
            f"{flags['search']} search over {space.source} ({flags['scheduler']} scheduler), "
            f"{len(bundle)} CPU per trial, up to {at_once} at once on {cpus} CPUs; output {output}",
            flush=True,
        )
        return run_search(args, base, space, flags, output, at_once, bundle)
    n_trials = math.prod(len(v) for v in grid.values())
    print(
        f"{n_trials} trials ({' x '.join(f'{len(v)} {k}' for k, v in grid.items())}), "
        f"{len(bundle)} CPU each, up to {at_once} at once on {cpus} CPUs; "
        f"{base['iterations']} iterations of {base['episodes_per_iteration']} episode(s) per trial; "
        f"output {output}",
        flush=True,
    )
    rows, md = schedule_grid.run_grid(
        base,
        grid,
        output,
        at_once,
        bundle,
        scheduler=args.scheduler,
        grace_fraction=args.grace_fraction,
    )
    print(md)
    missing = [r for r in rows if r["status"] != "ok"]
    if missing:
        print(
            f"{len(missing)} trial(s) produced no result: "
            + ", ".join(r["folder"] for r in missing)
        )
        return 1
    return 0
