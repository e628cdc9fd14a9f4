"""Figures of the scale study (:mod:`rllib_experiments.studies.scale.report` builds their data).

* ``scale_ratio.png``: reward / oracle against N, a line per method, one panel per setup;
  ours (and ours trained in A) is the mean over seeds with the std over seeds as error bars and
  every seed's value as a dot;
  the goal (0.95) dashed.
* ``scale_cost.png``: CPU seconds of one training run of ours against N, a line per setup
  (mean over seeds), each seed's run a dot.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List

from rllib_experiments.studies.common.figures import pyplot, save_figure
from rllib_experiments.studies.scale.stats import OURS, TRANSFER

#: Size of one panel (inches); the ratio figure is a panel per setup and a legend below.
PANEL_INCHES = (4.0, 3.4)
#: Height of the legend below the panels: a margin and one line per row of entries (font 7).
LEGEND_MARGIN_INCHES, LEGEND_ROW_INCHES = 0.25, 0.17
#: The rows of ours (mean ± std over seeds): colour and line style.
LEARNED_STYLE = {OURS: ("black", "-"), TRANSFER: ("dimgrey", ":")}


def plot_ratio(
    rows: List[Dict],
    setups: List[str],
    methods: List[str],
    labels: Dict[str, str],
    goal: float,
    path: Path,
) -> Path:
    """Reward / oracle against N per method, a panel per setup (``rows``: the CSV rows)."""
    plt = pyplot()
    ncol = min(5, 2 * len(setups))
    drawn = [
        m
        for m in methods
        if any(r["method"] == m and r["ratio_to_oracle"] is not None for r in rows)
    ]
    entries = len(drawn) + 1 + sum(1 for m in drawn if m in LEARNED_STYLE)  # + goal, + seeds
    legend_inches = LEGEND_MARGIN_INCHES + LEGEND_ROW_INCHES * math.ceil(entries / ncol)
    height = PANEL_INCHES[1] + legend_inches
    fig, axes = plt.subplots(
        1, len(setups), figsize=(PANEL_INCHES[0] * len(setups), height), squeeze=False, sharey=True
    )
    for ax, setup in zip(axes[0], setups):
        for method in methods:
            pts = sorted(
                (r["num_users"], r)
                for r in rows
                if r["setup"] == setup
                and r["method"] == method
                and r["ratio_to_oracle"] is not None
            )
            if not pts:
                continue
            x = [n for n, _ in pts]
            y = [r["ratio_to_oracle"] for _, r in pts]
            if method in LEARNED_STYLE:
                color, ls = LEARNED_STYLE[method]
                err = [r["std"] / r["oracle_mean"] if r["std"] is not None else 0.0 for _, r in pts]
                ax.errorbar(x, y, yerr=err, color=color, ls="none", capsize=3, zorder=3)
                ax.plot(x, y, label=labels[method], color=color, ls=ls, lw=2, marker="o", zorder=3)
                ax.scatter(  # every seed's ratio beside the mean
                    [n for n, r in pts for _ in r["rewards"]],
                    [v / r["oracle_mean"] for _, r in pts for v in r["rewards"]],
                    s=9,
                    color=color,
                    alpha=0.45,
                    lw=0,
                    zorder=4,
                    label=f"{labels[method]}: one seed",
                )
            else:
                ax.plot(x, y, label=labels[method], marker=".", lw=1)
        ax.axhline(goal, ls="--", color="grey", lw=1, label=f"goal {goal:g}")
        ax.set_xscale("log")
        ns = sorted({r["num_users"] for r in rows if r["setup"] == setup})
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.minorticks_off()
        ax.set_title(f"setup {setup}")
        ax.set_xlabel("users N (K = N/2 channels)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("reward / oracle")
    return save_figure(
        fig, path, legend_axes=list(axes[0]), ncol=ncol, bottom=legend_inches / height, fontsize=7
    )


def plot_cost(runs: List[Dict], setups: List[str], path: Path) -> Path:
    """CPU seconds per training run of ours against N (``runs``: one dict per ours record)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=PANEL_INCHES)
    for setup in setups:
        mine = [r for r in runs if r["setup"] == setup]
        if not mine:
            continue
        ns = sorted({r["num_users"] for r in mine})
        means = [
            sum(r["cpu_s"] for r in mine if r["num_users"] == n)
            / sum(1 for r in mine if r["num_users"] == n)
            for n in ns
        ]
        (line,) = ax.plot(ns, means, marker="o", label=f"setup {setup} (mean over seeds)")
        ax.plot(
            [r["num_users"] for r in mine],
            [r["cpu_s"] for r in mine],
            ls="none",
            marker=".",
            color=line.get_color(),
            alpha=0.5,
            label="_seeds",
        )
    ns = sorted({r["num_users"] for r in runs})
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    if ns:
        ax.set_xticks(ns, [str(n) for n in ns])
    ax.minorticks_off()
    ax.set_xlabel("users N (K = N/2 channels)")
    ax.set_ylabel("CPU s per training run of ours")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)
