"""``python -m rllib_experiments pretrained --record RECORD --name NAME``: build a set of learned
actors shipped with the environment (:mod:`dsa_pettingzoo.pretrained`) from a trial record.

Usage (from the repository root)::

    python -m rllib_experiments pretrained \\
        --record docs/results/raw/pretrained/trials/B__ours__s0.json --name ours-B

The record's training run must be on this machine (the study that wrote it keeps it under
``runs/``). Its last checkpoint's actors are exported as int8 files, evaluated with numpy
only on the standard 100 episodes (greedy and sampled, with the oracle) and written with
their manifest to ``dsa_pettingzoo/pretrained/NAME/``
(:mod:`rllib_experiments.studies.pretrained.build`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rllib_experiments.studies.pretrained.build import PretrainedBuildError, build_set


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments pretrained",
        description="Build a set of learned actors shipped with dsa_pettingzoo (int8 files, "
        "their evaluation on the standard 100 episodes, a manifest with the command and "
        "commit that trained them) from a learning record whose run is on this machine.",
    )
    p.add_argument(
        "--record",
        required=True,
        type=Path,
        help="a learning trial record, RESULTS/trials/<setup>__<row>__s<seed>.json",
    )
    p.add_argument("--name", required=True, help="the set's name, e.g. ours-A")
    p.add_argument(
        "--into",
        type=Path,
        default=Path("dsa_pettingzoo/pretrained"),
        help="the folder of the sets (default dsa_pettingzoo/pretrained, from the repository root)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="move an existing set of that name aside to NAME.old-<time> (nothing is deleted)",
    )
    return p


def main(argv=None) -> int:
    """Entry point."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        build_set(args.record, args.name, args.into, overwrite=args.overwrite)
    except PretrainedBuildError as err:
        parser.error(f"argument {err.argument}: {err}")
    return 0
