"""The scale study's goal (docs/training.md, "Scale study") across every study folder, in one
table: ``python -m rllib_experiments scale_goal`` (:mod:`rllib_experiments.cli.scale_goal`).

Each folder that ``python -m rllib_experiments scale`` writes holds one budget's records (float32
or bfloat16, 300 or 600 iterations, ours trained on the sum rate or on another reward) and its own
report. A reader who asks "where does the goal stand at N = 50?" would otherwise open every report.
Nothing here is recomputed: every number is :func:`~rllib_experiments.studies.scale.stats.goal_cells` of
one folder's records; this module only lays the folders' cells side by side and picks, per
(setup, N), the best row that has the goal's number of seeds."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from dsa_pettingzoo.config import SCALE_NUM_USERS, SETUPS
from dsa_pettingzoo.evaluation import EVAL_SEED
from rllib_experiments.studies.common import pooling
from rllib_experiments.studies.common.figures import pyplot, save_figure
from rllib_experiments.studies.common.formatting import MISSING, number_text
from rllib_experiments.studies.common.goal import GOAL_RATIO, GOAL_SEEDS
from rllib_experiments.studies.scale.stats import LABELS, OURS, TRANSFER, goal_cells, table_rows
from rllib_experiments.studies.scale.report import mixed_rows, relative_link

SUM_RATE = "sum_rate"


class NoRecordsError(ValueError):
    """A folder given as a study folder holds no scale records (``N*/trials/*.json``)."""


def _training(records: List[Dict[str, Any]], setup: str, n: int, method: str) -> Dict[str, Any]:
    """How the actors of a cell were trained: precision, iterations, reward. The row
    ``ours_from_A`` was trained by ours' runs in setup A of the same folder and N."""
    trained_in = "A" if method == TRANSFER else setup
    runs = [
        r for r in records if r["row"] == OURS and r["setup"] == trained_in and r["num_users"] == n
    ]
    if not runs:
        return dict(precision="?", iterations="?", reward="?")
    bf16 = {bool((r.get("settings") or {}).get("autocast_bf16", False)) for r in runs}
    return dict(
        precision="/".join("bf16" if b else "float32" for b in sorted(bf16)),
        iterations="/".join(str(i) for i in sorted({int(r["iterations"]) for r in runs})),
        reward="/".join(sorted({r["env_kwargs"].get("reward", SUM_RATE) for r in runs})),
    )


def folder_cells(
    folder: Path, records: List[Dict[str, Any]], allow_mixed_commits: bool = False
) -> List[Dict[str, Any]]:
    """The goal cells of one study folder (``records``: its :func:`~rllib_experiments.studies.scale.stats.
    load_records`), each with ``folder``, how it was trained and ``mark`` (the code of seeds not
    from one clean commit, else None). Raises :class:`NoRecordsError` when the folder holds no
    records, :class:`pooling.MixedCodeError` for seeds of mixed code unless
    ``allow_mixed_commits``."""
    if not records:
        raise NoRecordsError(f"{folder} holds no scale records (no N*/trials/*.json)")
    marks = mixed_rows(records, allow_mixed_commits, folder)
    cells = goal_cells(table_rows(records))
    for c in cells:
        c["folder"] = Path(folder)
        c["mark"] = marks.get((c["setup"], c["num_users"], c["method"]))
        c.update(_training(records, c["setup"], c["num_users"], c["method"]))
    return cells


def best_cells(cells: Sequence[Dict[str, Any]]) -> Dict[tuple, Dict[str, Any]]:
    """Per (setup, N): the cell that decides the goal there. A cell with the goal's seeds beats
    one without; then a met cell beats an unmet one; then ours trained in the setup itself
    beats ``ours_from_A``; then the higher ratio."""
    best: Dict[tuple, Dict[str, Any]] = {}

    def key(c):
        ratio = c["ratio"] if c["ratio"] is not None else -1.0
        return (c["seeds"] >= GOAL_SEEDS, c["met"], c["method"] == OURS, ratio)

    for c in cells:
        k = (c["setup"], c["num_users"])
        if k not in best or key(c) > key(best[k]):
            best[k] = c
    return best


def _link(path: Optional[Path], md: Path, text: str) -> str:
    return text if path is None else f"[{text}]({relative_link(path, md)})"


def folder_names(folders: Sequence[Path]) -> Dict[Path, str]:
    """How the report and the figure name each folder: its name, or its path when two folders
    share a name."""
    names = {Path(f): Path(f).name for f in folders}
    if len(set(names.values())) < len(names):
        names = {Path(f): str(f) for f in folders}
    return names


def _label(c: Dict[str, Any]) -> str:
    return "ours" if c["method"] == OURS else LABELS.get(c["method"], c["method"])


def _grid(best, sizes, setups, names) -> List[str]:
    lines = [
        "| Setup | " + " | ".join(f"N = {n}" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for s in setups:
        row = []
        for n in sizes:
            c = best.get((s, n))
            if c is None:
                row.append("not run")
                continue
            verdict = (
                "**met**"
                if c["met"]
                else (
                    "short" if c["seeds"] >= GOAL_SEEDS else f"{c['seeds']} of {GOAL_SEEDS} seeds"
                )
            )
            where = names[c["folder"]] + ("" if c["method"] == OURS else ", trained in A")
            dagger = " †" if c.get("mark") else ""
            row.append(f"{verdict} {number_text(c['ratio'], 3)}{dagger} ({where}, {c['reward']})")
        lines.append(f"| {s} | " + " | ".join(row) + " |")
    return lines


def folder_labels(cells: Sequence[Dict[str, Any]], folders: Sequence[Path]) -> Dict[Path, str]:
    """A legend label per folder: its name and how its rows of ours were trained."""
    out = {}
    for f, name in folder_names(folders).items():
        mine = [c for c in cells if c["folder"] == f and c["method"] == OURS]
        ways = sorted({(c["reward"], c["precision"], c["iterations"]) for c in mine})
        out[f] = f"{name} (" + "; ".join(f"{r}, {p}, {i} it." for r, p, i in ways) + ")"
    return out


def markdown(
    cells: Sequence[Dict[str, Any]],
    folders: Sequence[Path],
    reports: Dict[Path, Optional[Path]],
    md: Path,
    command: str,
    sizes: Sequence[int] = SCALE_NUM_USERS,
    setups: Sequence[str] = SETUPS,
    figure: Optional[Path] = None,
) -> str:
    """The report: where the goal stands per (setup, N), the training curves (``figure``, if
    drawn), then every folder's row of ours."""
    names = folder_names(folders)
    best = best_cells(cells)
    met = [k for k, c in best.items() if c["met"]]
    faithful = sorted(
        {(c["setup"], c["num_users"]) for c in cells if c["met"] and c["method"] == OURS}
    )
    total = len(sizes) * len(setups)
    note = pooling.footnote(
        {i: c["mark"] for i, c in enumerate(cells) if c.get("mark")},
        command if pooling.ALLOW_FLAG in command else f"{command} {pooling.ALLOW_FLAG}",
    )
    lines = [
        "# The scale study's goal, every study folder side by side",
        "",
        f"Generated by `{command}` from the records of the folders listed at the end; do not edit "
        "by hand. Every number is one folder's report's goal table (the same code, "
        "`scale_stats.goal_cells`); nothing is pooled across folders.",
        "",
        f"Goal: ours >= {GOAL_RATIO} of the oracle (mean over >= {GOAL_SEEDS} seeds) at every N in "
        f"setups {', '.join(setups)}, and above every decentralized baseline "
        f"(greedy evaluation on the study's 100 episodes, seed {EVAL_SEED}).",
        "",
        *([note, ""] if note else []),
        "## Where the goal stands",
        "",
        f"**Met in {len(met)} of {total} cells** ({len(faithful)} by ours trained in the setup "
        "itself). Per cell the row that decides it: one with the goal's seeds before one without, "
        "met before unmet, ours trained in the setup before ours trained in A, then the higher "
        "ours / oracle; in brackets its folder (budget, "
        "precision and iterations below) and the reward ours trained on (every reward reported "
        "is the sum rate). *short*: below the goal with its seeds; *k of 5 seeds*: too few seeds "
        "to decide.",
        "",
        *_grid(best, sizes, setups, names),
        "",
        *(
            []
            if figure is None
            else [
                "How ours got there: the greedy evaluations during training (every 10 iterations, "
                "the study's 100 episodes), reward / the oracle's, mean over seeds with the band "
                "from the lowest to the highest seed and every seed's evaluation a dot, a line per "
                "folder.",
                "",
                f"![ours' greedy reward / oracle against the training iteration]"
                f"({relative_link(figure, md)})",
                "",
            ]
        ),
        "## Every folder's rows of ours",
        "",
        "| Setup | N | K | Folder | Trained on | Precision | Iterations | Row | Seeds | Ours / oracle "
        "| Best baseline (/ oracle) | Goal |",
        "|---|---:|---:|---|---|---|---:|---|---:|---:|---|---|",
    ]
    order = {Path(f): i for i, f in enumerate(folders)}
    ordered = sorted(
        cells, key=lambda c: (c["setup"], c["num_users"], order[c["folder"]], c["method"] != OURS)
    )
    for c in ordered:
        b = c["best"]
        base = (
            MISSING
            if b is None
            else f"{LABELS.get(b['method'], b['method'])} ({number_text(b['ratio_to_oracle'], 3)})"
        )
        goal = "met" if c["met"] else ("short" if c["seeds"] >= GOAL_SEEDS else "too few seeds")
        if not c["met"] and c["seeds"] >= GOAL_SEEDS:
            goal += (
                f" by {number_text(c['short_ratio'], 3)}"
                if not c["ratio_met"]
                else " (below a baseline)"
            )
        lines.append(
            f"| {c['setup']} | {c['num_users']} | {c['num_channels']} | "
            f"{_link(reports.get(c['folder']), md, names[c['folder']])} | {c['reward']} | "
            f"{c['precision']} | {c['iterations']} | {_label(c)} | "
            f"{c['seeds']}{' †' if c.get('mark') else ''} | "
            f"{number_text(c['ratio'], 3)} | {base} | {goal} |"
        )
    lines += [""] + pooling.mark_lines(
        (
            f"{c['setup']}, N = {c['num_users']}, {names[c['folder']]}, {_label(c)}",
            c.get("mark"),
        )
        for c in ordered
    )
    if lines[-1] == "":
        lines.pop()
    lines += ["", "## Folders", ""]
    for f in folders:
        n = sum(1 for c in cells if c["folder"] == Path(f))
        lines.append(
            f"- `{names[Path(f)]}`: {n} row{'' if n == 1 else 's'} of ours; report "
            f"{_link(reports.get(Path(f)), md, 'scale.md') if reports.get(Path(f)) else 'none'}"
        )
    return "\n".join(lines) + "\n"


def folder_curves(records: List[Dict[str, Any]]) -> Dict[tuple, Dict[str, Any]]:
    """Per (setup, N): the greedy evaluations of ours' training runs among one folder's
    ``records`` (their ``curve``), as reward / the run's oracle: ``iterations`` (those every seed evaluated at),
    ``mean``, ``low`` and ``high`` over seeds, and ``seeds``."""
    runs: Dict[tuple, List[Dict[str, Any]]] = {}
    for r in records:
        if r["row"] == OURS and r.get("curve") and r.get("oracle_reference"):
            runs.setdefault((r["setup"], r["num_users"]), []).append(r)
    out = {}
    for key, recs in runs.items():
        per_seed = [
            {
                int(p["iteration"]): float(p["reward_greedy"]) / float(r["oracle_reference"])
                for p in r["curve"]
                if p.get("reward_greedy") is not None
            }
            for r in recs
        ]
        its = sorted(set.intersection(*(set(s) for s in per_seed)))
        if not its:
            continue
        y = np.array([[s[i] for i in its] for s in per_seed])
        out[key] = dict(
            iterations=its,
            per_seed=y,
            mean=y.mean(axis=0),
            low=y.min(axis=0),
            high=y.max(axis=0),
            seeds=len(recs),
        )
    return out


#: One panel of the curves figure (inches) and the legend's height per row of entries.
CURVE_PANEL_INCHES, CURVE_LEGEND_ROW_INCHES = (3.2, 2.6), 0.2


def plot_curves(
    curves: Dict[Path, Dict[tuple, Dict[str, Any]]],
    labels: Dict[Path, str],
    path: Path,
    goal: float = GOAL_RATIO,
) -> Optional[Path]:
    """Ours' greedy reward / oracle against the training iteration, a panel per (setup, N) that
    any folder trained, a line per folder (mean over seeds, the band from the lowest to the
    highest seed, every seed's evaluation a dot). Nothing is drawn (None) when no folder has a curve."""
    cells = sorted({k for c in curves.values() for k in c})
    if not cells:
        return None
    setups = sorted({s for s, _ in cells})
    sizes = sorted({n for _, n in cells})
    plt = pyplot()
    ncol = 2
    drawn = 1 + sum(1 for c in curves.values() if c)  # the goal's line and a line per folder
    legend_inches = 0.15 + CURVE_LEGEND_ROW_INCHES * math.ceil(drawn / ncol)
    height = CURVE_PANEL_INCHES[1] * len(setups) + legend_inches
    fig, axes = plt.subplots(
        len(setups),
        len(sizes),
        squeeze=False,
        sharey=True,
        figsize=(CURVE_PANEL_INCHES[0] * len(sizes), height),
    )
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, setup in enumerate(setups):
        for j, n in enumerate(sizes):
            ax = axes[i][j]
            ax.set_title(f"setup {setup}, N = {n}", fontsize=9)
            ax.axhline(goal, ls="--", color="grey", lw=1, label=f"goal {goal:g}")
            if not any((setup, n) in cc for cc in curves.values()):
                ax.text(
                    0.5,
                    0.5,
                    "no run of ours\ntrained here",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    fontsize=8,
                    color="grey",
                )
                ax.set_xticks([])
            for k, (folder, cc) in enumerate(curves.items()):
                c = cc.get((setup, n))
                if c is None:
                    continue
                colour = colours[k % len(colours)]
                ax.fill_between(c["iterations"], c["low"], c["high"], color=colour, alpha=0.2, lw=0)
                if "per_seed" in c:  # every seed's evaluation, a dot
                    ax.scatter(
                        [i for _ in c["per_seed"] for i in c["iterations"]],
                        [v for row in c["per_seed"] for v in row],
                        s=2,
                        color=colour,
                        alpha=0.35,
                        lw=0,
                    )
                ax.plot(c["iterations"], c["mean"], color=colour, lw=1.5, label=labels[folder])
            ax.set_ylim(0, 1.05)
            ax.grid(alpha=0.3)
            if i == len(setups) - 1:
                ax.set_xlabel("training iteration (8 episodes)")
            if j == 0:
                ax.set_ylabel("greedy reward / oracle")
    return save_figure(
        fig,
        path,
        legend_axes=[a for row in axes for a in row],
        ncol=ncol,
        bottom=legend_inches / height,
        fontsize=8,
    )
