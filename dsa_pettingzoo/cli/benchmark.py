"""Throughput of the ParallelEnv versus BatchedDSA, in agent-steps per second; and their scale.

    python -m dsa_pettingzoo benchmark            # every setup (A, B, C), B=1024, N=10, K=5
    python -m dsa_pettingzoo benchmark --json     # one JSON object
    python -m dsa_pettingzoo benchmark --scale    # N in 10..10000, K = N/2: RSS and s/step
    python -m dsa_pettingzoo benchmark --scale --sizes 10,20,50,100 --setup C   # the scale presets

Both simulators play whole episodes (resets included; seeded once, later resets continue the
episodes' generators, as in training) with uniformly random actions drawn before the clock
starts (the ParallelEnv gets ready-made action dicts), so only the environments are timed.
One agent-step = one user's action resolved in one slot. The machine's load matters: run it
alone and look at the ratio.
"""

from __future__ import annotations

import argparse
import json
import math

from ..config import SETUPS
from ..speed import (
    SCALE_SIZES,
    compare_simulators,
    format_comparison,
    format_scale,
    scale_point,
    scale_report,
)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        prog="python -m dsa_pettingzoo benchmark",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--num-envs",
        type=int,
        default=None,
        help="B, episodes stepped together by BatchedDSA (default 1024; 64 with --scale)",
    )
    p.add_argument(
        "--seconds", type=float, default=3.0, help="minimum wall time per measurement (default 3)"
    )
    p.add_argument(
        "--setup",
        default="A",
        type=str.upper,
        choices=list(SETUPS),
        help="--scale: the preset measured at every size (default A)",
    )
    p.add_argument(
        "--setups",
        default=",".join(SETUPS),
        help=f"comma-separated presets (default {','.join(SETUPS)})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument(
        "--scale",
        action="store_true",
        help="instead: peak RSS and seconds per step of a ParallelEnv and of a "
        "BatchedDSA(--num-envs) for N in --sizes and K = N/2, each in a fresh process",
    )
    p.add_argument(
        "--sizes",
        default=",".join(map(str, SCALE_SIZES)),
        help=f"--scale: comma-separated numbers of users (default "
        f"{','.join(map(str, SCALE_SIZES))})",
    )
    p.add_argument(
        "--channels",
        type=int,
        default=None,
        metavar="K",
        help="--scale: the same K for every N (default K = N/2)",
    )
    p.add_argument(
        "--max-gb",
        type=float,
        default=6.0,
        help="--scale: skip points whose estimated memory exceeds this (default 6)",
    )
    p.add_argument("--scale-point", nargs=3, metavar=("KIND", "N", "K"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.num_envs is None:
        args.num_envs = 64 if args.scale else 1024
    if args.num_envs < 1:
        p.error("--num-envs must be >= 1")
    if not 0 < args.seconds < math.inf:  # NaN and inf would time forever
        p.error(f"argument --seconds: must be a finite number > 0, got {args.seconds}")
    if args.scale_point:
        kind, N, K = args.scale_point
        out = scale_point(kind, int(N), int(K), args.num_envs, args.seconds, setup=args.setup)
        print(json.dumps(out))
        return out
    if args.scale:
        try:
            sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
        except ValueError:
            p.error(f"--sizes: comma-separated integers >= 2, got {args.sizes!r}")
        if not sizes or min(sizes) < 2:
            p.error(f"--sizes: comma-separated integers >= 2, got {args.sizes!r}")
        if not 0 <= args.max_gb < math.inf:
            p.error(f"argument --max-gb: must be a finite number >= 0, got {args.max_gb}")
        if args.channels is not None and args.channels < 1:
            p.error(f"--channels must be an integer >= 1, got {args.channels}")
        out = scale_report(
            sizes, args.num_envs, args.seconds, args.max_gb, args.channels, args.setup
        )
        print(json.dumps(out, indent=2) if args.json else format_scale(out["scale"]))
        return out
    setups = [s.strip().upper() for s in args.setups.split(",") if s.strip()]
    for s in setups:
        if s not in SETUPS:
            p.error(f"--setups: unknown preset {s!r}; allowed: {', '.join(SETUPS)}")
    out = compare_simulators(setups, args.num_envs, args.seconds)
    print(json.dumps(out, indent=2) if args.json else format_comparison(out, args.seconds))
    return out
