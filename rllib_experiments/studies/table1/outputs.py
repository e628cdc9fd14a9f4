"""Where the Table I reproduction writes, and its report with Fig. 1.

The records go to ``OUTPUT`` (default :data:`DEFAULT_OUTPUT`, under the current directory).
With the default folder the table and the figures go to ``docs/results/table1.md`` and
``docs/figures`` (the repository's, run from its root); with another, beside the records.

The default folder holds the first reproduction (2 seeds a row); its table keeps the layout of
:mod:`.report`. Every other folder, the reruns of every row on 10 seeds at one commit
(``docs/results/raw/table1``) among them, gets the one Table I of :mod:`.one_table`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

from rllib_experiments.studies.common.folders import FIGURES, RAW, RESULTS, same_folder
from rllib_experiments.studies.table1 import one_table, report
from rllib_experiments.studies.table1.schedules_figure import FILE_NAME, plot_schedules

#: The records of reproduce (``trials/``, ``trials.csv``, ``curves.csv``, ``runs.jsonl``).
DEFAULT_OUTPUT = RAW
#: The table of the study's own records.
DEFAULT_TABLE = RESULTS / "table1.md"


def report_paths(
    output, table: Optional[str] = None, figures: Optional[str] = None
) -> Tuple[Path, Path]:
    """(table, figures folder) of the records in ``output``: the ones given, else the
    study's (for :data:`DEFAULT_OUTPUT`) or ``output``'s own."""
    output = Path(output)
    default = same_folder(output, DEFAULT_OUTPUT)
    return (
        Path(table) if table else (DEFAULT_TABLE if default else output / "table1.md"),
        Path(figures) if figures else (FIGURES if default else output),
    )


def ensure_fig1(figures: Path) -> Path:
    """Fig. 1 (the paper's schedules, I_T = 1000), written if absent."""
    path = Path(figures) / FILE_NAME
    if not path.is_file():
        plot_schedules(path)
    return path


def write_report(
    output: Path, table: Path, figures: Path, allow_mixed_commits: bool = False
) -> None:
    """The table and its figures from ``output``'s records (:func:`report.build_report` for
    :data:`DEFAULT_OUTPUT`, else :func:`one_table.build_one_table`), and Fig. 1 if absent
    (``allow_mixed_commits``: theirs)."""
    if same_folder(output, DEFAULT_OUTPUT):
        report.build_report(output, table, figures, allow_mixed_commits)
    else:
        one_table.build_one_table(output, table, figures, allow_mixed_commits)
    ensure_fig1(figures)
