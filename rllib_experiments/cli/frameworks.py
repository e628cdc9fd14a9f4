"""``python -m rllib_experiments frameworks``: the frameworks study, BenchMARL's MAPPO and IPPO
on setup A with Table I's training budget (:mod:`rllib_experiments.studies.frameworks`).

Usage::

    python -m rllib_experiments frameworks                        # every arm, 5 seeds; resumes
    python -m rllib_experiments frameworks --budget smoke --output runs/frameworks_smoke
    python -m rllib_experiments frameworks --arms mappo_gru --seeds 0 1

Each (arm, seed) writes one record into ``--output`` and is not run again when its record is
there; the table of the arms (mean over seeds with the 95 % t-interval) is printed at the end.
Needs the ``[benchmarl]`` extra (docs/frameworks.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rllib_experiments.cli.args import int_at_least
from rllib_experiments.studies.frameworks.plan import ARM_NAMES, BUDGETS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments frameworks",
        description="BenchMARL's MAPPO and IPPO (MLP and GRU actors, one per user) on setup A "
        "with Table I's training budget, evaluated on the standard episodes beside the oracle; "
        "resumable (docs/frameworks.md).",
    )
    p.add_argument(
        "--budget",
        choices=list(BUDGETS),
        default="full",
        help="full: 1000 episodes a trial, 5 seeds; smoke: 3 users, 2 channels, 4 episodes, "
        "1 seed (default full)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=Path("docs/results/raw/frameworks"),
        help="folder of the records (default docs/results/raw/frameworks)",
    )
    p.add_argument("--arms", nargs="+", choices=ARM_NAMES, help="arms to run (default all)")
    p.add_argument("--seeds", nargs="+", type=int_at_least(0), help="seeds (default the budget's)")
    return p


def main(argv=None) -> int:
    """Entry point."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        # BenchMARL, TorchRL and torch: only once the flags are good (the [benchmarl] extra)
        from rllib_experiments.studies.frameworks.study import run_study, table
    except ImportError as err:
        parser.error(
            f"the frameworks study needs the [benchmarl] extra ({err}); docs/frameworks.md"
        )
    try:
        records = run_study(args.output, args.budget, args.arms, args.seeds)
    except ValueError as err:
        parser.error(f"argument --output: {err}")
    print(table(records))
    return 0
