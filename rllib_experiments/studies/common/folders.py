"""Where the studies write unless told otherwise: folders relative to the current directory.

Run from a checkout's root, these are the checkout's ``docs/``: the records under
``docs/results/raw/``, the reports in ``docs/results/``, the figures in ``docs/figures/``.
Every study takes its folders as arguments; these are only the defaults of its command.
A study whose records sit in its own default folder writes its report to ``docs/results``
(:func:`same_folder`), elsewhere beside the records.
"""

from __future__ import annotations

from pathlib import Path

#: The reports (markdown, CSV) of the studies.
RESULTS = Path("docs") / "results"
#: The raw per-trial records, one folder per study (reproduce's records at its top).
RAW = RESULTS / "raw"
#: The figures the reports embed.
FIGURES = Path("docs") / "figures"
#: Ray Tune's own experiment folders (logs; nothing a study resumes from).
TUNE_DIR = Path("runs") / "tune"


def same_folder(a, b) -> bool:
    """Are ``a`` and ``b`` one folder (relative paths taken from the current directory)?"""
    return Path(a).resolve() == Path(b).resolve()
