"""Figure 1 of the paper: the three sparsity schedules for I_T = 1000 and p_final = 0.95.

    python -m pruning_callbacks.plot_schedules [--out docs/figures/sparsity_schedules.png]

Linear and cubic polynomial (eqs. 10-11) and harmonic annealing (eqs. 12-14, A = 0.1,
P = 200), all with i_start = 0 and i_P = I_T, p0 = 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from pruning_callbacks.schedules import make_schedule

DEFAULT_OUT = os.path.join("docs", "figures", "sparsity_schedules.png")

FIG1 = ("linear", "polynomial", "harmonic")
"""The paper's schedules, in Fig. 1's order (other registered schedules are not plotted)."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Write the figure; ``--help`` lists the flags."""
    p = argparse.ArgumentParser(prog="python -m pruning_callbacks.plot_schedules", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output PNG path (default {DEFAULT_OUT})")
    p.add_argument("--iterations", type=int, default=1000, help="I_T, also used as i_P (default 1000)")
    p.add_argument("--final-sparsity", type=float, default=0.95, help="p_final (default 0.95)")
    args = p.parse_args(argv)
    if args.iterations <= 1:
        p.error(f"--iterations must be > 1, got {args.iterations}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"linear": "linear (eq. 11)", "polynomial": "cubic polynomial (eq. 11)",
              "harmonic": "harmonic annealing (eqs. 12-14)"}
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    its = list(range(args.iterations))
    for name in FIG1:
        try:
            sched = make_schedule(name, final_sparsity=args.final_sparsity, end=args.iterations)
        except ValueError as e:
            p.error(str(e))
        ax.plot(its, sched.values(args.iterations), label=labels[name], lw=1.6)
    ax.axhline(args.final_sparsity, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("training iteration i")
    ax.set_ylabel("sparsity $p_i$")
    ax.set_title(f"Sparsity schedules, $I_T$={args.iterations}, $p_{{final}}$={args.final_sparsity}")
    ax.set_xlim(0, args.iterations)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=120)
    plt.close(fig)  # callers in one process (reproduce, tests) must not accumulate figures
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
