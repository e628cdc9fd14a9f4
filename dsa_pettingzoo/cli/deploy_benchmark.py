"""Benchmark exported actors: file size, resident memory and step time at several sparsities.

    python -m dsa_pettingzoo deploy-benchmark                  # paper's actor, 0 / 50 / 95 %
    python -m dsa_pettingzoo deploy-benchmark --sparsities 0.95 0.98 --json
    python -m dsa_pettingzoo deploy-benchmark --actors actors/  # real exported actors

What is measured: :mod:`dsa_pettingzoo.deploy.actor_speed`. The best (minimum) time over the
repeats is printed; the medians are in ``--json``. ``--no-native`` skips the compiled C kernel.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..deploy.actor_speed import (
    available_modes,
    exported_rows,
    format_kernels,
    format_rows,
    kernel_crossover,
    numpy_modes,
    random_rows,
)
from ..deploy.native import build_command
from ..deploy.system import actor_files
from .arg_types import int_at_least


def main(argv=None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(
        prog="python -m dsa_pettingzoo deploy-benchmark", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--sparsities",
        type=float,
        nargs="+",
        default=[0.0, 0.5, 0.95],
        help="sparsities of the random paper-sized actors (default 0 0.5 0.95)",
    )
    p.add_argument(
        "--actors",
        metavar="DIR",
        help="benchmark the exported actors in DIR instead of random ones",
    )
    p.add_argument(
        "--steps", type=int, default=200, help="steps per timing, from a zero state (default 200)"
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=25,
        help="timings per actor and mode; the best is printed (default 25)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        help="B copies of the state advanced per step, as dsa-evaluate runs B episodes "
        "at once (default 1: one device, one slot)",
    )
    p.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of weights and observations"
    )
    p.add_argument(
        "--kernel-sparsities",
        type=float,
        nargs="*",
        default=[0.95, 0.98, 0.99, 0.995],
        help="also time every kernel alone (numpy ELL, CSR reduceat, CSR bincount, "
        "BLAS dense; C CSR and C dense) on the paper's fused LSTM matrix (512 x 256) at "
        "these sparsities (default 0.95 0.98 0.99 0.995; none to skip)",
    )
    p.add_argument(
        "--no-native",
        action="store_true",
        help="skip the compiled C kernel modes (native, native-dense); without a C "
        "compiler they are skipped anyway, with a note",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object {actors: [...], kernels: [...]} instead",
    )
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or args.batch < 1:
        p.error("argument --steps/--repeats/--batch: must be >= 1")
    for flag, values in (
        ("--sparsities", args.sparsities),
        ("--kernel-sparsities", args.kernel_sparsities),
    ):
        for s in values:
            if not 0.0 <= s < 1.0:
                p.error(f"argument {flag}: each must be in [0, 1), got {s}")
    rng = np.random.default_rng(args.seed)
    if args.no_native:
        modes, native_note = numpy_modes(), "native modes skipped (--no-native)"
    else:
        modes, native_note = available_modes()
    show = None if args.json else (lambda row: print(format_rows([row]), flush=True))
    if args.actors:
        try:
            files = actor_files(args.actors)
        except ValueError as err:
            p.error(f"argument --actors: {err}")
        rows = exported_rows(files, args.steps, args.batch, args.repeats, modes, rng, show)
    else:
        rows = random_rows(args.sparsities, args.steps, args.batch, args.repeats, modes, rng, show)
    kernels = kernel_crossover(args.kernel_sparsities, args.repeats, rng, native="native" in modes)
    if args.json:
        print(
            json.dumps(
                {
                    "actors": rows,
                    "kernels": kernels,
                    "native_note": native_note,
                    "native_build": None if native_note else build_command(),
                    "numpy": np.__version__,
                }
            )
        )
    else:
        if kernels:
            print(format_kernels(kernels))
        print(
            f"\n(batch {args.batch} for the actors, 1 for the kernels alone; best of {args.repeats} timings of {args.steps} steps per mode; "
            f"numpy {np.__version__})"
        )
        if native_note:
            print(native_note)
        else:
            print(f"C kernel built with: {build_command()}")
        judged = [r for r in rows if "target_met" in r]
        if judged:
            print(
                f"target at 95% sparsity (a step no slower than the dense numpy policy, with "
                f"sparse memory; batch {args.batch}): "
                + "; ".join(
                    f"{r['actor']}: "
                    + ("MET by " + "/".join(r["target_met_by"]) if r["target_met"] else "NOT MET")
                    for r in judged
                )
            )
    return 0
