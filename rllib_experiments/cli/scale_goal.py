"""``python -m rllib_experiments scale_goal``: where the scale study's goal stands, every study
folder side by side (:mod:`rllib_experiments.studies.scale.goal`), written to
``docs/results/scale_goal.md`` (under the current directory). Reads records only: no Ray, no torch, seconds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from rllib_experiments.cli.args import add_allow_mixed_flag
from rllib_experiments.cli.args import output_errors
from rllib_experiments.run.outputs import write_text_atomic
from rllib_experiments.studies.common.folders import FIGURES, RAW, RESULTS
from rllib_experiments.studies.common.pooling import ALLOW_FLAG, MixedCodeError
from rllib_experiments.studies.scale.goal import (
    NoRecordsError,
    folder_cells,
    folder_curves,
    folder_labels,
    markdown,
    plot_curves,
)
from rllib_experiments.studies.scale.outputs import report_paths, study_folders
from rllib_experiments.studies.scale.stats import load_records

DEFAULT_MD = RESULTS / "scale_goal.md"
DEFAULT_FIGURE = FIGURES / "scale_goal_curves.png"
COMMAND = "python -m rllib_experiments scale_goal"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=COMMAND,
        description="One table of the scale study's goal (ours >= 0.95 of the oracle over >= 5 "
        "seeds, above every baseline) across study folders: per (setup, N) the row "
        "that decides it, then every folder's rows of ours with how they were trained "
        "(precision, iterations, reward). Numbers are each folder's own report's.",
    )
    p.add_argument(
        "folders",
        nargs="*",
        type=Path,
        metavar="FOLDER",
        help=f"study folders (default: every folder of {RAW} under the current "
        "directory with scale records but the cost probe's)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_MD,
        help=f"the markdown file to write (default {DEFAULT_MD} under the current directory). "
        "A file of a FOLDER's N<N>/trials/ that is not a record stops the command (exit 2, "
        "naming the file)",
    )
    p.add_argument(
        "--figure",
        type=Path,
        default=DEFAULT_FIGURE,
        help="the training-curves figure the markdown embeds (default "
        f"{DEFAULT_FIGURE} under the current directory)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing: exit 1 if OUTPUT differs from what the records give "
        "(a stale report), 0 if it is up to date (the figure is not compared)",
    )
    add_allow_mixed_flag(p)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    folders = args.folders or study_folders()
    if not folders:
        parser.error(
            f"argument FOLDER: none given, and no study folder with scale records in {RAW}"
        )
    for f in folders:
        if not f.is_dir():
            parser.error(f"argument FOLDER: {f} is not a folder")
    with output_errors(parser, "FOLDER"):  # a file that is not a record: named, exit 2
        records = {f: load_records(f) for f in folders}
    cells = []
    for f in folders:
        try:
            cells += folder_cells(f, records[f], args.allow_mixed_commits)
        except NoRecordsError as err:
            parser.error(f"argument FOLDER: {err}")
        except MixedCodeError as err:
            parser.error(f"argument {ALLOW_FLAG} not given: {err}")
    reports = {}
    for f in folders:
        md = report_paths(f)[0]
        reports[f] = md if md.is_file() else None
    command = (
        COMMAND
        + ("" if not args.folders else " " + " ".join(str(f) for f in args.folders))
        + (f" {ALLOW_FLAG}" if args.allow_mixed_commits else "")
    )
    curves = {f: folder_curves(records[f]) for f in folders}
    has_curves = any(curves.values())
    text = markdown(
        cells, folders, reports, args.output, command, figure=args.figure if has_curves else None
    )
    if args.check:
        current = args.output.read_text() if args.output.is_file() else None
        if current != text:
            print(f"{args.output} is stale: rerun `{command}`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    with output_errors(parser):  # a read-only folder: named, exit 2
        args.output.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.output, text)
    with output_errors(parser, "--figure"):
        drawn = (
            plot_curves(curves, folder_labels(cells, folders), args.figure) if has_curves else None
        )
    print(
        f"wrote {args.output} ({len(cells)} rows of ours from {len(folders)} folders)"
        + (f" and {drawn}" if drawn else "")
    )
    return 0
