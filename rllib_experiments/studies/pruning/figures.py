"""Figures of the pruning study (:mod:`rllib_experiments.studies.pruning.report` calls :func:`plot_all`).

Per setup:

* ``pruning_reward_sparsity_<setup>.png``: final reward (mean ± std over seeds and every
  seed's value as a dot; greedy and sampled in two panels) against the sparsity of all actor parameters on a log scale of the
  share kept, one colour per schedule, one marker per prune scope;
* ``pruning_pareto_<setup>.png``: greedy reward (mean over seeds, every seed a grey dot)
  against the exported actor's bytes (float32 and int8 files), with the Pareto front (no configuration both smaller and better);
* ``pruning_entropy_<setup>.png``: the policy entropy per iteration (mean over seeds and
  users) of the harmonic row and its scope variants, with the scheduled and the actual
  sparsity below it: what each pruning event does to the policy;
* ``pruning_entropy_timing_<setup>.png`` and ``pruning_entropy_shape_<setup>.png``: the same
  for the ``mechanics`` study, when masks apply (regrow or hold, i_prune) and the harmonic
  schedule's amplitude and period.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import numpy as np

from rllib_experiments.studies.common.figures import pyplot, save_figure

SCOPE_MARKERS = {
    "": "*",
    "all": "o",
    "head_dense": "s",
    "input_dense": "^",
    "io_dense": "D",
    "lstm_only": "v",
}
#: The entropy figures: file name part, title, and the configurations drawn (those run, in
#: this order; a figure needs two of them).
ENTROPY_FIGURES = (
    (
        "entropy",
        "entropy across pruning events",
        (
            "harmonic",
            "harmonic+head_dense",
            "harmonic+io_dense",
            "harmonic+lstm_only",
            "harmonic+hold",
            "dense",
        ),
    ),
    (
        "entropy_timing",
        "entropy when masks apply (regrow or hold, i_prune)",
        ("harmonic", "harmonic+hold", "harmonic+iprune1", "harmonic+iprune20"),
    ),
    (
        "entropy_shape",
        "entropy against the harmonic amplitude and period",
        (
            "harmonic",
            "harmonic+amp0",
            "harmonic+amp0.2",
            "harmonic+period0.1",
            "harmonic+period0.5",
        ),
    ),
)


#: Sparsity ticks of the reward-against-sparsity figure (drawn at 1 - sparsity, log scale).
SPARSITY_TICKS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998)


def _spread(xs: List[float], width: float = 0.035) -> List[float]:
    """Horizontal offsets (in log10 units) that spread points of equal x side by side."""
    out, groups = [0.0] * len(xs), {}
    for i, x in enumerate(xs):
        groups.setdefault(round(float(np.log10(x)), 2), []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        gaps = len(members) - 1
        span = width * min(gaps, 4)  # at most 4 widths, however many points share the x
        for j, i in enumerate(members):
            out[i] = (j / gaps - 0.5) * span
    return out


def plot_reward_sparsity(summary: List[Dict[str, Any]], setup: str, path: Path) -> bool:
    """Greedy and sampled reward (two panels) against the share of actor parameters kept.

    The x axis is 1 - sparsity of all actor parameters on a log scale, labelled in sparsity,
    so that 0.95, 0.98, 0.99 and 0.995 sit apart; configurations of equal sparsity are drawn
    side by side. Colour: schedule; marker: prune scope. At each sparsity the best
    configuration of the panel is named (every configuration is in the tables above the figure).
    """
    entries = sorted(
        (e for e in summary if e["setup"] == setup),
        key=lambda e: (e["sparsity_all_params"], e["config"]),
    )
    if not entries:
        return False
    plt = pyplot()
    schedules = sorted({e["schedule"] for e in entries})
    colors = {s: plt.get_cmap("tab10")(k) for k, s in enumerate(schedules)}
    kept = [max(1.0 - e["sparsity_all_params"], 1e-3) for e in entries]
    offsets = _spread(kept)
    # The named sparsity level nearest each entry (where its name may be written).
    levels = [min(SPARSITY_TICKS, key=lambda t: abs(np.log(1.0 - t) - np.log(x0))) for x0 in kept]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.6), sharey=True)
    oracle = [e["oracle_mean"] for e in entries if e.get("oracle_mean")]
    for ax, mode in zip(axes, ("greedy", "sampled")):
        best = {}
        for e, x0, dx, level in zip(entries, kept, offsets, levels):
            x = x0 * 10**dx
            y = e[f"mean_{mode}"]
            ax.errorbar(
                [x],
                [y],
                yerr=[e[f"std_{mode}"] or 0.0],
                fmt=SCOPE_MARKERS.get(e["scope"], "o"),
                color=colors[e["schedule"]],
                ms=7,
                capsize=2,
                lw=1,
            )
            seeds = [v[0 if mode == "sampled" else 1] for v in e["per_seed"].values()]
            ax.scatter(  # every seed's value beside the mean
                [x] * len(seeds),
                seeds,
                s=6,
                color=colors[e["schedule"]],
                alpha=0.45,
                lw=0,
                zorder=1,
                label="one seed" if ax is axes[0] and e is entries[0] else None,
            )
            if level not in best or y > best[level][1]:
                best[level] = (x, y, e["name"])
        for x, y, name in best.values():
            ax.annotate(
                name,
                (x, y),
                fontsize=6.5,
                xytext=(0, 9),
                textcoords="offset points",
                ha="center",
                rotation=12,
            )
        if oracle:
            ax.axhline(
                np.mean(oracle),
                color="black",
                lw=1,
                label=f"oracle {np.mean(oracle):.0f}" if mode == "greedy" else None,
            )
        ax.set_xscale("log")
        ticks = [1.0 - t for t in SPARSITY_TICKS if min(kept) * 0.7 <= 1.0 - t <= 1.0]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{1.0 - t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlim(max(kept) * 1.6, min(kept) / 1.6)  # sparser to the right
        ax.set_xlabel("sparsity of all actor parameters (log scale of the share kept)")
        ax.set_title(f"{mode} actions", fontsize=10)
        ax.grid(alpha=0.3)
    lo, hi = axes[0].get_ylim()
    axes[0].set_ylim(lo, hi + 0.08 * (hi - lo))  # room for the names above the points
    axes[0].set_ylabel("final evaluation reward per episode (mean ± std over seeds)")
    for s in schedules:
        axes[0].plot([], [], "o", color=colors[s], label=f"schedule {s}")
    for scope, m in SCOPE_MARKERS.items():
        if any(e["scope"] == scope for e in entries):
            axes[0].plot([], [], m, color="gray", label=f"scope {scope or 'dense'}")
    fig.suptitle(
        f"Setup {setup}: reward against sparsity, per schedule and prune scope "
        "(named: the best at each sparsity)",
        fontsize=10,
    )
    save_figure(fig, path, legend_axes=[axes[0]], ncol=6, bottom=0.08)
    return True


def pareto_front(points):
    """Indices of the points (bytes, reward) no other point beats on both (fewer bytes, more reward)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -np.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


#: Where the Pareto figure's names sit, in points from their marker (cycled bottom to top).
PARETO_LABEL_OFFSETS = ((12, -12), (12, 12), (22, -24), (22, 24))


def plot_pareto(summary: List[Dict[str, Any]], setup: str, path: Path) -> bool:
    entries = [e for e in summary if e["setup"] == setup and e.get("bytes_float32")]
    if not entries:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 6.5))
    named = set()
    for dtype, marker in (("float32", "o"), ("int8", "s")):
        mine = [e for e in entries if e.get(f"bytes_{dtype}")]
        pts = [(e[f"bytes_{dtype}"], e["mean_greedy"]) for e in mine]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=f"{dtype} file")
        ax.scatter(  # every seed's greedy reward under its configuration's mean
            [e[f"bytes_{dtype}"] for e in mine for _ in e["per_seed"]],
            [v[1] for e in mine for v in e["per_seed"].values()],
            marker=".",
            s=8,
            color="grey",
            alpha=0.4,
            zorder=1,
            label="one seed (greedy)" if dtype == "float32" else None,
        )
        front = pareto_front(pts)
        ax.plot(
            [pts[i][0] for i in front],
            [pts[i][1] for i in front],
            lw=1,
            ls="--",
            label=f"Pareto front ({dtype})",
        )
        named |= {mine[i]["config"] for i in front}
    # a configuration on either front is named once, at its float32 point (its int8 point is
    # level with it, to the left). A lead line joins each name to its point, so that a name
    # never reads as its neighbour's; offsets cycle so that near-equal rewards do not overprint
    named_entries = sorted(
        (e for e in entries if e["config"] in named), key=lambda e: e["mean_greedy"]
    )
    for k, e in enumerate(named_entries):
        ax.annotate(
            e["name"],
            (e["bytes_float32"], e["mean_greedy"]),
            fontsize=7,
            xytext=PARETO_LABEL_OFFSETS[k % len(PARETO_LABEL_OFFSETS)],
            textcoords="offset points",
            va="center",
            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.6),
            arrowprops=dict(
                arrowstyle="-", lw=0.6, color="0.35", shrinkA=0, shrinkB=3, relpos=(0, 0.5)
            ),
        )
    ax.set_xscale("log")
    ax.margins(x=0.12, y=0.08)  # room for the rightmost and the topmost name
    ax.set_xlabel("exported actor file per user, bytes (log scale)")
    ax.set_ylabel("final greedy evaluation reward (mean over seeds)")
    ax.set_title(
        f"Setup {setup}: reward against actor size (named: the configurations on a front)",
        fontsize=10,
    )
    ax.grid(alpha=0.3, which="both")
    save_figure(fig, path, legend_axes=[ax], ncol=4, bottom=0.08)
    return True


def _mean_trace(records, setup, config, column):
    runs = [
        r["trace"][column]
        for r in records
        if r["setup"] == setup and r["row"] == config and r.get("trace")
    ]
    if not runs:
        return None, 0
    n = min(len(t) for t in runs)
    arr = np.array([[np.nan if v is None else v for v in t[:n]] for t in runs], float)
    return np.nanmean(arr, axis=0), len(runs)


def _same_traces(traces: List[np.ndarray]) -> bool:
    n = min(len(t) for t in traces)
    return all(np.allclose(t[:n], traces[0][:n], equal_nan=True) for t in traces[1:])


def plot_entropy(
    records: List[Dict[str, Any]],
    setup: str,
    path: Path,
    configs=ENTROPY_FIGURES[0][2],
    title: str = ENTROPY_FIGURES[0][1],
) -> bool:
    """Entropy per iteration (top) and the pruned matrices' sparsity (bottom) of ``configs``.

    Below, each configuration's actual sparsity is drawn thin in its colour; the scheduled
    sparsity is one black dashed line when every configuration shares it, else one dashed
    line per configuration in its colour.
    """
    configs = [
        c
        for c in configs
        if any(r["setup"] == setup and r["row"] == c and r.get("trace") for r in records)
    ]
    if len(configs) < 2:
        return False
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 7.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    colors = {config: plt.get_cmap("tab10")(k) for k, config in enumerate(configs)}
    targets = {}
    for config in configs:
        ent, n = _mean_trace(records, setup, config, "entropy")
        top.plot(
            np.arange(1, len(ent) + 1),
            ent,
            color=colors[config],
            lw=1.2,
            label=f"{config} ({n} seed{'' if n == 1 else 's'})",
        )
        if config == "dense":
            continue
        actual, _ = _mean_trace(records, setup, config, "mean_sparsity")
        bottom.plot(np.arange(1, len(actual) + 1), actual, color=colors[config], lw=0.8, alpha=0.6)
        target, _ = _mean_trace(records, setup, config, "mean_target_sparsity")
        if target is not None:
            targets[config] = target
    if targets and _same_traces(list(targets.values())):
        target = next(iter(targets.values()))
        bottom.plot(
            np.arange(1, len(target) + 1),
            target,
            color="black",
            ls="--",
            lw=1,
            label="scheduled sparsity",
        )
    elif targets:
        for config, target in targets.items():
            bottom.plot(
                np.arange(1, len(target) + 1), target, color=colors[config], ls="--", lw=1.2
            )
        bottom.plot([], [], color="black", ls="--", lw=1.2, label="scheduled sparsity (dashed)")
    top.axhline(np.log(6), color="gray", ls=":", lw=1, label="uniform over 6 actions (ln 6)")
    top.set_ylabel("policy entropy (nats, mean over users and seeds)")
    bottom.set_ylabel("sparsity of the\npruned matrices")
    bottom.set_xlabel("training iteration (one episode each for the paper's rows)")
    top.set_title(f"Setup {setup}: policy {title}", fontsize=10)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    save_figure(fig, path, legend_axes=[top, bottom], ncol=3, bottom=0.1)
    return True


def plot_all(records, summary, figures_dir: Path) -> Dict[str, str]:
    """Every figure that has data; returns title -> path."""
    out = {}
    for setup in sorted({e["setup"] for e in summary}):
        figures = [
            (
                f"Setup {setup}: reward against sparsity",
                "reward_sparsity",
                lambda path: plot_reward_sparsity(summary, setup, path),
            ),
            (
                f"Setup {setup}: reward against actor bytes (Pareto front)",
                "pareto",
                lambda path: plot_pareto(summary, setup, path),
            ),
        ]
        figures += [
            (
                f"Setup {setup}: {title}",
                name,
                lambda path, configs=configs, title=title: plot_entropy(
                    records, setup, path, configs, title
                ),
            )
            for name, title, configs in ENTROPY_FIGURES
        ]
        for title, name, draw in figures:
            path = Path(figures_dir) / f"pruning_{name}_{setup}.png"
            if draw(path):
                out[title] = str(path)
    return out
