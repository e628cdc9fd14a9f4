"""The scale study: ours (95 % sparse) and every decentralized baseline at N = 10 ... 100 users.

Usage::

    python -m rllib_experiments scale                                  # the whole study
    python -m rllib_experiments scale --sizes 10 20 --setups A --seeds 0
    python -m rllib_experiments scale --budget smoke --sizes 4 --output runs/smoke_scale   # CI check
    python -m rllib_experiments scale --report-only                    # md, csv, figures
    python -m rllib_experiments scale --report-only --allow-mixed-commits  # pool mixed code

For every N of ``--sizes`` (K = N/2 channels) and setup of ``--setups``, the ``ours`` row
trains once per seed and every decentralized baseline is evaluated once, on the evaluation
episodes every command shares (:mod:`rllib_experiments.studies.scale.trials`). Records land in
``OUTPUT/N<N>/trials/`` (one reproduce-layout folder per N, so the reproduce trial ids stay
unique). A trial whose record exists for the budget is never rerun, so the same command
resumes an interrupted study (:mod:`rllib_experiments.studies.common.runner`). Trials run
seed-major (every baseline, then seed 0 of every (N, setup), then seed 1, ...), so a partial
study covers every cell. After the trials the row ``ours_from_A`` is added
(:mod:`rllib_experiments.studies.scale.transfer`) and the report written
(:mod:`rllib_experiments.studies.scale.report`; where: :mod:`rllib_experiments.studies.scale.outputs`,
folders under the current directory).

Budgets (:mod:`rllib_experiments.studies.scale.budgets`): ``scale`` (the paper's per-trial
budget: 1000 iterations, of which ours trains 300 of 8 episodes, evaluation every 10
iterations over 100 episodes; seeds 0-4), its bf16 variants, and ``smoke`` (any even N with
the ``tiny`` networks and T = 20: a pipeline check).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from dsa_pettingzoo.config import SCALE_NUM_USERS, SETUPS
from rllib_experiments.cli.args import (
    add_allow_mixed_flag,
    add_trial_flags,
    int_at_least,
    trial_options,
)
from rllib_experiments.cli.args import output_errors
from rllib_experiments.run.export import export_checkpoint
from rllib_experiments.cli.reproduce import finish
from rllib_experiments.run import outputs as out
from rllib_experiments.studies.common.budgets import with_overrides
from rllib_experiments.studies.common.runner import check_rows, run_trials
from rllib_experiments.studies.common.runner import (
    plan,
    set_aside_superseded,
)
from rllib_experiments.studies.scale import report as scale_report
from rllib_experiments.studies.scale.budgets import BUDGETS, budget_for
from rllib_experiments.studies.scale.outputs import (
    DEFAULT_OUTPUT,
    DEFAULT_OUTPUTS,
    reference,
    report_paths,
)
from rllib_experiments.studies.scale.transfer import transfer_trials
from rllib_experiments.studies.scale.trials import ROW, ScaleLayout, env_for, plan_trials, run_trial

PROG = "python -m rllib_experiments scale"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments scale",
        description="Train ours at N = 10 ... 100 users (K = N/2) in setups A, B, C and evaluate "
        "every decentralized baseline on the same episodes, through Ray Tune, "
        "resumably; writes docs/results/scale.md/.csv and figures (folders under the current "
        "directory).",
    )
    p.add_argument(
        "--budget",
        choices=sorted(BUDGETS),
        default="scale",
        help="scale (the study), scale_bf16 (the same with the actors' training "
        "forward and backward under bfloat16 autocast, Settings.autocast_bf16: "
        "about 2x faster on CPUs with AVX512-BF16 or AMX, emulated and slower "
        "elsewhere; records default to docs/results/raw/scale_bf16, report in "
        "that folder), scale_bf16_difference (scale_bf16 with ours trained on the "
        "difference reward, each user's marginal contribution to the sum rate, "
        "docs/environment.md#rewards; evaluated in the sum rate like everything; "
        "records in docs/results/raw/scale_bf16_difference) or smoke (tiny "
        "networks, T = 20: a pipeline check; needs --output). Default scale.",
    )
    p.add_argument(
        "--sizes",
        nargs="+",
        type=int_at_least(2),
        default=list(SCALE_NUM_USERS),
        metavar="N",
        help="numbers of users N (even; K = N/2). Default "
        f"{' '.join(map(str, SCALE_NUM_USERS))} (the sizes with a scale preset).",
    )
    p.add_argument(
        "--setups",
        nargs="+",
        default=list(SETUPS),
        choices=list(SETUPS),
        help="setups (A: no PUs, B: i.i.d. PUs, C: Markov PUs). Default A B C.",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=int_at_least(0),
        default=None,
        metavar="SEED",
        help="training seeds of ours (default: the budget's, 0 1 2 3 4 for scale)",
    )
    p.add_argument(
        "--iterations",
        type=int_at_least(1),
        default=None,
        help="override the budget's iterations (ours trains 0.3 of them, at least 2, "
        "like in reproduce; default 1000 -> 300)",
    )
    p.add_argument(
        "--output",
        default=None,
        help=f"folder of the raw per-trial records (default {DEFAULT_OUTPUT} under the "
        "current directory for --budget scale, docs/results/raw/<budget> for the "
        "others; smoke has no default)",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rebuild the md, csv and figures from OUTPUT's records "
        "(OUTPUT/N<N>/trials/*.json; a folder without any is refused, and a file there "
        "that is not a record stops it, exit 2, naming the file)",
    )
    p.add_argument(
        "--transfer-only",
        action="store_true",
        help="train nothing: only add the row ours_from_A, ours' final actors of setup "
        "A (same N, seed, budget; their records and run folders in OUTPUT) "
        "evaluated unchanged in the other --setups, and the baselines missing "
        "there, then rebuild the report. A normal run adds this row too, after "
        "its trials",
    )
    p.add_argument(
        "--reference",
        default=None,
        metavar="FOLDER",
        help="another study folder whose ours the report compares with ours in "
        "OUTPUT, paired by seed (e.g. docs/results/raw/scale_bf16 for a longer "
        "bf16 run, so that both sides share the precision); default the float32 "
        f"study's {DEFAULT_OUTPUT} for every other folder, none for that one",
    )
    add_allow_mixed_flag(p)
    add_trial_flags(
        p,
        runs_dir="runs/scale",
        runs_help="folder of the training runs of ours (RUNS_DIR/N<N>/<trial id>)",
    )
    return p


def resolve(argv: Optional[Sequence[str]] = None):
    """Parse and check every flag (exit 2 naming the flag); returns (args, budget, trials)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.output is None:
        if DEFAULT_OUTPUTS[args.budget] is None:
            parser.error(
                f"argument --output: --budget {args.budget} has no default folder "
                "(its records must not land beside the study's): give --output"
            )
        args.output = str(DEFAULT_OUTPUTS[args.budget])
    output = Path(args.output)
    if args.reference is not None:
        ref = Path(args.reference)
        if not any(ref.glob("N*/trials/*.json")):
            parser.error(
                f"argument --reference: {args.reference!r} holds no study records "
                "(N<N>/trials/*.json); give a folder written by this command"
            )
        if ref.resolve() == output.resolve():
            parser.error(
                f"argument --reference: {args.reference!r} is the --output folder "
                "itself; give another study folder"
            )
    if args.transfer_only and args.report_only:
        parser.error(
            "argument --transfer-only: not allowed with --report-only (which runs nothing)"
        )
    if args.transfer_only and not output.is_dir():
        parser.error(
            f"argument --output: {str(output)!r} holds no records of ours in setup A to "
            "transfer (--transfer-only)"
        )
    if args.report_only:
        if not any(output.glob("N*/trials/*.json")):
            parser.error(
                f"argument --output: {str(output)!r} holds no records of this study to report "
                "(N<N>/trials/*.json); give a folder written by this command"
            )
        return args, None, []
    try:
        out.check_owner(output, "scale")
    except out.OutputExistsError as err:
        parser.error(f"argument --output: {err}")
    try:
        budget = with_overrides(BUDGETS[args.budget], args.iterations, args.seeds)
    except ValueError as err:
        parser.error(f"argument --seeds: {err}")
    seeds = budget["seeds"]
    sizes = list(dict.fromkeys(args.sizes))
    odd = [n for n in sizes if n % 2]
    if odd:
        parser.error(f"argument --sizes: N must be even (K = N/2 channels), got {odd}")
    for n in sizes:
        try:
            check_rows(budget_for(budget, n), args.setups, [ROW], seeds[0])
        except ValueError as err:
            hint = (
                (
                    f"; --budget scale has presets for N in {list(SCALE_NUM_USERS)}, --budget "
                    "smoke takes any even N"
                )
                if "unknown preset" in str(err)
                else ""
            )
            parser.error(f"argument --sizes: N = {n}: {err}{hint}")
    trials = plan_trials(sizes, args.setups, seeds)
    if not args.transfer_only:
        with output_errors(parser):  # records made otherwise: refused before Ray starts
            plan(ScaleLayout(output, budget), trials, **_plan_flags(args))
    return args, budget, trials


def _plan_flags(args):
    return dict(supersede=args.supersede, allow_mixed_commits=args.allow_mixed_commits)


def _export_actors(run_folder: Path, folder: Path) -> None:
    export_checkpoint(run_folder, folder, log=lambda *a, **k: None)


def _transfer(args, budget, output: Path) -> int:
    return transfer_trials(
        output, env_for(budget), args.sizes, args.setups, budget["seeds"], _export_actors
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args, budget, trials = resolve(argv)
    output = Path(args.output)
    md, csv, figures = report_paths(output)

    def report():
        scale_report.build_report(
            output,
            md,
            csv,
            figures,
            reference=reference(output, args.reference),
            allow_mixed_commits=args.allow_mixed_commits,
        )

    if args.report_only:
        with output_errors(parser):
            report()
        print(f"wrote {md}, {csv} and {figures}/scale_*.png")
        return 0
    if args.transfer_only:
        layout = ScaleLayout(output, budget)
        with output_errors(parser), out.exclusive(output, "scale"):
            # what is missing is read under the lock, before anything is written
            missing, aside = plan(
                layout, [t for t in trials if t["row"] != ROW], **_plan_flags(args)
            )
            set_aside_superseded(aside, "scale")
            added = _transfer(args, budget, output)
            for t in missing:  # the baselines of the same episodes: cheap, in this process
                print(
                    f"scale: evaluating {t['row']} in {t['setup']} at N = {t['num_users']}",
                    flush=True,
                )
                run_trial(t, budget, output, Path(args.runs_dir))
            report()
        print(
            f"scale: {added} records of ours_from_A and {len(missing)} of baselines written; "
            f"wrote {md}, {csv}"
        )
        return 0
    with output_errors(parser):
        todo, unfinished, errors, wall = run_trials(
            "scale",
            ScaleLayout(output, budget),
            trials,
            trial_options(args),
            scope=f"N {args.sizes}, setups {args.setups}",
            log_file=out.SCALE_LOG,
            command=PROG,
            argv=argv,
            run_trial=run_trial,
            tune_name="scale",
            records="records",
            record="record",
            after=lambda: _transfer(args, budget, output),
            **_plan_flags(args),
            sizes=args.sizes,
            setups=args.setups,
        )
        report()
    return finish("scale", todo, unfinished, errors, f"{wall / 60:.1f} min; wrote {md}, {csv}")
