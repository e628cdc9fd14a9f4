"""Env steps per second of the whole training loop: our IAGC configuration vs a naive one.

    python -m rllib_experiments benchmark [--setup A] [--episodes-per-iteration 16]
        [--iterations 3] [--warmup 1] [--num-epochs 4] [--learner-threads 1]
        [--only ours|naive] [--json]
    python -m rllib_experiments benchmark --scale [--sizes 10 20 50 100] [--learners 2]
        [--learner-threads 1] [--env-runners 0] [--bf16] [--iterations 3] [--warmup 1] [--json]

Without ``--scale``: ours vs a naive configuration, both in one process on the same
environment and batch, their timed iterations interleaved
(:mod:`rllib_experiments.studies.benchmarks.loop`). ``--scale``: the `ours` loop at N users,
one process vs the fastest configuration (:mod:`rllib_experiments.studies.benchmarks.scale`).
Set OMP_NUM_THREADS=1 on shared machines.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, Optional, Sequence

from dsa_pettingzoo.config import SETUPS
from rllib_experiments.cli.args import int_at_least, key_value
from rllib_experiments.settings import CRITIC_MODES
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
        help="a Settings field for both configurations (repeatable; e.g. a "
        "CI-sized run: --set hidden_sizes=[16] --set lstm_size=16)",
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
