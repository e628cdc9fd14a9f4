"""Env steps per second of the whole training loop: our IAGC configuration vs a naive one.

    python -m rllib_experiments benchmark [--setup A] [--episodes-per-iteration 16]
        [--iterations 3] [--warmup 1] [--num-epochs 4] [--learner-threads 1]
        [--only ours|naive] [--json]
    python -m rllib_experiments benchmark --scale [--sizes 10 20 50 100] [--learners 2]
        [--learner-threads 1] [--env-runners 0] [--bf16] [--iterations 3] [--warmup 1] [--json]
    python -m rllib_experiments benchmark --time-to-target [--row ours] [--setup A]
        [--num-users N] [--seeds 0 1 2 3 4] [--goal 0.95] [--eval-every 5] [--stop]
        [--patience 1] [--device cpu|cuda] [--set FIELD=VALUE] [--output DIR] [--json]
    python -m rllib_experiments benchmark --profile [--row ours] [--setup A] [--num-users N]
        [--iterations 3] [--warmup 1] [--set FIELD=VALUE] [--json]

Without ``--scale``: ours vs a naive configuration, both in one process on the same
environment and batch, their timed iterations interleaved
(:mod:`rllib_experiments.studies.benchmarks.loop`). ``--scale``: the `ours` loop at N users,
one process vs the fastest configuration (:mod:`rllib_experiments.studies.benchmarks.scale`).
``--time-to-target``: wall seconds and env steps until the greedy actors first reach
``--goal`` x the oracle, per seed and as a median
(:mod:`rllib_experiments.studies.benchmarks.time_to_target`). ``--profile``: one iteration's
time by part (sampling, learner, the rest), an evaluation's, and the arithmetic roof
(:mod:`rllib_experiments.studies.benchmarks.profile`).
Set OMP_NUM_THREADS=1 on shared machines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from dsa_pettingzoo.config import SETUPS
from rllib_experiments.cli.args import (
    check_device_here,
    int_at_least,
    key_value,
    number_in,
    set_overrides,
)
from rllib_experiments.methods import get_row
from rllib_experiments.settings import CRITIC_MODES, LEARNER_DEVICES, SettingsError
from rllib_experiments.studies.benchmarks import profile as prof
from rllib_experiments.studies.benchmarks import time_to_target as ttt
from rllib_experiments.studies.benchmarks.loop import run_loop
from rllib_experiments.studies.benchmarks.scale import run_scale


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments benchmark",
        description="Env steps/s of the full RLlib training loop: ours vs a naive configuration "
        "(same environment, same batch), printed side by side with their ratio.",
    )
    p.add_argument(
        "--setup", choices=list(SETUPS), default="A", help="paper system setup (default A)"
    )
    p.add_argument(
        "--episodes-per-iteration",
        type=int_at_least(1),
        default=16,
        help="whole episodes per training iteration, both configurations (default 16)",
    )
    p.add_argument(
        "--iterations", type=int_at_least(1), default=3, help="timed iterations each (default 3)"
    )
    p.add_argument(
        "--warmup", type=int_at_least(0), default=1, help="untimed iterations first (default 1)"
    )
    p.add_argument(
        "--num-epochs",
        type=int_at_least(1),
        default=None,
        help="passes over each batch, both configurations (default: the preset's, 4)",
    )
    p.add_argument(
        "--critic",
        choices=list(CRITIC_MODES),
        default="paper",
        help="our critic mode (default paper)",
    )
    p.add_argument(
        "--learner-threads",
        type=int_at_least(1),
        default=1,
        help="threads of our one learner (learner_threads: the same result, the "
        "modules' forward and backward split over threads): ours in the whole-loop "
        "comparison, the fast configuration with --scale (there it needs --learners "
        "0 or 1); default 1",
    )
    p.add_argument(
        "--only",
        choices=["ours", "naive"],
        default=None,
        help="measure one configuration only (no ratio)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    scale = p.add_argument_group("--scale: the ours loop at N users, single process vs fast")
    scale.add_argument(
        "--scale",
        action="store_true",
        help="measure ours at each --sizes N (K = N/2), one process vs the fast "
        "configuration, interleaved",
    )
    scale.add_argument(
        "--sizes",
        type=int_at_least(2),
        nargs="+",
        default=None,
        metavar="N",
        help="numbers of users (even; default 10 20 50 100)",
    )
    scale.add_argument(
        "--learners",
        type=int_at_least(0),
        default=2,
        help="learners of the fast configuration (default 2: data-parallel)",
    )
    scale.add_argument(
        "--env-runners",
        type=int_at_least(0),
        default=0,
        help="remote env runners of the fast configuration (default 0)",
    )
    scale.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast of the actors' training pass in the fast "
        "configuration (not validated for training quality)",
    )
    scale.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        type=key_value,
        metavar="FIELD=VALUE",
        help="a Settings field for both configurations, or with --time-to-target for the "
        "row's (repeatable; e.g. a CI-sized run: --set hidden_sizes=[16] --set lstm_size=16)",
    )
    t = p.add_argument_group(
        "--time-to-target: seconds until the greedy actors reach a fraction of the oracle"
    )
    t.add_argument(
        "--profile",
        action="store_true",
        help="time --iterations iterations of --row (after --warmup) split into sampling, "
        "learner and the rest, one evaluation, and the iteration's FLOPs against this "
        "machine's measured matrix-product rate (the arithmetic roof)",
    )
    t.add_argument(
        "--time-to-target",
        action="store_true",
        help="train --row from scratch for each of --seeds, evaluating every --eval-every "
        "iterations in a background process, and print the wall seconds and env steps until "
        "the greedy evaluation first reaches --goal x the oracle (at any sparsity, and with "
        "the actors at their final sparsity), per seed and as a median",
    )
    t.add_argument(
        "--row",
        default="ours",
        help="the Table I row to train, or a variant BASE+MOD... (default ours)",
    )
    t.add_argument(
        "--preset",
        default=None,
        help="the preset the row's settings start from (default paper_<setup>; tiny: a "
        "CI-sized environment and networks)",
    )
    t.add_argument(
        "--num-users",
        type=int_at_least(2),
        default=None,
        metavar="N",
        help="N users and K = N/2 channels (even; default the setup's 10 users, 5 channels)",
    )
    t.add_argument(
        "--seeds",
        type=int_at_least(0),
        nargs="+",
        default=[0, 1, 2, 3, 4],
        help="training seeds, one run each (default 0 1 2 3 4)",
    )
    t.add_argument(
        "--goal",
        type=number_in(0.01, 2.0),
        default=0.95,
        help="fraction of the oracle's greedy reward that counts as reached (default 0.95)",
    )
    t.add_argument(
        "--eval-every",
        type=int_at_least(1),
        default=5,
        help="iterations between evaluations (default 5; the row's own interval is not used)",
    )
    t.add_argument(
        "--stop",
        nargs="?",
        const="final_sparsity",
        default=None,
        choices=list(ttt.GOAL_KINDS),
        help="end each run once the goal is met (at --patience evaluations in a row) instead "
        "of training every iteration of the row: final_sparsity (the default with no value) "
        "with the actors at their final sparsity, any_sparsity at the first such point",
    )
    t.add_argument(
        "--patience",
        type=int_at_least(1),
        default=1,
        help="with --stop: evaluations in a row that must meet the goal (default 1)",
    )
    t.add_argument(
        "--device",
        choices=list(LEARNER_DEVICES),
        default="cpu",
        help="where the learner trains: cpu, or cuda (one GPU, Settings.learner_device; "
        "sampling and evaluation stay on the CPU); default cpu",
    )
    t.add_argument(
        "--output",
        default=None,
        help="keep each seed's run in OUTPUT/seed<S> (default: a temporary folder, removed)",
    )
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.sizes is not None and any(n % 2 for n in args.sizes):
        parser.error(f"--sizes: every N must be even (K = N/2 channels), got {args.sizes}")
    if args.scale and args.learner_threads > 1 and args.learners > 1:
        parser.error(
            f"--learner-threads {args.learner_threads} needs one learner: give "
            f"--learners 0 or 1, got --learners {args.learners}"
        )
    modes = [
        f
        for f, on in (
            ("--scale", args.scale),
            ("--time-to-target", args.time_to_target),
            ("--profile", args.profile),
        )
        if on
    ]
    if len(modes) > 1:
        parser.error(f"argument {modes[1]}: not allowed with {modes[0]}")
    if args.time_to_target or args.profile:
        return _row_benchmark(parser, args)
    if args.scale:
        return _scale(args)
    out = run_loop(
        setup=args.setup,
        episodes_per_iteration=args.episodes_per_iteration,
        iterations=args.iterations,
        warmup=args.warmup,
        num_epochs=args.num_epochs,
        critic_mode=args.critic,
        learner_threads=args.learner_threads,
        only=args.only,
        log=_progress,
    )
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"setup {args.setup}, {out['env_steps_per_iteration']} env steps per iteration, "
            f"{out['num_epochs']} epochs, {args.iterations} timed iterations "
            f"(after {args.warmup} warm-up), torch threads {out['torch_threads']}, "
            f"learner threads {out['learner_threads']}"
        )
        for name in ("ours", "naive"):
            if name in out:
                r = out[name]
                print(
                    f"{name:>6}: {r['env_steps_per_s']:8.1f} env steps/s wall, "
                    f"{r['env_steps_per_cpu_s']:8.1f} per CPU second "
                    f"({r['env_steps']} env steps in {r['wall_s']:.1f} s wall, "
                    f"{r['cpu_s']:.1f} s CPU)"
                )
        if "ratio" in out:
            print(
                f" ratio: {out['ratio']:.1f}x wall, {out['ratio_cpu']:.1f}x CPU time "
                "(target >= 10x)"
            )
    return 0


def _progress(line: str) -> None:
    """A benchmark's progress, on standard error (standard output holds the result)."""
    print(line, file=sys.stderr, flush=True)


def print_scale(out: Dict[str, Any]) -> None:
    """The rows of ``benchmark --scale``, one line per N."""
    print(
        f"ours at N users (K = N/2), setup {out['setup']}: single process vs {out['fast']}, "
        f"{out['iterations']} interleaved iterations each"
    )
    for r in out["scale"]:
        print(
            f"  N={r['num_users']:4d}: {r['agent_steps_per_s']:9.0f} agent-steps/s "
            f"(single {r['agent_steps_per_s_single']:9.0f}), ratio {r['ratio']:.2f}, "
            f"peak {r['peak_rss_mb']:.0f} MB"
        )


def _scale(args) -> int:
    out = run_scale(
        args.sizes,
        setup=args.setup,
        iterations=args.iterations,
        warmup=args.warmup,
        learners=args.learners,
        learner_threads=args.learner_threads,
        env_runners=args.env_runners,
        bf16=args.bf16,
        overrides=dict(args.overrides),
        log=_progress,
    )
    if args.json:
        print(json.dumps({"scale": out["scale"]}))
    else:
        print_scale(out)
    return 0


def _row_benchmark(parser, args) -> int:
    """--time-to-target and --profile: the row's settings from the flags, then the measure."""
    if args.num_users is not None and args.num_users % 2:
        parser.error(f"argument --num-users: must be even (K = N/2 channels), got {args.num_users}")
    try:
        row = get_row(args.row)
    except ValueError as err:
        parser.error(f"argument --row: {err}")
    if row.kind != "learning":
        parser.error(f"argument --row: row {args.row!r} does not train (a baseline)")
    overrides = set_overrides(
        args.overrides, parser, {"seed": "--seeds", "learner_device": "--device"}
    )
    overrides["eval_interval"] = args.eval_every
    overrides["learner_device"] = args.device
    check_device_here(parser, "--device", args.device)
    try:
        settings = ttt.benchmark_settings(
            args.row, args.setup, args.num_users, overrides, preset=args.preset
        )
    except SettingsError as err:
        flag = "--eval-every" if err.field == "eval_interval" else f"--set {err.field}"
        parser.error(f"argument {flag}: {err}")
    except ValueError as err:  # the preset's name, or a row that cannot apply to it
        parser.error(f"argument {'--preset' if 'preset' in str(err) else '--row'}: {err}")
    if args.output is not None:
        taken = [s for s in args.seeds if (Path(args.output) / f"seed{s}").exists()]
        if taken:
            parser.error(
                f"argument --output: {args.output!r} already holds seed{taken[0]}; every run "
                "starts from scratch: choose a new or empty folder"
            )
    if args.profile:
        out = prof.profile_iterations(
            settings, args.row, iterations=args.iterations, warmup=args.warmup, log=_progress
        )
        print(json.dumps(out) if args.json else prof.report(out))
        return 0
    out = ttt.run_time_to_target(
        settings,
        args.row,
        args.seeds,
        ratio=args.goal,
        stop=args.stop,
        patience=args.patience,
        output=args.output,
        log=_progress,
    )
    print(json.dumps(out) if args.json else ttt.report(out))
    return 0
