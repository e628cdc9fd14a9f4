"""The flags of the search half of ``tune_schedules``: ``--search {grid,optuna}``,
``--scheduler {fifo,asha}``, ``--search-space``; checked here before Ray starts, run by
:mod:`rllib_experiments.studies.common.search` (its files in OUTPUT are listed there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

from rllib_experiments.cli.args import int_at_least, number_in
from rllib_experiments.run.outputs import SEARCH_FILE
from rllib_experiments.studies.common import search
from rllib_experiments.studies.common.search_space import (
    SearchSpaceError,
    check_space,
    load_search_space,
)


def add_search_flags(p) -> None:
    g = p.add_argument_group(
        "searches (see rllib_experiments.studies.common.search_space for the file format)"
    )
    g.add_argument(
        "--search",
        choices=["grid", "optuna"],
        default="grid",
        help="grid: every combination (of the flags, or of the choices in "
        "--search-space); optuna: --num-samples points drawn by Optuna's TPE "
        "from --search-space. Default grid.",
    )
    g.add_argument(
        "--search-space",
        default=None,
        metavar="FILE",
        help="JSON or YAML search space (needed by --search optuna), e.g. "
        "rllib_experiments/search_spaces/pruning.yaml",
    )
    g.add_argument(
        "--num-samples",
        type=int_at_least(1),
        default=None,
        help="points an optuna search trains (default 16); not with --search grid",
    )
    g.add_argument(
        "--scheduler",
        choices=["fifo", "asha"],
        default="fifo",
        help="fifo: every trial runs to the end; asha: ASHA stops the worse trials "
        "at rungs of the evaluation reward. Default fifo.",
    )
    g.add_argument(
        "--grace-fraction",
        type=number_in(0.0, 1.0),
        default=0.2,
        help="asha: no trial is stopped before this fraction of the iterations (default 0.2)",
    )
    g.add_argument(
        "--search-seed",
        type=int_at_least(0),
        default=0,
        help="seed of Optuna's sampler (default 0)",
    )


def uses_search(args) -> bool:
    return args.search != "grid" or args.search_space is not None


def resolve_search(args, parser, base: Dict[str, Any], output: Path):
    """Validate the search flags and the space before Ray starts; returns the SearchSpace."""
    if args.search == "optuna" and args.search_space is None:
        parser.error("argument --search: optuna needs --search-space FILE")
    if args.search == "grid" and args.num_samples is not None:
        parser.error(
            "argument --num-samples: only with --search optuna (a grid runs every "
            "combination; give seeds as a choice in the space)"
        )
    try:
        space = load_search_space(args.search_space)
        if args.search == "grid":
            space.grid_size()
        check_space(space, base)
    except SearchSpaceError as err:
        where = f" {err.parameter}" if err.parameter else ""
        parser.error(f"argument --search-space{where}: {err}")
    flags = {
        "search": args.search,
        "num_samples": args.num_samples or 16,
        "scheduler": args.scheduler,
        "grace_fraction": args.grace_fraction,
        "search_seed": args.search_seed,
    }
    saved_file = output / SEARCH_FILE
    if (
        not args.resume
        and output.is_dir()
        and any((output / n).exists() for n in (SEARCH_FILE, search.SEARCH_TUNE_DIR, "trials"))
    ):
        parser.error(
            f"argument --output: {str(output)!r} already holds a search; pass --resume to "
            "continue it or choose another --output"
        )
    if args.resume and saved_file.is_file():
        saved = json.loads(saved_file.read_text())
        if saved != {"settings": base, "space": space.to_dict(), "flags": flags}:
            parser.error(
                f"argument --resume: the flags or the search space differ from the search "
                f"saved in {saved_file}; give the same ones to continue it"
            )
    return space, flags


def run_search(
    args, base: Dict[str, Any], space, flags: Dict[str, Any], output: Path, at_once: int, bundle
) -> int:
    """Run (or, with --resume, continue) the search (:func:`rllib_experiments.studies.common.search.run_search`)."""
    return search.run_search(base, space, flags, output, at_once, bundle, resume=args.resume)
