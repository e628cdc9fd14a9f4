"""The one Table I: every row of the paper, ours and the rows the pruning study found, all their
seeds, in one table, one CSV and one figure of every seed per setup.

``build_one_table(raw_dir, table_path, figures_dir)`` reads the records of one reproduce folder
(``RAW/trials/*.json``, rebuilt into ``RAW/trials.csv`` / ``curves.csv`` as
:func:`report.collect` does) and writes

* ``table_path`` (Markdown): per setup, one line per row in the paper's order, then ours and
  the found rows (:data:`ROW_ORDER`; any other row with records after them): the paper's
  figure, the seeds done of the seeds the budget runs, the best seed's final reward (the
  paper's statistic, as :func:`report.summarize` computes it), the mean ± std over seeds with
  the 95 % t-interval of the mean (:mod:`rllib_experiments.studies.common.statistics`), the
  greedy mean, the sparsity of all actor parameters and the code that made the row's seeds
  (one commit from a clean tree, or the † mark of
  :mod:`rllib_experiments.studies.common.pooling`); a row without records says "not yet run";
* ``table_path`` with the suffix ``.csv``: the same numbers, one line per (setup, row);
* ``figures_dir/table1_seeds_<setup>.png``: every seed's final reward per row (dots), the mean
  with its t-interval, the paper's figure as a marker (:func:`plot_seeds`);
* the Fig. 2 curves of :func:`report.plot_curves` (``training_curves_<setup>.png``).

Conventions kept from :mod:`.report`: a learning row's reward is its ``eval_mode`` evaluation
(stochastic for the paper's rows and the found rows, greedy for ours); a baseline has no
training seed: one evaluation on the same episodes, its ± the std over those episodes. A folder
with only some records (the reruns go on across sessions) gives the table of what is there.

Command line: ``python -m rllib_experiments reproduce --report-only --output FOLDER`` for any
folder but the older reproduction's (:mod:`.outputs`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from rllib_experiments.methods import GROUPS, ROWS, get_row
from rllib_experiments.run.outputs import write_csv_atomic, write_text_atomic
from rllib_experiments.studies.common import pooling
from rllib_experiments.studies.common.figures import pyplot, save_figure
from rllib_experiments.studies.common.formatting import MISSING, ci_text, number_text
from rllib_experiments.studies.common.found_rows import DISPLAY_NAMES, FOUND_ROWS
from rllib_experiments.studies.common.statistics import INTERVAL_TEXT, mean_std_ci
from rllib_experiments.studies.table1 import report
from rllib_experiments.studies.table1.budgets import BUDGETS

#: The rows of the table, in the paper's order, then ours, then the rows the study found.
ROW_ORDER: List[str] = list(GROUPS["table"]) + list(FOUND_ROWS)
#: What a row without a record shows.
NOT_RUN = "not yet run"
#: The file of the figure of every seed of one setup.
SEEDS_FIGURE = "table1_seeds_{setup}.png"
#: The columns of the CSV (one line per setup and row; missing values are empty cells).
CSV_COLUMNS = [
    "setup",
    "row",
    "label",
    "kind",
    "eval_mode",
    "paper",
    "seeds_done",
    "seeds_planned",
    "seeds_missing",
    "best",
    "best_seed",
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "mean_greedy",
    "mean_stochastic",
    "sparsity_all",
    "code",
    "one_clean_commit",
]


def short_key(key: str) -> str:
    """How the table names a row's key: its short name (``search_A_best``) or the key."""
    return DISPLAY_NAMES.get(key, key)


def row_label(key: str) -> str:
    """The row's label: the method's, for a found row its base's with its short name or its
    modifiers in brackets."""
    if key in DISPLAY_NAMES:
        return f"{get_row(key.split('+')[0]).label} [{DISPLAY_NAMES[key]}]"
    try:
        return get_row(key).label
    except ValueError:  # a record of a row this code no longer has
        return key


def planned_seeds(
    runs: List[Dict], trials: List[Dict[str, str]]
) -> Dict[Tuple[str, str], List[int]]:
    """(setup, row) -> the training seeds a learning row is to have: those the logged runs asked
    for it, else the seeds of the records' budget (:data:`BUDGETS`, by name; 10 for "paper")."""
    asked: Dict[Tuple[str, str], set] = {}
    for r in runs:
        for setup in r.get("setups") or []:
            for row in r.get("rows") or []:
                asked.setdefault((setup, row), set()).update(
                    (r.get("budget") or {}).get("seeds") or []
                )
    names = {t["budget"] for t in trials if t.get("budget")}
    default = sorted({s for n in names if n in BUDGETS for s in BUDGETS[n]["seeds"]})
    setups = {t["setup"] for t in trials} | {k[0] for k in asked}
    out = {}
    for setup in setups:
        for row in set(ROW_ORDER) | {t["row"] for t in trials} | {k[1] for k in asked}:
            out[(setup, row)] = sorted(asked.get((setup, row)) or default)
    return out


def seed_ranges(seeds: Sequence[int]) -> str:
    """``0-2, 5, 7-9`` for seeds 0 1 2 5 7 8 9."""
    parts: List[str] = []
    for s in sorted(seeds):
        if parts and s == parts[-1][1] + 1:
            parts[-1][1] = s
        else:
            parts.append([s, s])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)


def table_rows(
    trials: List[Dict[str, str]],
    codes: Dict[Tuple[str, str], List[Dict]],
    marks: Dict[Tuple[str, str], str],
    planned: Dict[Tuple[str, str], List[int]],
    setups: Sequence[str],
) -> List[Dict]:
    """One dict per (setup, row) of the table (the CSV's columns, numbers as numbers, missing
    as None; ``per_seed``: {seed: reward}), the rows of :data:`ROW_ORDER` then any other row
    with records, sorted."""
    summary = report.summarize(trials)
    by_key: Dict[Tuple[str, str], List[Dict[str, str]]] = {}
    for t in trials:
        by_key.setdefault((t["setup"], t["row"]), []).append(t)
    out = []
    for setup in setups:
        rows = summary.get(setup, {})
        keys = ROW_ORDER + sorted(k for k in rows if k not in ROW_ORDER)
        for key in keys:
            out.append(
                _one_row(setup, key, rows.get(key), by_key, codes, marks, planned.get((setup, key)))
            )
    return out


def _one_row(setup, key, s, by_key, codes, marks, planned) -> Dict:
    row_def = ROWS.get(key)
    kind = s["kind"] if s else (row_def.kind if row_def else "learning")
    base = dict(
        setup=setup,
        row=key,
        label=row_label(key),
        kind=kind,
        paper=row_def.paper.get(setup) if row_def else None,
        eval_mode=None,
        seeds_done=0,
        seeds_planned=None,
        seeds_missing=None,
        best=None,
        best_seed=None,
        mean=None,
        std=None,
        ci_low=None,
        ci_high=None,
        mean_greedy=None,
        mean_stochastic=None,
        sparsity_all=None,
        code=None,
        one_clean_commit=None,
        per_seed={},
        code_labels=[],
    )
    if kind == "learning":
        base["seeds_planned"] = len(planned or [])
    if s is None:
        return base
    recs = codes.get((setup, key), [])
    labels = [pooling.code_label(r) for r in recs]
    groups = pooling.label_groups(labels)
    sparsity = [report.as_float(t.get("sparsity_all")) for t in by_key[(setup, key)]]
    base.update(
        eval_mode=s["eval_mode"],
        best=s["best"],
        mean=s["mean"],
        mean_greedy=s["mean_greedy"],
        mean_stochastic=s["mean_stochastic"],
        sparsity_all=None if None in sparsity else sum(sparsity) / len(sparsity),
        code=(groups[0][0] if len(groups) == 1 else pooling.mixed_text(groups)),
        one_clean_commit=pooling.is_one_clean_commit(groups),
        per_seed=dict(s["per_seed"]),
        code_labels=labels,
    )
    if kind == "baseline":
        base.update(std=s["episode_std"], eval_mode=None)
        return base
    stats = mean_std_ci([s["per_seed"][k] for k in sorted(s["per_seed"])])
    lo, hi = stats["ci"]
    planned = sorted(set(planned or s["seeds"]))
    base.update(
        seeds_done=s["n"],
        seeds_planned=len(planned),
        seeds_missing=seed_ranges(sorted(set(planned) - set(s["seeds"]))) or None,
        best_seed=s["best_seed"],
        std=stats["std"],
        ci_low=None if math.isnan(lo) else lo,
        ci_high=None if math.isnan(hi) else hi,
        one_clean_commit=(setup, key) not in marks,
    )
    return base


def _seeds_cell(r: Dict, marked: bool) -> str:
    if r["kind"] == "baseline":
        return "one evaluation" if r["best"] is not None else NOT_RUN
    if r["seeds_done"] == 0:
        return f"{NOT_RUN} (0 of {r['seeds_planned']})"
    text = f"{r['seeds_done']} of {r['seeds_planned']}"
    if r["seeds_missing"]:
        plural = "s" if any(c in r["seeds_missing"] for c in ",-") else ""
        text += f" (partial: seed{plural} {r['seeds_missing']} not yet run)"
    return text + (" †" if marked else "")


def _code_cell(r: Dict, mark: Optional[str]) -> str:
    if r["code"] is None:
        return MISSING
    if mark:
        return f"† {mark}"
    return f"{r['code']}, clean" if r["one_clean_commit"] else r["code"]


def render_one_table(
    rows: List[Dict], runs: List[Dict], marks: Dict[Tuple[str, str], str], figures: str = ""
) -> str:
    """The Markdown of the table (see the module doc); ``rows`` from :func:`table_rows`,
    ``marks`` the † marks of :func:`pooling.check_rows`, ``figures`` the figures' folder as the
    table links it ("" when beside the table)."""
    note = pooling.footnote(
        marks,
        f"python -m rllib_experiments reproduce --report-only --output FOLDER {pooling.ALLOW_FLAG}",
    )
    learning = [r for r in rows if r["kind"] == "learning"]
    done = sum(r["seeds_done"] for r in learning)
    planned = sum(r["seeds_planned"] or 0 for r in learning)
    not_run = sorted({short_key(r["row"]) for r in rows if r["best"] is None})
    code = ", ".join(
        f"{label} ({n} record{'s' if n != 1 else ''})"
        for label, n in pooling.label_groups(c for r in rows for c in r["code_labels"])
    )
    lines = [
        "# Table I: every row on all its seeds",
        "",
        "Generated by `python -m rllib_experiments reproduce --report-only --output FOLDER` from "
        "the records of this folder (`trials/*.json`); do not edit by hand.",
        "",
        f"**Progress**: {done} learning trials done"
        + (f" of {planned} planned" if planned else "")
        + (f"; rows not yet run in some setup: {', '.join(not_run)}" if not_run else "")
        + f". **Code of the records**: {code or MISSING}.",
        "",
        *([note, ""] if note else []),
        *report.run_lines(runs),
        "Columns: **Paper** = the paper's figure (its best seed). **Seeds** = the training "
        "seeds done, of those the budget runs (10 at the paper's budget); a row with fewer "
        "names the seeds not yet run. **Best seed** = the final evaluation reward of the best "
        "training seed (the paper's statistic). **Mean ± std [interval]** over the seeds done: "
        f"the sample std, and the {INTERVAL_TEXT} (mean ± t_(0.975, n-1) s / sqrt(n); none "
        "for one seed). A reward is the mean over the evaluation episodes (the same episodes "
        "for every row) of sum_t sum_n log2(1 + beta^n(t)), evaluated in the row's **eval "
        "mode**: stochastic = actions sampled from the actor's softmax (softmax(Q) for DQN), "
        "greedy = argmax; chosen per row before the runs (stochastic for the paper's rows and "
        "the found rows, greedy for ours). **Greedy mean** = the mean over seeds of the greedy "
        "evaluation (for ours the same as the mean). **Sparsity (all)** = zero fraction of all "
        "the actors' parameters (weights and biases) at the end, mean over seeds. **Code** = "
        "the commit that made the row's records and whether its tree was clean; † = the row "
        "pools seeds of mixed code (listed under the table). Baselines (Slotted Aloha, OCA, "
        "musical chairs, the oracle) do not learn: one evaluation on the same episodes, their "
        "± is the std over those episodes. Found rows: `harmonic+head_dense` (the harmonic row "
        "with the actors' output layer dense) and `search_A_best` (the best configuration of "
        "the pruning search in setup A; `rllib_experiments/studies/common/found_rows.py`).",
        "",
    ]
    for setup in sorted({r["setup"] for r in rows}):
        mine = [r for r in rows if r["setup"] == setup]
        lines += [
            f"## Setup {setup}",
            "",
            f"![every seed per row, setup {setup}]({figures}{SEEDS_FIGURE.format(setup=setup)})",
            "",
            "| Row | Key | Paper | Seeds | Best seed | Mean ± std [95 % t-interval] | "
            "Eval mode | Greedy mean | Sparsity (all) | Code |",
            "|---|---|---:|---|---:|---:|---|---:|---:|---|",
        ]
        for r in mine:
            mark = marks.get((setup, r["row"]))
            if r["best"] is None:
                best = spread = MISSING
            elif r["kind"] == "baseline":
                best = number_text(r["best"], 2)
                spread = f"{number_text(r['mean'], 2)} ± {number_text(r['std'], 2)} (over episodes)"
            else:
                best = f"{number_text(r['best'], 2)} (seed {r['best_seed']})"
                spread = f"{number_text(r['mean'], 2)} (one seed)"
                if r["std"] is not None:
                    interval = ci_text((r["ci_low"], r["ci_high"]), 1)
                    spread = f"{number_text(r['mean'], 2)} ± {number_text(r['std'], 2)} {interval}"
            lines.append(
                f"| {r['label']} | `{short_key(r['row'])}` | {number_text(r['paper'], 2)} | "
                f"{_seeds_cell(r, bool(mark))} | {best} | {spread} | "
                f"{r['eval_mode'] or MISSING} | "
                f"{number_text(r['mean_greedy'], 2) if r['kind'] == 'learning' else MISSING} | "
                f"{number_text(r['sparsity_all'], 3)} | {_code_cell(r, mark)} |"
            )
        lines.append("")
        lines += pooling.mark_lines((r["label"], marks.get((setup, r["row"]))) for r in mine)
    return "\n".join(lines)


def plot_seeds(rows: List[Dict], setup: str, path: Path) -> Path:
    """One setup's figure: a line per row (top: the first row), every seed's final reward a
    dot, the mean over seeds a bar with its t-interval, the paper's figure a red marker; a
    baseline is its one evaluation (a square), a row not yet run is named and left empty."""
    plt = pyplot()
    mine = [r for r in rows if r["setup"] == setup]
    ys = list(range(len(mine), 0, -1))
    height = 0.42 * len(mine) + 1.8
    fig, ax = plt.subplots(figsize=(10, height))
    seeds_x, seeds_y, base_x, base_y, mean_x, mean_y, paper_x, paper_y = ([] for _ in range(8))
    for y, r in zip(ys, mine):
        if r["kind"] == "baseline" and r["best"] is not None:
            base_x.append(r["best"])
            base_y.append(y)
        for seed in sorted(r["per_seed"]):
            if r["kind"] == "learning":
                seeds_x.append(r["per_seed"][seed])
                seeds_y.append(y)
        if r["kind"] == "learning" and r["mean"] is not None:
            mean_x.append(r["mean"])
            mean_y.append(y)
            if r["ci_low"] is not None:
                ax.hlines(y, r["ci_low"], r["ci_high"], color="tab:blue", lw=2.0, alpha=0.6)
        if r["paper"] is not None:
            paper_x.append(r["paper"])
            paper_y.append(y)
    ax.plot(seeds_x, seeds_y, ls="none", marker="o", ms=4, color="0.35", alpha=0.6,
            label="each seed (final reward, eval mode)")  # fmt: skip
    ax.plot(base_x, base_y, ls="none", marker="s", ms=6, color="black",
            label="baseline (one evaluation)")  # fmt: skip
    ax.plot(mean_x, mean_y, ls="none", marker="|", ms=16, mew=2.5, color="tab:blue",
            label="mean over seeds, bar: 95 % t-interval")  # fmt: skip
    ax.plot(paper_x, paper_y, ls="none", marker="D", ms=6, color="tab:red", mfc="none",
            label="the paper's figure (best seed)")  # fmt: skip
    names = [
        short_key(r["row"])
        + (f" ({r['seeds_done']}/{r['seeds_planned']})" if r["kind"] == "learning" else "")
        + (f" {NOT_RUN}" if r["best"] is None else "")
        for r in mine
    ]
    ax.set_yticks(ys)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_ylim(0.4, len(mine) + 0.6)
    ax.set_xlabel("evaluation reward per episode (sum of user rates, paper's unit)")
    ax.set_title(f"Setup {setup}: every seed per row (seeds done / planned)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path, legend_axes=[ax], ncol=2, bottom=0.6 / height)


def csv_rows(rows: List[Dict]) -> List[Dict]:
    """The table's rows as the CSV writes them (:data:`CSV_COLUMNS`)."""
    return [{c: r[c] for c in CSV_COLUMNS} for r in rows]


def build_one_table(raw_dir, table_path, figures_dir, allow_mixed_commits: bool = False):
    """Rebuild the CSVs of the records (:func:`report.collect`), then write the table, its CSV,
    the figures of every seed and the Fig. 2 curves; returns the table's rows. A row whose
    seeds are not of one commit from a clean tree raises :class:`pooling.MixedCodeError` unless
    ``allow_mixed_commits`` (then the table marks it †). ValueError without any record."""
    raw_dir, table_path, figures_dir = Path(raw_dir), Path(table_path), Path(figures_dir)
    report.collect(raw_dir)
    trials = report.read_csv(raw_dir / "trials.csv")
    if not trials:
        raise ValueError(f"no raw results in {raw_dir} (trials.csv or trials/*.json)")
    codes = report.code_of_trials(raw_dir, trials)
    marks = pooling.check_rows(
        codes, allow_mixed_commits, f"Table I of {raw_dir}", lambda key: f"{key[0]} / {key[1]}"
    )
    runs = report.read_runs(raw_dir)
    planned = planned_seeds(runs, trials)
    setups = sorted({t["setup"] for t in trials} | {s for r in runs for s in r.get("setups", [])})
    rows = table_rows(trials, codes, marks, planned, setups)
    link = Path(os.path.relpath(figures_dir.resolve(), table_path.parent.resolve())).as_posix()
    figures_link = "" if link == "." else f"{link}/"
    write_text_atomic(table_path, render_one_table(rows, runs, marks, figures_link))
    write_csv_atomic(table_path.with_suffix(".csv"), CSV_COLUMNS, csv_rows(rows))
    curves = report.read_csv(raw_dir / "curves.csv")
    summary = report.summarize(trials)
    for setup in setups:
        plot_seeds(rows, setup, figures_dir / SEEDS_FIGURE.format(setup=setup))
        if setup in summary:
            report.plot_curves(
                curves, summary, setup, figures_dir / f"training_curves_{setup}.png", list(ROWS)
            )
    return rows
