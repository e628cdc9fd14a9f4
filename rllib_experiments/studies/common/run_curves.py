"""Evaluation curves of training runs, one figure: the library of ``plot_runs``.

A run folder holds progress.csv and result.json (:mod:`rllib_experiments.run.outputs`); a
tune_schedules grid folder holds them under ``trials/*``. Runs are grouped by schedule (and
p_final); the figure shows the mean over the group's seeds of the stochastic and greedy
evaluation rewards (paper's unit) against the iteration, a band of +- one standard deviation
over seeds, the mean actor sparsity (actual, after each iteration, and the target p_i), and
slotted ALOHA on the same evaluation episodes. Drawn and written through
:mod:`rllib_experiments.studies.common.figures`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Dict, List

import numpy as np

from rllib_experiments.studies.common.figures import pyplot, save_figure
from rllib_experiments.studies.common.statistics import mean_std


def find_runs(paths: List[str]) -> List[Path]:
    """The run folders among ``paths``: a run folder itself, or every run of a grid folder's
    ``trials/``; ValueError for a path that is neither."""
    runs = []
    for p in map(Path, paths):
        if (p / "progress.csv").is_file():
            runs.append(p)
        elif (p / "trials").is_dir():
            runs += sorted(q for q in (p / "trials").iterdir() if (q / "progress.csv").is_file())
        else:
            raise ValueError(
                f"{p}: neither a run folder (progress.csv) nor a grid folder (trials/)"
            )
    return runs


def load(run: Path) -> Dict:
    """A run's evaluation curve, sparsity per iteration (actual and target) and ALOHA reward."""
    with open(run / "progress.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    settings = json.loads((run / "run.json").read_text())["settings"]
    result = (
        json.loads((run / "result.json").read_text()) if (run / "result.json").is_file() else None
    )
    evals = [r for r in rows if r.get("eval_stochastic_mean")]
    return {
        "label": "dense"
        if settings["schedule"] == "none"
        else f"{settings['schedule']} p={settings['final_sparsity']}",
        "it": np.array([int(r["iteration"]) + 1 for r in evals]),
        "stochastic": np.array([float(r["eval_stochastic_mean"]) for r in evals]),
        "greedy": np.array([float(r["eval_greedy_mean"]) for r in evals]),
        "sparsity_it": np.array([int(r["iteration"]) + 1 for r in rows]),
        "sparsity": np.array([float(r["mean_sparsity"] or 0) for r in rows]),
        "target": np.array([float(r["mean_target_sparsity"] or 0) for r in rows]),
        "aloha": result["aloha_reference"]["mean_reward"] if result else None,
    }


def plot(runs: List[Path], out: Path, title: str = "") -> None:
    """The figure of ``runs`` (grouped by schedule and p_final, see the module doc) to ``out``."""
    plt = pyplot()
    groups: Dict[str, List[Dict]] = {}
    for run in runs:
        d = load(run)
        groups.setdefault(d["label"], []).append(d)
    fig, (ax, ax2) = plt.subplots(
        2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    aloha = [d["aloha"] for ds in groups.values() for d in ds if d["aloha"] is not None]
    for (label, ds), color in zip(sorted(groups.items()), plt.cm.tab10.colors):
        n = min(len(d["it"]) for d in ds)
        it = ds[0]["it"][:n]
        for key, style in (("stochastic", "-"), ("greedy", ":")):
            mean, std = mean_std(np.stack([d[key][:n] for d in ds]))
            ax.plot(it, mean, style, color=color, label=f"{label}, {key} ({len(ds)} seeds)")
            if key == "stochastic" and std is not None:  # no band for one seed
                ax.fill_between(it, mean - std, mean + std, color=color, alpha=0.15)
        m = min(len(d["sparsity"]) for d in ds)
        ax2.plot(
            ds[0]["sparsity_it"][:m],
            np.mean([d["sparsity"][:m] for d in ds], 0),
            color=color,
            label=f"{label}: actual",
        )
        ax2.plot(
            ds[0]["sparsity_it"][:m],
            np.mean([d["target"][:m] for d in ds], 0),
            "--",
            color=color,
            lw=0.8,
            label=f"{label}: target p_i",
        )
    if aloha:
        ax.axhline(
            float(np.mean(aloha)), color="k", ls="--", lw=1, label="slotted ALOHA (same episodes)"
        )
    ax.set_ylabel("episode sum of system throughput")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax2.set_xlabel("training iteration (one episode each)")
    ax2.set_ylabel("mean actor sparsity")
    ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3)
    save_figure(fig, out)
