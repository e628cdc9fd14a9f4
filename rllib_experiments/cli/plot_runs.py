"""Plot evaluation curves of training runs: ``python -m rllib_experiments plot_runs GRID_OR_RUNS... --out F.png``.

Each argument is a run folder (with progress.csv and result.json) or a tune_schedules grid
folder (its ``trials/*`` are used). Runs are grouped by schedule (and p_final); the plot
shows the mean over the group's seeds of the stochastic and greedy evaluation rewards
(paper's unit) against the iteration, a band of +- one standard deviation over seeds, the
mean actor sparsity (actual, after each iteration, and the target p_i), and slotted ALOHA on the same evaluation episodes.
The figure: :mod:`rllib_experiments.studies.common.run_curves`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rllib_experiments.studies.common.run_curves import find_runs, plot


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments plot_runs", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("paths", nargs="+", help="run folders or tune_schedules grid folders")
    p.add_argument("--out", required=True, help="output image (PNG)")
    p.add_argument("--title", default="", help="plot title")
    args = p.parse_args(argv)
    try:
        runs = find_runs(args.paths)
    except ValueError as err:  # a path that holds no run: named, exit status 2
        p.error(f"argument paths: {err}")
    plot(runs, Path(args.out), args.title)
    print(f"wrote {args.out}")
    return 0
