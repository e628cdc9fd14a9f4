"""Where the pruning study writes: its records in ``OUTPUT`` (default :data:`DEFAULT_OUTPUT`,
under the current directory); with the default folder the report goes to
``docs/results/pruning.md`` / ``.csv`` and the figures to ``docs/figures`` (the repository's,
run from its root), with another beside the records."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

from rllib_experiments.studies.common.folders import FIGURES, RAW, RESULTS, same_folder

DEFAULT_OUTPUT = RAW / "pruning"
DEFAULT_MARKDOWN = RESULTS / "pruning.md"
DEFAULT_CSV = RESULTS / "pruning.csv"
DEFAULT_FIGURES = FIGURES


def report_paths(
    output, markdown: Optional[str] = None, figures: Optional[str] = None
) -> Tuple[Path, Path, Path]:
    """(markdown, csv, figures folder) of the report of the records in ``output``: the ones
    given (the CSV beside the markdown), else the study's for :data:`DEFAULT_OUTPUT`, else
    ``output``'s own."""
    output = Path(output)
    default = same_folder(output, DEFAULT_OUTPUT)
    md = Path(markdown) if markdown else (DEFAULT_MARKDOWN if default else output / "pruning.md")
    csv_path = DEFAULT_CSV if default and not markdown else md.with_suffix(".csv")
    return md, csv_path, Path(figures) if figures else (DEFAULT_FIGURES if default else output)


#: The Pareto study's records: a folder of their own, so that they pool seeds of one commit
#: (the pruning study's folder holds older records of some of its rows).
PARETO_OUTPUT = RAW / "pareto"


def pareto_paths(output, figures: Optional[str] = None) -> Tuple[Path, Path, Path]:
    """(markdown, csv, figures folder) of the Pareto report of the records in ``output``:
    ``docs/results/pareto.md`` / ``.csv`` and ``docs/figures`` for :data:`PARETO_OUTPUT`,
    else beside the records."""
    output = Path(output)
    default = same_folder(output, PARETO_OUTPUT)
    md = RESULTS / "pareto.md" if default else output / "pareto.md"
    return (
        md,
        md.with_suffix(".csv"),
        Path(figures) if figures else (FIGURES if default else output),
    )
