"""Reproduce Table I and Figures 1-2 of the paper: every row, both setups, through Ray Tune.

Usage::

    python -m rllib_experiments reproduce --budget quick --setups A B
    python -m rllib_experiments reproduce --budget smoke --output runs/smoke --rows aloha dense
    python -m rllib_experiments reproduce --report-only            # table + figures from raw CSVs
    python -m rllib_experiments reproduce --report-only --allow-mixed-commits  # pool mixed code

Each (row, setup, seed) is one Tune trial (1 CPU; non-learning rows have one
trial per setup: they are evaluated on the fixed evaluation episodes and have no
training seed). A finished trial writes ``OUTPUT/trials/<setup>__<row>__s<seed>.json``;
a rerun of the same command skips every trial whose file exists with the same
budget, so an interrupted run resumes where it stopped (trials that were running
start again; :mod:`rllib_experiments.studies.common.runner`). After the trials,
``OUTPUT/trials.csv`` / ``curves.csv`` are rebuilt and
:mod:`rllib_experiments.studies.table1.report` writes the table (``docs/results/table1.md``)
and the Fig. 2 curves (``docs/figures/training_curves_<setup>.png``); for any other
``--output`` (the reruns in ``docs/results/raw/table1`` among them),
:mod:`rllib_experiments.studies.table1.one_table` writes ``OUTPUT/table1.md`` (every row, all
its seeds, rows without records "not yet run"), ``table1.csv`` and the figures beside them; the
folders are relative to the current directory (:mod:`rllib_experiments.studies.table1.outputs`).

Budgets (``--iterations`` / ``--seeds`` override them): :mod:`rllib_experiments.studies.table1.budgets`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from dsa_pettingzoo.config import SETUPS
from rllib_experiments.cli.args import (
    add_allow_mixed_flag,
    add_trial_flags,
    int_at_least,
    trial_options,
)
from rllib_experiments.cli.args import output_errors
from rllib_experiments.methods import GROUPS, expand_rows
from rllib_experiments.run import outputs as out
from rllib_experiments.studies.common.budgets import with_overrides
from rllib_experiments.studies.common.found_rows import DISPLAY_NAMES, FOUND_ROWS, ROW_GROUPS
from rllib_experiments.studies.common.runner import (
    Layout,
    check_rows,
    plan,
    plan_trials,
    run_trials,
)
from rllib_experiments.studies.table1.budgets import BUDGETS
from rllib_experiments.studies.table1.outputs import DEFAULT_OUTPUT, report_paths, write_report


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments reproduce",
        description="Run every row of the paper's Table I (plus extra rows) through Ray Tune, "
        "resumably, and write docs/results/table1.md and the Fig. 2 curves "
        "(folders under the current directory).",
    )
    p.add_argument(
        "--budget",
        choices=sorted(BUDGETS),
        default="quick",
        help="smoke (CI, minutes), quick (1000 episodes, seeds 0 1: a few hours on 2 cores), paper (1000 episodes, "
        "10 seeds, a cluster). Default quick.",
    )
    p.add_argument(
        "--setups",
        nargs="+",
        default=["A", "B"],
        choices=list(SETUPS),
        help="paper setups to run (A: no PUs, B: PUs with pi_k = 0.2). Default A B.",
    )
    p.add_argument(
        "--rows",
        nargs="+",
        default=None,
        metavar="ROW",
        help="rows to run, by key or group (default: the group 'table'). "
        f"table = {' '.join(GROUPS['table'])}; found (the pruning study's "
        f"findings) = {' '.join(DISPLAY_NAMES.get(k, k) for k in FOUND_ROWS)} (each short "
        "name is accepted too); "
        f"ablation (ours with one change taken back) = {' '.join(GROUPS['ablation'])}",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=int_at_least(0),
        default=None,
        metavar="SEED",
        help="training seeds of the learning rows (default: the budget's)",
    )
    p.add_argument(
        "--iterations",
        type=int_at_least(1),
        default=None,
        help="override the budget's training iterations per trial",
    )
    p.add_argument(
        "--output",
        default=str(DEFAULT_OUTPUT),
        help=f"folder of the raw per-trial results (default {DEFAULT_OUTPUT} under the "
        "current directory)",
    )
    p.add_argument(
        "--table",
        default=None,
        help="Markdown table to write (default docs/results/table1.md when --output is "
        "the default, else OUTPUT/table1.md)",
    )
    p.add_argument(
        "--figures",
        default=None,
        help="folder of the Fig. 2 PNGs (default docs/figures when --output is the "
        "default, else OUTPUT)",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rebuild the table and figures from OUTPUT's raw results (a file "
        "of OUTPUT/trials/ that is not a record stops it, exit 2, naming the file)",
    )
    add_allow_mixed_flag(p)
    add_trial_flags(
        p,
        runs_dir="runs/reproduce",
        runs_help="folder of every learning trial's training run (progress.csv and the "
        "final checkpoint, e.g. to export its actors)",
    )
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    output = Path(args.output)
    table, figures = report_paths(output, args.table, args.figures)
    if args.report_only:
        if not output.is_dir():
            parser.error(f"argument --output: {str(output)!r} holds no raw results to report")
        with output_errors(parser):
            write_report(output, table, figures, args.allow_mixed_commits)
        print(f"wrote {table} and the figures in {figures}")
        return 0

    try:
        out.check_owner(output, "reproduce")
    except out.OutputExistsError as err:
        parser.error(f"argument --output: {err}")
    try:
        rows = expand_rows(args.rows or ["table"], ROW_GROUPS)
    except ValueError as e:
        parser.error(f"argument --rows: {e}")
    try:
        budget = with_overrides(BUDGETS[args.budget], args.iterations, args.seeds)
    except ValueError as err:
        parser.error(f"argument --seeds: {err}")
    seeds = budget["seeds"]

    try:
        check_rows(budget, args.setups, rows, seeds[0] if seeds else 0)
    except ValueError as e:
        parser.error(f"argument --rows: {e}")
    trials = plan_trials(budget, args.setups, rows, seeds)
    mixed = args.allow_mixed_commits
    with output_errors(parser):  # records made otherwise: refused before Ray starts
        plan(Layout(output, budget), trials, supersede=args.supersede, allow_mixed_commits=mixed)
    with output_errors(parser):
        todo, unfinished, errors, wall = run_trials(
            "reproduce",
            Layout(output, budget),
            trials,
            trial_options(args),
            scope=f"setups {list(args.setups)}, {len(rows)} rows",
            log_file=out.REPRODUCE_LOG,
            command="python -m rllib_experiments reproduce",
            argv=argv,
            supersede=args.supersede,
            allow_mixed_commits=mixed,
            setups=list(args.setups),
            rows=list(rows),
        )
        write_report(output, table, figures, args.allow_mixed_commits)
    return finish(
        "reproduce",
        todo,
        unfinished,
        errors,
        f"{wall / 60:.1f} min; wrote {table} and {figures}/training_curves_*.png",
    )


def finish(prog: str, todo, unfinished, errors, wrote: str) -> int:
    """Say how the run ended (failures on standard error); the exit status: 1 unless all finished."""
    print(
        f"{prog}: {len(todo) - len(unfinished)} of {len(todo)} trials finished "
        f"({len(errors)} failed, {len(unfinished)} unfinished: rerun the same command to resume), "
        f"{wrote}",
        flush=True,
    )
    for e in errors:
        print("FAILED:", e, file=sys.stderr)
    return 1 if (errors or unfinished) else 0
