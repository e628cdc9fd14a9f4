"""Figure 1 of the paper: the three sparsity schedules for I_T = 1000 and p_final = 0.95.

Linear and cubic polynomial (eqs. 10-11) and harmonic annealing (eqs. 12-14, A = 0.1,
P = 200), all with i_start = 0 and i_P = I_T, p0 = 0. Written by
``python -m rllib_experiments reproduce`` (and ``--report-only``) beside the Fig. 2 curves.
"""

from __future__ import annotations

from pathlib import Path

from pruning_callbacks.schedules import make_schedule
from rllib_experiments.studies.common.figures import pyplot, save_figure

FILE_NAME = "sparsity_schedules.png"
#: The paper's schedules, in Fig. 1's order (other registered schedules are not plotted).
FIG1 = ("linear", "polynomial", "harmonic")
LABELS = {
    "linear": "linear (eq. 11)",
    "polynomial": "cubic polynomial (eq. 11)",
    "harmonic": "harmonic annealing (eqs. 12-14)",
}


def plot_schedules(path, iterations: int = 1000, final_sparsity: float = 0.95) -> Path:
    """Write Fig. 1 to ``path``: p_i of each of the paper's schedules over I_T = ``iterations``
    (also i_P) and p_final = ``final_sparsity``; a bad value raises the schedule's error."""
    if iterations <= 1:
        raise ValueError(f"iterations must be > 1, got {iterations}")
    schedules = {
        name: make_schedule(name, final_sparsity=final_sparsity, end=iterations) for name in FIG1
    }
    fig, ax = pyplot().subplots(figsize=(6.4, 3.8))
    its = list(range(iterations))
    for name, schedule in schedules.items():
        ax.plot(its, schedule.values(iterations), label=LABELS[name], lw=1.6)
    ax.axhline(final_sparsity, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("training iteration i")
    ax.set_ylabel("sparsity $p_i$")
    ax.set_title(f"Sparsity schedules, $I_T$={iterations}, $p_{{final}}$={final_sparsity}")
    ax.set_xlim(0, iterations)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return save_figure(fig, path)
