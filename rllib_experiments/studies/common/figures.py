"""Matplotlib for the reports: the Agg backend (no display needed) and one way to write a PNG.

Every figure of the experiments (``docs/figures``, the reports' folders, ``plot_runs``) is
drawn on :func:`pyplot` and written by :func:`save_figure`, so the backend, the resolution
(:data:`DPI`), the legend placement (below the axes, off the data), the layout and the file
handling are defined once; no other module calls ``savefig`` or sets a DPI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

#: Resolution of every figure (pixels per inch).
DPI = 110


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (imported on first use: reports without
    figures need no matplotlib)."""
    # imports matplotlib: only when called
    import matplotlib

    matplotlib.use("Agg")
    # imports matplotlib: only when called
    import matplotlib.pyplot as plt

    return plt


def save_figure(
    fig,
    path,
    *,
    legend_axes: Optional[Sequence] = None,
    ncol: int = 3,
    bottom: float = 0.0,
    fontsize: float = 8,
) -> Path:
    """Lay out ``fig`` and write it to ``path`` at :data:`DPI` (parents created), then close it.

    With ``legend_axes``, one legend of all their labelled artists (one entry per label)
    goes below the axes, in the bottom ``bottom`` share of the figure, ``ncol`` columns wide.
    """
    if legend_axes is not None:
        by_label = {}  # one entry per label, the first axes' artist
        for ax in legend_axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                by_label.setdefault(lab, h)
        handles, labels = list(by_label.values()), list(by_label)
        fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=fontsize, frameon=False)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
    return path
