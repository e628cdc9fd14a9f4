"""The pruning study: variants of the pruning rows, many seeds, the paper's budget.

Usage::

    python -m rllib_experiments pruning_study --list                 # the named studies
    python -m rllib_experiments pruning_study --study rootcause      # run (or resume) one
    python -m rllib_experiments pruning_study --rows harmonic+hold --seeds 0 1 2 --setups A
    python -m rllib_experiments pruning_study --report-only          # rebuild the report
    python -m rllib_experiments pruning_study --report-only --seeds 0 1 2 3 4   # same seeds only
    python -m rllib_experiments pruning_study --report-only --allow-mixed-commits  # pool commits

Every trial is a reproduce trial (:func:`rllib_experiments.studies.common.trials.run_row_trial`: the one
training loop and the one evaluator) of a Table I row or of a variant row
(:mod:`rllib_experiments.methods.variants`), at the paper's budget (1000 one-episode
iterations, evaluation every 10 over 100 episodes) unless ``--iterations`` says otherwise.
Finished trials (``OUTPUT/trials/<setup>__<row>__s<seed>.json``) are never rerun: a rerun of
the same command resumes the study (a trial that was running starts again). Afterwards
:func:`rllib_experiments.studies.pruning.report.build_report` writes docs/results/pruning.md,
docs/results/pruning.csv and the figures docs/figures/pruning_*.png (folders under the current
directory: :mod:`rllib_experiments.studies.pruning.outputs`). The named studies:
:mod:`rllib_experiments.studies.pruning.definitions`.
"""

from __future__ import annotations

import argparse
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
from rllib_experiments.run.checkpoints import actor_states
from rllib_experiments.cli.reproduce import finish
from rllib_experiments.methods import expand_rows
from rllib_experiments.run import outputs as out
from rllib_experiments.studies.common.budgets import with_overrides
from rllib_experiments.studies.common.records import folder_records
from rllib_experiments.studies.common.runner import (
    Layout,
    check_rows,
    plan,
    plan_trials,
    run_trials,
)
from rllib_experiments.studies.pruning import pareto_report
from rllib_experiments.studies.pruning import report as pruning_report
from rllib_experiments.studies.pruning.actor_bytes import backfill_actor_bytes
from rllib_experiments.studies.pruning.definitions import (
    DISPLAY_NAMES,
    ROW_SEEDS,
    STUDIES,
    paper_seed_table,
    study_budget,
    study_progress,
)
from rllib_experiments.studies.pruning.outputs import DEFAULT_OUTPUT, pareto_paths, report_paths


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments pruning_study",
        description="Run the pruning study resumably (reproduce trials of Table I rows and their "
        "variants at the paper's budget) and write docs/results/pruning.md and .csv "
        "(folders under the current directory).",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--study", choices=sorted(STUDIES), help="a named study (see --list)")
    what.add_argument(
        "--rows",
        nargs="+",
        metavar="ROW",
        help="rows or variants BASE+MOD... to run (rllib_experiments.methods.variants)",
    )
    what.add_argument(
        "--list",
        action="store_true",
        help="print the named studies, how many of their trials OUTPUT holds (per "
        "--setups) and the trial-hours left, and exit",
    )
    what.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rebuild the report from OUTPUT's records; with --seeds, instead "
        "write a report of only those seeds' records beside it "
        "(pruning_seeds_0-4.md and .csv for --seeds 0 1 2 3 4, no figures)",
    )
    what.add_argument(
        "--pareto-report",
        action="store_true",
        help="run nothing: write the Pareto report of OUTPUT's records (reward / oracle "
        "against int8 actor bytes per method: a Markdown report, its CSV and a figure per "
        "setup, into docs/results and docs/figures for the Pareto study's folder, else beside "
        "the records; docs/pruning.md)",
    )
    p.add_argument(
        "--setups",
        nargs="+",
        choices=list(SETUPS),
        default=["A", "B"],
        help="setups to run (default A B)",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=int_at_least(0),
        default=None,
        help="training seeds (default: the study's; 0-4 with --rows); with --report-only, the "
        "seeds of that restricted report",
    )
    p.add_argument(
        "--iterations",
        type=int_at_least(1),
        default=None,
        help="training iterations of the paper's rows (default 1000, the paper's)",
    )
    p.add_argument(
        "--output",
        default=str(DEFAULT_OUTPUT),
        help=f"folder of the raw trial records (default {DEFAULT_OUTPUT} under the current "
        "directory)",
    )
    p.add_argument(
        "--markdown",
        default=None,
        help="report to write (default docs/results/pruning.md "
        "with the default --output, else OUTPUT/pruning.md)",
    )
    p.add_argument(
        "--figures",
        default=None,
        help="folder of the figures (default docs/figures with the default --output, else OUTPUT)",
    )
    add_allow_mixed_flag(p)
    add_trial_flags(
        p,
        runs_dir="runs/pruning",
        runs_help="folder of every trial's training run (progress.csv, final checkpoint)",
    )
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    output = Path(args.output)
    if args.list:
        print(study_progress(output, args.setups))
        return 0
    md, csv_path, figures = report_paths(output, args.markdown, args.figures)

    def full_report():  # every seed on record, with the figures
        pruning_report.build_report(
            output,
            md,
            csv_path,
            figures,
            DISPLAY_NAMES,
            paper_seed_table(),
            allow_mixed_commits=args.allow_mixed_commits,
        )

    if args.pareto_report:
        if not (output / "trials").is_dir():
            parser.error(f"argument --output: {str(output)!r} holds no trial records")
        md, csv_path, figures = pareto_paths(output, args.figures)
        with output_errors(parser):
            try:
                pareto_report.build_report(
                    folder_records(output), md, csv_path, figures, args.allow_mixed_commits
                )
            except pareto_report.NoParetoRecords as err:
                parser.error(f"argument --output: {err}")
        print(f"wrote {md}, {csv_path} and {figures}/pareto_*.png")
        return 0
    if args.report_only:
        if not (output / "trials").is_dir():
            parser.error(f"argument --output: {str(output)!r} holds no trial records")
        with output_errors(parser):
            backfill_actor_bytes(output, actor_states)
        if args.seeds is not None:
            label = pruning_report.seed_label(args.seeds)
            md = md.with_name(f"{md.stem}_seeds_{label}.md")
            csv_path = csv_path.with_name(f"{csv_path.stem}_seeds_{label}.csv")
            try:
                with output_errors(parser):
                    pruning_report.build_report(
                        output,
                        md,
                        csv_path,
                        None,
                        DISPLAY_NAMES,
                        seeds=args.seeds,
                        allow_mixed_commits=args.allow_mixed_commits,
                    )
            except ValueError as err:
                parser.error(f"argument --seeds: {err}")
            print(f"wrote {md} and {csv_path}")
            return 0
        with output_errors(parser):
            full_report()
        print(f"wrote {md}, {csv_path} and {figures}/pruning_*.png")
        return 0
    if not args.study and not args.rows:
        parser.error("give --study NAME, --rows ROW..., --list or --report-only")
    what = "--rows" if args.rows else "--study"
    rows = STUDIES[args.study][1] if args.study else args.rows
    try:
        budget = with_overrides(
            study_budget(STUDIES[args.study][2] if args.study else ROW_SEEDS),
            args.iterations,
            args.seeds,
        )
    except ValueError as err:
        parser.error(f"argument --seeds: {err}")
    seeds = budget["seeds"]
    try:
        rows = expand_rows(rows)
    except ValueError as err:
        parser.error(f"argument {what}: {err}")
    try:
        out.check_owner(output, "reproduce")
    except out.OutputExistsError as err:
        parser.error(f"argument --output: {err}")
    trials = plan_trials(budget, args.setups, rows, seeds)
    try:
        check_rows(budget, args.setups, rows, seeds[0])
    except ValueError as err:  # e.g. a variant no trial could run (all0.999 with a dense head)
        parser.error(f"argument {what}: {err}")
    mixed = args.allow_mixed_commits
    with output_errors(parser):  # records made otherwise: refused before Ray starts
        plan(Layout(output, budget), trials, supersede=args.supersede, allow_mixed_commits=mixed)
    with output_errors(parser):
        todo, unfinished, errors, _ = run_trials(
            "pruning_study",
            Layout(output, budget),
            trials,
            trial_options(args),
            scope=f"setups {list(args.setups)}, {len(rows)} rows",
            log_file=out.REPRODUCE_LOG,
            command="python -m rllib_experiments pruning_study",
            argv=argv,
            supersede=args.supersede,
            allow_mixed_commits=mixed,
            setups=list(args.setups),
            rows=list(rows),
        )
        backfill_actor_bytes(output, actor_states)
        full_report()
    return finish("pruning_study", todo, unfinished, errors, f"wrote {md}")
