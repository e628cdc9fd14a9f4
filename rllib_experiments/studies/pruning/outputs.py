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
