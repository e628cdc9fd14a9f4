"""Where the scale study writes: each budget's records in its own folder (default
:data:`DEFAULT_OUTPUTS`, under the current directory), one sub-folder per N
(:func:`size_folder`). The float32 study's own folder (:data:`DEFAULT_OUTPUT`) reports to
``docs/results/scale.md`` / ``.csv`` and ``docs/figures`` (the repository's, run from its root);
every other folder beside its records."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

from rllib_experiments.studies.common.folders import FIGURES, RAW, RESULTS, same_folder
from rllib_experiments.studies.scale.report import PROBE_DIR

#: The float32 study's records.
DEFAULT_OUTPUT = RAW / "scale"
#: Where each budget's records go unless --output says otherwise: a budget's records never
#: share a folder with another's (the bf16 study sits beside the float32 one, not in it).
DEFAULT_OUTPUTS = {
    "scale": DEFAULT_OUTPUT,
    "scale_bf16": DEFAULT_OUTPUT.with_name("scale_bf16"),
    "scale_bf16_difference": DEFAULT_OUTPUT.with_name("scale_bf16_difference"),
    "smoke": None,
}


def size_folder(output: Path, n: int) -> Path:
    """The reproduce-layout folder of the records at N = ``n``."""
    return Path(output) / f"N{n}"


def is_study_folder(output: Path) -> bool:
    """Is ``output`` the float32 study's own folder (whose report goes to docs/results/)?"""
    return same_folder(output, DEFAULT_OUTPUT)


def reference(output: Path, given: Optional[str] = None) -> Optional[Path]:
    """The folder whose ours the report of ``output`` compares with: ``given`` (--reference),
    else the float32 study's folder; None for the study's own folder without --reference."""
    if given is not None:
        return Path(given)
    return None if is_study_folder(output) or not DEFAULT_OUTPUT.is_dir() else DEFAULT_OUTPUT


def report_paths(output: Path) -> Tuple[Path, Path, Path]:
    """(markdown, csv, figures folder) of the report of the records in ``output``."""
    default = is_study_folder(output)
    results = RESULTS if default else Path(output)
    figures = FIGURES if default else Path(output)
    return results / "scale.md", results / "scale.csv", figures


def study_folders(raw: Path = RAW) -> List[Path]:
    """Every folder of ``raw`` holding scale records (``N*/trials/*.json``) but the cost probe's,
    the float32 study's first and the others by name; none when ``raw`` does not exist."""
    if not Path(raw).is_dir():
        return []
    found = sorted(
        p
        for p in Path(raw).iterdir()
        if p.is_dir() and not same_folder(p, PROBE_DIR) and any(p.glob("N*/trials/*.json"))
    )
    return sorted(found, key=lambda p: (not is_study_folder(p), p.name))
