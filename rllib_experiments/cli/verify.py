"""``python -m rllib_experiments verify RECORD.json [RECORD.json ...]``: rerun trial records and
say, per record, ``equal`` or the first iteration and figure that differ.

Usage::

    python -m rllib_experiments verify docs/results/raw/verify_smoke/trials/A__harmonic__s0.json
    python -m rllib_experiments verify docs/results/raw/pruning/trials/A__dense__s0.json \\
        --iterations-limit 200 --work runs/verify

Each record is rerun exactly as its study ran it (same row, setup, seed and budget, through
the same trial function; a record with ``num_users`` through the scale study's), in a
temporary folder (or ``--work``), then compared figure by figure
(:mod:`rllib_experiments.studies.common.verify`). Warnings say first where the record's
commit, tree, CPU or library versions differ from here. Exit status: 0 when every record is
equal, 1 when one differs, 2 for bad arguments (a file that is not a trial record).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from rllib_experiments.cli.args import int_at_least
from rllib_experiments.studies.common.budgets import PAPER
from rllib_experiments.studies.common.records import NotARecordError
from rllib_experiments.studies.common.runner import row_trial
from rllib_experiments.studies.common.verify import Study, check_record, verify_records
from rllib_experiments.studies.scale.budgets import BUDGETS as SCALE_BUDGETS
from rllib_experiments.studies.scale.budgets import budget_for
from rllib_experiments.studies.scale.trials import run_trial as scale_trial
from rllib_experiments.studies.table1.budgets import BUDGETS as TABLE1_BUDGETS

#: The studies' records: row trials (reproduce, the pruning study: budgets by name) and the
#: scale study's (its budgets by the name their records hold, the budget of the record's N).
STUDIES = {
    "rows": Study(
        budgets={"paper": PAPER, **{b["name"]: b for b in TABLE1_BUDGETS.values()}},
        run_trial=row_trial,
    ),
    "scale": Study(
        budgets={b["name"]: b for b in SCALE_BUDGETS.values()},
        run_trial=scale_trial,
        trial_budget=lambda budget, record: budget_for(budget, int(record["num_users"])),
        keys=("row", "setup", "seed", "num_users"),
    ),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments verify",
        description="Rerun trial records of the studies exactly as they ran and report, per "
        "record, 'equal' or the first iteration and figure that differ (exit 1 "
        "if any differs).",
    )
    p.add_argument(
        "records",
        nargs="+",
        type=Path,
        metavar="RECORD",
        help="trial records: a study's RESULTS/trials/<setup>__<row>__s<seed>.json",
    )
    p.add_argument(
        "--work",
        type=Path,
        default=None,
        help="folder for the reruns' records and training runs, kept afterwards "
        "(default: a temporary folder, removed)",
    )
    p.add_argument(
        "--iterations-limit",
        type=int_at_least(1),
        default=None,
        metavar="K",
        help="verify only the first K iterations of learning records: the same "
        "settings, the run stopped at its first evaluation from K on",
    )
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    for path in args.records:
        try:
            check_record(path, STUDIES)
        except NotARecordError as err:
            parser.error(f"argument RECORD: {err}")
    outcomes = verify_records(args.records, STUDIES, work=args.work, limit=args.iterations_limit)
    differ = [o for o in outcomes if not o.equal]
    print(
        f"verify: {len(outcomes) - len(differ)} of {len(outcomes)} records equal"
        + (f"; differ: {', '.join(o.trial for o in differ)}" if differ else ""),
        flush=True,
    )
    return 1 if differ else 0
