"""The Pareto report: reward / oracle against int8 actor bytes per user, per method and setup.

From the pruning study's records of the Pareto rows (:mod:`rllib_experiments.studies.pruning.pareto`:
magnitude pruning, the sparse-from-scratch algorithms, the dense controls of matched width),
:func:`pareto_points` gives one point per (setup, row): the greedy reward over the oracle's on
the same episodes for every seed (``ours`` settings are evaluated greedy), its mean with the
95 % t-interval (:mod:`rllib_experiments.studies.common.statistics`), the mean int8 file bytes
of the trained actors (the records' ``actor_bytes``), the sparsity of all actor parameters and
the CPU seconds of a run (the records' ``wall_s``: one trial on one core). :func:`fronts` keeps
each method's Pareto-optimal points (no other point of the method is both smaller and
better), :func:`verdicts` says which method is ahead at each byte budget and whether the
intervals separate it, :func:`write_csv` and :func:`draw` write the CSV and one figure per
setup, and :func:`build_report` all of it as Markdown. Rows pool only seeds of one commit with
a clean tree unless told otherwise (:mod:`rllib_experiments.studies.common.pooling`).
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from dsa_pettingzoo.files import write_text_atomic
from rllib_experiments.methods.variants import split_key
from rllib_experiments.run.outputs import write_csv_atomic
from rllib_experiments.studies.common.figures import pyplot, save_figure
from rllib_experiments.studies.common.formatting import ci_text, number_text
from rllib_experiments.studies.common.pooling import check_rows
from rllib_experiments.studies.common.statistics import mean_std_ci
from rllib_experiments.studies.pruning import pareto

#: The CSV's columns, in order.
COLUMNS = (
    "setup",
    "method",
    "distribution",
    "sparsity_all_params",
    "width",
    "int8_bytes",
    "seeds",
    "mean_ratio",
    "ci_low",
    "ci_high",
    "per_seed",
    "cpu_s_per_run",
)
#: The methods, in the order of the tables and legends.
METHODS = ("magnitude", *pareto.ALGORITHMS, "dense")
COMMAND = "python -m rllib_experiments pruning_study --pareto-report"


class NoParetoRecords(ValueError):
    """The folder holds no record of a Pareto row."""


def describe(row: str) -> Optional[Dict[str, Any]]:
    """(method, distribution, width) of a Pareto row, or None for a row outside the study."""
    base, mods = split_key(row)
    widths = [int(m[len("width") :]) for m in mods if m.startswith("width")]
    if base == "ours_dense" and widths:
        return {"method": "dense", "distribution": None, "width": widths[0]}
    if base != "ours" or not any(m.startswith("all") for m in mods):
        return None
    method = next((m for m in mods if m in pareto.ALGORITHMS), "magnitude")
    return {
        "method": method,
        "distribution": "erk" if "erk" in mods else "uniform",
        "width": widths[0] if widths else 128,
    }


def pareto_points(
    records: Iterable[Mapping[str, Any]], allow_mixed_commits: bool = False
) -> List[Dict[str, Any]]:
    """One point per (setup, Pareto row) of the learning records (see the module doc), sorted
    by setup, method and bytes. Raises :class:`~rllib_experiments.studies.common.pooling.MixedCodeError`
    for a row of several commits or a dirty tree unless ``allow_mixed_commits``."""
    groups: Dict[tuple, List[Mapping[str, Any]]] = defaultdict(list)
    for rec in records:
        if rec.get("kind") == "learning" and describe(rec["row"]) is not None:
            groups[(rec["setup"], rec["row"])].append(rec)
    marks = check_rows(
        groups, allow_mixed_commits, "the Pareto report", name=lambda k: f"{k[0]} / {k[1]}"
    )
    points = []
    for (setup, row), recs in groups.items():
        recs = sorted(recs, key=lambda r: r["seed"])
        ratios = [r["final_greedy"] / r["oracle_reference"] for r in recs]
        stats = mean_std_ci(ratios)
        sizes = [r["actor_bytes"]["int8"] for r in recs if r.get("actor_bytes")]
        walls = [r["wall_s"] for r in recs if r.get("wall_s")]
        points.append(
            {
                "setup": setup,
                "row": row,
                **describe(row),
                "sparsity_all_params": sum(r["sparsity_all"] for r in recs) / len(recs),
                "int8_bytes": sum(sizes) / len(sizes) if sizes else None,
                "seeds": [r["seed"] for r in recs],
                "mean_ratio": stats["mean"],
                "ci": stats["ci"],
                "per_seed": ratios,
                "cpu_s_per_run": sum(walls) / len(walls) if walls else None,
                "mark": marks.get((setup, row)),
            }
        )
    order = {m: i for i, m in enumerate(METHODS)}
    return sorted(
        points, key=lambda p: (p["setup"], order[p["method"]], p["int8_bytes"] or 0, p["row"])
    )


def fronts(points: Sequence[Mapping[str, Any]]) -> Dict[tuple, List[Mapping[str, Any]]]:
    """(setup, method) -> its Pareto-optimal points by increasing bytes: no other point of the
    method is at most as large and better on the mean (ties in both keep the first)."""
    out: Dict[tuple, List[Mapping[str, Any]]] = defaultdict(list)
    by_method: Dict[tuple, List[Mapping[str, Any]]] = defaultdict(list)
    for p in points:
        if p["int8_bytes"] is not None:
            by_method[(p["setup"], p["method"])].append(p)
    for key, ps in by_method.items():
        best = None
        for p in sorted(ps, key=lambda p: (p["int8_bytes"], -p["mean_ratio"])):
            if best is None or p["mean_ratio"] > best:
                out[key].append(p)
                best = p["mean_ratio"]
    return dict(out)


def verdicts(points: Sequence[Mapping[str, Any]]) -> List[str]:
    """One line per (setup, byte budget of a magnitude point): the best mean among the points
    of every method at most that size, and whether its interval lies above the runner-up's."""
    lines = []
    for setup in sorted({p["setup"] for p in points}):
        mine = [p for p in points if p["setup"] == setup and p["int8_bytes"] is not None]
        budgets = sorted({p["int8_bytes"] for p in mine if p["method"] == "magnitude"})
        for budget in budgets:
            best: Dict[str, Mapping[str, Any]] = {}
            for p in mine:
                if p["int8_bytes"] <= budget * 1.05:  # the matched dense width lands within 5 %
                    if p["method"] not in best or p["mean_ratio"] > best[p["method"]]["mean_ratio"]:
                        best[p["method"]] = p
            ranked = sorted(best.values(), key=lambda p: -p["mean_ratio"])
            if not ranked:
                continue
            top = ranked[0]
            line = (
                f"{setup}, up to {number_text(budget, 0)} B: {top['method']} "
                f"({number_text(top['mean_ratio'], 3)} of the oracle"
            )
            if len(ranked) > 1:
                second = ranked[1]
                apart = top["ci"][0] > second["ci"][1]  # False where either has no interval (NaN)
                line += f"; next {second['method']} {number_text(second['mean_ratio'], 3)}: " + (
                    "the intervals do not overlap" if apart else "within the intervals"
                )
            lines.append(line + ")")
    return lines


def csv_rows(points: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The CSV's rows (:data:`COLUMNS`)."""
    return [
        {
            "setup": p["setup"],
            "method": p["method"],
            "distribution": p["distribution"] or "",
            "sparsity_all_params": f"{p['sparsity_all_params']:.4f}",
            "width": p["width"],
            "int8_bytes": number_text(p["int8_bytes"], 0) if p["int8_bytes"] is not None else "",
            "seeds": len(p["seeds"]),
            "mean_ratio": f"{p['mean_ratio']:.4f}",
            "ci_low": "" if math.isnan(p["ci"][0]) else f"{p['ci'][0]:.4f}",
            "ci_high": "" if math.isnan(p["ci"][1]) else f"{p['ci'][1]:.4f}",
            "per_seed": json.dumps([round(r, 4) for r in p["per_seed"]]),
            "cpu_s_per_run": number_text(p["cpu_s_per_run"], 0),
        }
        for p in points
    ]


def write_csv(points: Sequence[Mapping[str, Any]], path) -> Path:
    write_csv_atomic(Path(path), COLUMNS, csv_rows(points), lineterminator="\n")
    return Path(path)


def draw(points: Sequence[Mapping[str, Any]], setup: str, path) -> Path:
    """Reward / oracle against int8 bytes per user (log scale) for one setup: every seed a dot,
    each method's mean with its interval, its Pareto front as a line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    front = fronts(points)
    for i, method in enumerate(METHODS):
        ps = [p for p in points if p["setup"] == setup and p["method"] == method]
        ps = [p for p in ps if p["int8_bytes"] is not None]
        if not ps:
            continue
        colour = f"C{i}"
        for p in ps:
            ax.scatter([p["int8_bytes"]] * len(p["per_seed"]), p["per_seed"], s=8, alpha=0.35,
                       color=colour)  # fmt: skip
            lo, hi = p["ci"]
            if not math.isnan(lo):  # an interval (2 seeds or more)
                ax.vlines(p["int8_bytes"], lo, hi, color=colour, linewidth=1)
        line = front.get((setup, method), [])
        ax.plot([p["int8_bytes"] for p in line], [p["mean_ratio"] for p in line], "-o",
                color=colour, markersize=4, label=method)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("int8 actor file per user (bytes, log scale)")
    ax.set_ylabel("greedy reward / oracle")
    ax.set_title(f"Setup {setup}: sparse actors and small dense ones")
    ax.grid(alpha=0.3)
    return save_figure(fig, path, legend_axes=[ax], ncol=len(METHODS), bottom=0.08)


def table(points: Sequence[Mapping[str, Any]]) -> List[str]:
    """The Markdown table of every point."""
    lines = [
        "| setup | method | distribution | sparsity of all params | width | int8 bytes | seeds "
        "| reward / oracle, mean [95 % t-interval] | CPU s / run |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        lines.append(
            f"| {p['setup']} | {p['method']}{' ' + p['mark'] if p['mark'] else ''} | "
            f"{p['distribution'] or '-'} | {p['sparsity_all_params']:.3f} | {p['width']} | "
            f"{number_text(p['int8_bytes'], 0)} | {len(p['seeds'])} | "
            f"{number_text(p['mean_ratio'], 3)} {ci_text(p['ci'], 3)} | "
            f"{number_text(p['cpu_s_per_run'], 0)} |"
        )
    return lines


def build_report(
    records: Iterable[Mapping[str, Any]],
    markdown,
    csv_path,
    figures,
    allow_mixed_commits: bool = False,
) -> List[Dict[str, Any]]:
    """Write the report (Markdown, CSV, ``figures/pareto_<setup>.png``); returns the points."""
    points = pareto_points(records, allow_mixed_commits)
    if not points:
        raise NoParetoRecords("no record of a Pareto row (pruning_study --study pareto)")
    setups = sorted({p["setup"] for p in points})
    write_csv(points, csv_path)
    pictures = [draw(points, s, Path(figures) / f"pareto_{s}.png") for s in setups]
    rel = [Path(os.path.relpath(p, Path(markdown).parent)) for p in pictures]
    text = [
        "# Pruning or a small dense actor? Reward against int8 bytes",
        "",
        f"Generated by `{COMMAND}` from the pruning study's records "
        "(`pruning_study --study pareto --setups A C`, `--study pareto_distribution`); CSV: "
        f"`{Path(csv_path).name}`. Reward: greedy, over the oracle's on the same 100 episodes; "
        "every seed is a dot in the figures; intervals: 95 % t-intervals of the mean over seeds.",
        "",
        "## At each byte budget",
        "",
        *(f"- {line}" for line in verdicts(points)),
        "",
        "## Every point",
        "",
        *table(points),
        "",
        *(f"![{s}]({r.as_posix()})" for s, r in zip(setups, rel)),
        "",
    ]
    Path(markdown).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(markdown, "\n".join(text))
    return points
