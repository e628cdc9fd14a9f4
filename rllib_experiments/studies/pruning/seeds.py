"""The paper's statistic on the paper's seeds for the pruning report.

Table I gives the best of 10 seeds per row. :func:`seed_rows` puts that statistic beside the
ones a reader can compare (mean ± std over seeds and the 95 % t-interval of the mean, sampled and
greedy) for a fixed list of rows and seeds, counting only records of those seeds, so a row's
line means the same thing however many other studies ran it on other seeds.
:func:`seed_table_lines` renders them for ``docs/results/pruning.md``; split from
:mod:`rllib_experiments.studies.pruning.report` (which calls it) to keep each module one concern.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from rllib_experiments.methods import ROWS
from rllib_experiments.run.outputs import write_csv_atomic
from rllib_experiments.studies.common.figures import pyplot, save_figure
from rllib_experiments.studies.common.formatting import ci_text, number_text
from rllib_experiments.studies.common import pooling
from rllib_experiments.studies.common.statistics import INTERVAL_TEXT, mean_std_ci


def paper_value(config: str, setup: str) -> Optional[float]:
    """The paper's Table I figure (best of its 10 seeds, sampled actions) of a Table I row in a
    setup; None for a variant or a row the paper does not have."""
    row = ROWS.get(config)
    return row.paper.get(setup) if row is not None else None


def seed_rows(
    summary: List[Dict[str, Any]], rows: Sequence[str], seeds: Sequence[int]
) -> List[Dict[str, Any]]:
    """Per setup of ``summary`` (:func:`rllib_experiments.studies.pruning.report.summarize`) and row of
    ``rows`` with at least one record of ``seeds``: the statistics over those seeds only."""
    by = {(e["setup"], e["config"]): e for e in summary}
    out = []
    for setup in sorted({e["setup"] for e in summary}):
        for config in rows:
            e = by.get((setup, config))
            have = [s for s in seeds if e is not None and s in e["per_seed"]]
            if not have:
                continue
            values = {
                mode: [float(e["per_seed"][s][k]) for s in have]
                for k, mode in enumerate(("sampled", "greedy"))
            }
            sampled, greedy = mean_std_ci(values["sampled"]), mean_std_ci(values["greedy"])
            best = max(have, key=lambda s: e["per_seed"][s][0])
            paper = paper_value(config, setup)
            best_sampled = float(e["per_seed"][best][0])
            out.append(
                {
                    "setup": setup,
                    "config": config,
                    "name": e["name"],
                    "seeds": len(have),
                    "of": len(seeds),
                    "missing": [s for s in seeds if s not in have],
                    "paper": paper,
                    "best_sampled": best_sampled,
                    "best_seed": int(best),
                    "best_to_paper": best_sampled / paper if paper else None,
                    "mean_sampled": sampled["mean"],
                    "std_sampled": sampled["std"],
                    "ci_sampled": sampled["ci"],
                    "mean_greedy": greedy["mean"],
                    "std_greedy": greedy["std"],
                    "ci_greedy": greedy["ci"],
                    "values_sampled": values["sampled"],
                    "values_greedy": values["greedy"],
                    "mark": pooling.row_mark(
                        pooling.label_groups(e["code_by_seed"][s] for s in have)
                    )
                    if "code_by_seed" in e
                    else None,
                }
            )
    return out


def seed_table_lines(
    entries: List[Dict[str, Any]], rows: Sequence[str], seeds: Sequence[int], command: str
) -> List[str]:
    """The Markdown section of :func:`seed_rows`' entries for ``rows`` and ``seeds`` (no entries:
    no lines); until every row has every seed in each setup of the entries, it says how many
    trials are done."""
    if not entries:
        return []
    done = sum(e["seeds"] for e in entries)
    planned = len(seeds) * len(rows) * len({e["setup"] for e in entries})
    status = (
        ""
        if done == planned
        else f" **In progress: {done} of the {planned} trials of these rows are done**; a row "
        "with fewer seeds than the others is not comparable with them yet."
    )
    lines = [
        f"## The paper's statistic on seeds {seeds[0]}-{seeds[-1]}",
        "",
        f"`{command}`: the paper's budget, training seeds {seeds[0]}-{seeds[-1]}, only "
        "records of those seeds. Table I's figure is the best of the paper's 10 seeds; "
        "here it stands beside the best of ours (sampled actions, the paper's mode) and the "
        f"mean ± std and the {INTERVAL_TEXT}, which say how much the best "
        f"seed is luck.{status}",
        "",
        "| setup | configuration | seeds | paper (best) | best (seed) | best / paper "
        "| sampled mean ± std | 95 % t-interval | greedy mean ± std | 95 % t-interval |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        lines.append(
            f"| {e['setup']} | `{e['name']}` | {e['seeds']}{' †' if e.get('mark') else ''} | {number_text(e['paper'], 2)} "
            f"| {number_text(e['best_sampled'], 1)} ({e['best_seed']}) | {number_text(e['best_to_paper'], 3)} "
            f"| {number_text(e['mean_sampled'], 1)} ± {number_text(e['std_sampled'], 1)} | {ci_text(e['ci_sampled'])} "
            f"| {number_text(e['mean_greedy'], 1)} ± {number_text(e['std_greedy'], 1)} | {ci_text(e['ci_greedy'])} |"
        )
    return (
        lines
        + [""]
        + pooling.mark_lines((f"{e['setup']} `{e['name']}`", e.get("mark")) for e in entries)
    )


def plot_seed_rows(entries: List[Dict[str, Any]], setup: str, path) -> bool:
    """Each row's final reward per seed (dots), its mean with the t-interval (bars), sampled and
    greedy side by side, and the paper's Table I figure (a star) for its rows; False (nothing
    written) when the setup has no entries."""
    mine = [e for e in entries if e["setup"] == setup]
    if not mine:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(mine) + 2), 4.2))
    for i, e in enumerate(mine):
        for mode, color, dx in [("sampled", "tab:blue", -0.15), ("greedy", "tab:orange", 0.15)]:
            ys = e[f"values_{mode}"]
            ax.scatter(
                [i + dx] * len(ys),
                ys,
                s=14,
                color=color,
                alpha=0.55,
                zorder=2,
                label=f"{mode}: one seed" if i == 0 else None,
            )
            lo, hi = e[f"ci_{mode}"]
            mean = e[f"mean_{mode}"]
            if lo == lo:  # no interval (NaN) for a single seed
                ax.errorbar(
                    [i + dx + 0.07],
                    [mean],
                    yerr=[[mean - lo], [hi - mean]],
                    fmt="_",
                    color=color,
                    capsize=3,
                    ms=10,
                    zorder=3,
                    label=f"{mode}: mean, 95 % t-interval" if i == 0 else None,
                )
        if e["paper"] is not None:
            ax.scatter(
                [i - 0.15],
                [e["paper"]],
                marker="*",
                s=110,
                color="black",
                zorder=4,
                label="paper's Table I (best of 10 seeds, sampled)"
                if not any(m["paper"] is not None for m in mine[:i])
                else None,
            )
    ax.set_xticks(range(len(mine)))
    ax.set_xticklabels([f"{e['name']}\n({e['seeds']} seeds)" for e in mine], fontsize=7)
    ax.set_ylabel("final reward (100 evaluation episodes)")
    ax.set_title(f"Setup {setup}: Table I's pruning rows, every seed", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    save_figure(fig, path, legend_axes=[ax], ncol=2, bottom=0.16)
    return True


CSV_COLUMNS = [
    "setup",
    "config",
    "seeds",
    "paper",
    "best_sampled",
    "best_seed",
    "best_to_paper",
    "mean_sampled",
    "std_sampled",
    "ci_sampled",
    "mean_greedy",
    "std_greedy",
    "ci_greedy",
    "missing_seeds",
]


def write_csv(path, entries: List[Dict[str, Any]]) -> None:
    """:func:`seed_rows`' entries, one line each (CIs as ``[lo, hi]``, missing seeds as
    ``5 6 7``), written atomically by the reports' one CSV writer."""
    write_csv_atomic(
        Path(path),
        CSV_COLUMNS,
        [
            dict(
                e,
                ci_sampled=ci_text(e["ci_sampled"], missing=""),
                ci_greedy=ci_text(e["ci_greedy"], missing=""),
                missing_seeds=" ".join(map(str, e["missing"])),
            )
            for e in entries
        ],
    )
