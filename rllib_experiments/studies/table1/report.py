"""Table I and Fig. 2 from the reproduction's raw results.

``build_report(raw_dir, table_path, figures_dir)``:

1. rebuilds ``RAW/trials.csv`` (one row per trial: final evaluation reward, its
   std over the evaluation episodes, sparsity, budget, wall time) and
   ``RAW/curves.csv`` (one row per evaluation point) from ``RAW/trials/*.json``
   when that folder exists (the CSVs alone are enough otherwise);
2. from the CSVs only, writes the Markdown table (per setup and row: the best
   seed's final reward, the paper's statistic; mean ± std over seeds; the paper's
   value; ratios to the oracle row on the same evaluation episodes; sparsity of
   the prunable weights; episodes trained) and the Fig. 2 curves
   ``training_curves_<setup>.png`` (mean evaluation reward over seeds at every evaluation
   point, shaded ± std over seeds, every seed's evaluation a small dot, one line per learning
   row, baselines as horizontal lines).

Command line: ``python -m rllib_experiments reproduce --report-only`` (docs/results.md). This
layout is the first reproduction's (``docs/results/raw``); every other folder gets the one
Table I of :mod:`.one_table`, which reuses the collection and summaries here.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from rllib_experiments.methods import ROWS
from rllib_experiments.run.outputs import REPRODUCE_LOG, write_csv_atomic, write_text_atomic
from rllib_experiments.studies.common import pooling
from rllib_experiments.studies.common.figures import pyplot, save_figure
from rllib_experiments.studies.common.formatting import MISSING, ci_text, number_text
from rllib_experiments.studies.common.statistics import (
    PAIRED_INTERVAL_TEXT,
    mean_std,
    paired_difference,
)
from rllib_experiments.studies.common.records import load_records

TRIAL_COLUMNS = [
    "setup",
    "row",
    "label",
    "seed",
    "kind",
    "budget",
    "iterations",
    "episodes_trained",
    "eval_mode",
    "eval_episodes",
    "final_reward",
    "final_reward_std",
    "final_stochastic",
    "final_greedy",
    "sparsity_prunable",
    "sparsity_all",
    "num_params_per_actor",
    "bias_only_stochastic",
    "bias_only_greedy",
    "wall_s",
    "finished_at",
]
CURVE_COLUMNS = [
    "setup",
    "row",
    "seed",
    "iteration",
    "episodes",
    "reward",
    "reward_stochastic",
    "reward_greedy",
    "sparsity_prunable",
    "wall_s",
]


def collect(raw_dir: Path) -> None:
    """RAW/trials/*.json -> RAW/trials.csv and RAW/curves.csv (sorted, atomic)."""
    raw_dir = Path(raw_dir)
    files = sorted((raw_dir / "trials").glob("*.json"))
    if not files:
        return
    trials, curves = [], []
    for rec in load_records(files):
        trials.append(rec)
        for point in rec.get("curve", []):
            curves.append({**point, "setup": rec["setup"], "row": rec["row"], "seed": rec["seed"]})
    key = lambda r: (r["setup"], r["row"], int(r["seed"]))
    trials.sort(key=key)
    curves.sort(key=lambda r: (*key(r), int(r["iteration"])))
    write_csv_atomic(raw_dir / "trials.csv", TRIAL_COLUMNS, trials)
    write_csv_atomic(raw_dir / "curves.csv", CURVE_COLUMNS, curves)


def read_csv(path: Path) -> List[Dict[str, str]]:
    """The rows of a CSV as dicts of strings (none when the file is absent)."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def as_float(x) -> Optional[float]:
    """A CSV cell as a float; None for an empty, non-numeric or NaN cell."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def summarize(trials: List[Dict[str, str]]) -> Dict[str, Dict[str, Dict]]:
    """{setup: {row: {best, best_seed, mean, std, n, sparsity, episodes, ...}}}."""
    out: Dict[str, Dict[str, Dict]] = {}
    for t in trials:
        out.setdefault(t["setup"], {}).setdefault(t["row"], []).append(t)
    summary: Dict[str, Dict[str, Dict]] = {}
    for setup, rows in out.items():
        summary[setup] = {}
        for row, ts in rows.items():
            rewards = [as_float(t["final_reward"]) for t in ts]
            best = max(range(len(ts)), key=lambda i: rewards[i])
            mean, std = mean_std(rewards)
            sp = [
                as_float(t["sparsity_prunable"])
                for t in ts
                if as_float(t["sparsity_prunable"]) is not None
            ]
            modes = {}
            for mode in ("stochastic", "greedy"):
                vals = [as_float(t.get(f"final_{mode}")) for t in ts]
                modes[mode] = sum(vals) / len(vals) if vals and None not in vals else None
            summary[setup][row] = dict(
                kind=ts[0]["kind"],
                label=ts[0]["label"],
                best=rewards[best],
                eval_mode=ts[0].get("eval_mode") or "stochastic",
                mean_stochastic=modes["stochastic"],
                mean_greedy=modes["greedy"],
                best_seed=int(ts[best]["seed"]),
                mean=mean,
                std=std,
                n=len(ts),
                per_seed={int(t["seed"]): r for t, r in zip(ts, rewards)},
                seeds=sorted(int(t["seed"]) for t in ts),
                episode_std=as_float(ts[0]["final_reward_std"]),
                sparsity=(sum(sp) / len(sp)) if sp else None,
                sparsity_all=as_float(ts[0]["sparsity_all"]),
                episodes=int(float(ts[0]["episodes_trained"] or 0)),
                iterations=int(float(ts[0]["iterations"] or 0)),
                eval_episodes=int(float(ts[0]["eval_episodes"])),
                wall_s=sum(as_float(t["wall_s"]) or 0.0 for t in ts),
                budget=ts[0]["budget"],
            )
    return summary


def render_table(
    summary,
    runs: List[Dict],
    row_order: Sequence[str],
    marks: Optional[Dict[tuple, str]] = None,
) -> str:
    """Markdown of Table I (see the module doc); ``marks``: (setup, row) -> the mark of a row
    that pools seeds of mixed code (:func:`pooling.check_rows`)."""
    marks = marks or {}
    note = pooling.footnote(
        marks, f"python -m rllib_experiments reproduce --report-only {pooling.ALLOW_FLAG}"
    )
    lines = [
        "# Table I, reproduced",
        "",
        "Generated by `python -m rllib_experiments reproduce` (or `--report-only`) from the raw "
        "results next to this file (`raw/trials.csv`, `raw/curves.csv`); do not edit by hand. "
        "Discussion: [../results.md](../results.md).",
        "",
        *([note, ""] if note else []),
    ]
    lines += run_lines(runs)
    lines += [
        "Columns: **best seed** = final evaluation reward of the best training seed (the paper's "
        "statistic); **mean ± std** over training seeds (sample std); rewards are the mean over the "
        "evaluation episodes (the same episodes for every row) of sum_t sum_n log2(1 + beta^n(t)). "
        "Non-learning rows have no training seed: their ± is the std over evaluation episodes. "
        "**Eval mode**: how the row's actors act in evaluation: stochastic = actions sampled from "
        "the actor's softmax (softmax(Q) for DQN), greedy = argmax; chosen per row before the runs "
        "(stochastic for every paper row, greedy for ours); the means of both modes are shown. "
        "**/ oracle** divides by the oracle row of the same table. **sparsity** = zero fraction of "
        "the actors' prunable weights (weight matrices; biases stay dense) at the end.",
        "",
    ]
    expected: Dict[tuple, set] = {}  # (setup, row) -> seeds some run asked for
    for r in runs:
        for setup_ in r.get("setups") or []:
            for row_ in r.get("rows") or []:
                expected.setdefault((setup_, row_), set()).update(
                    (r.get("budget") or {}).get("seeds") or []
                )
    for setup in sorted(summary):
        rows = summary[setup]
        oracle = rows.get("oracle", {}).get("best")
        paper_env = next(iter(rows.values()))["budget"] != "smoke"  # smoke runs a tiny system
        lines += [
            f"## Setup {setup}",
            "",
            "| Row | Paper (best seed) | Best seed | Mean ± std | Seeds | Best / oracle | "
            "Mean / oracle | Paper / oracle | Eval mode | Mean stochastic / greedy | Sparsity | "
            "Episodes trained | Trial time (s, sum) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
        ]
        for key in row_order:
            if key not in rows or _group(key) != "table":
                continue
            s = rows[key]
            ratio = lambda v: number_text(v / oracle, 3) if (oracle and v is not None) else MISSING
            paper = ROWS[key].paper.get(setup) if key in ROWS else None
            paper_ratio = ratio(paper) if paper_env else MISSING
            if s["kind"] == "baseline":
                best, seeds = number_text(s["best"], 2), MISSING
                spread = (
                    f"{number_text(s['mean'], 2)} ± {number_text(s['episode_std'], 2)} (episodes)"
                )
            else:
                best = f"{number_text(s['best'], 2)} (seed {s['best_seed']})"
                spread = f"{number_text(s['mean'], 2)} ± {number_text(s['std'], 2)}"
                asked = expected.get((setup, key), set())
                missing = sorted(asked - set(s["seeds"]))
                seeds = (
                    str(s["n"])
                    + (
                        f" (partial: seed{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(map(str, missing))} not run)"
                        if missing
                        else ""
                    )
                    + (" †" if (setup, key) in marks else "")
                )
            lines.append(
                f"| {s['label']} | {number_text(paper, 2)} | {best} | {spread} | {seeds} | {ratio(s['best'])} | "
                f"{ratio(s['mean']) if s['kind'] == 'learning' else MISSING} | {paper_ratio} | "
                f"{s['eval_mode'] if s['kind'] == 'learning' else MISSING} | "
                f"{number_text(s['mean_stochastic'], 2)} / {number_text(s['mean_greedy'], 2)} | "
                f"{number_text(s['sparsity'], 3)} | "
                f"{s['episodes'] if s['kind'] == 'learning' else MISSING} | {s['wall_s']:.0f} |"
            )
        lines.append("")
        lines += pooling.mark_lines(
            (rows[k]["label"], marks.get((setup, k)))
            for k in row_order
            if k in rows and _group(k) == "table"
        )
        lines += render_ablation(rows, row_order, setup, marks)
    lines += [
        "Figures: [training_curves_A.png](../figures/training_curves_A.png), "
        "[training_curves_B.png](../figures/training_curves_B.png) (Fig. 2), "
        "[sparsity_schedules.png](../figures/sparsity_schedules.png) (Fig. 1, "
        "`python -m rllib_experiments reproduce --report-only` writes it when absent).",
        "",
    ]
    return "\n".join(lines)


def run_lines(runs: List[Dict]) -> List[str]:
    """The "Runs" section of a table: one line per logged run of ``RAW/runs.jsonl`` (none, no
    section)."""
    if not runs:
        return []
    lines = ["## Runs", ""]
    for r in runs:
        b = r.get("budget", {})
        lines.append(
            f"- `{r['command']}`: budget **{b.get('name')}** ({b.get('iterations')} "
            f"iterations per trial of a paper row (ours and its ablations: see Episodes trained), "
            f"seeds {b.get('seeds')}, "
            f"{b.get('eval_episodes')} "
            f"evaluation episodes), {r.get('trials_run')} trials finished, "
            f"{r.get('unfinished', 0)} interrupted, {len(r.get('failed') or [])} failed, wall time {r.get('wall_s', 0) / 60:.1f} min, "
            f"finished {r.get('finished_at')}, machine {r.get('machine')}"
        )
    return lines + [""]


def read_runs(raw_dir: Path) -> List[Dict]:
    """The runs logged in ``RAW/runs.jsonl`` (none when it is absent)."""
    path = Path(raw_dir) / REPRODUCE_LOG
    if not path.is_file():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _group(key: str) -> str:
    return ROWS[key].group if key in ROWS else "table"


def render_ablation(
    rows: Dict[str, Dict],
    row_order: Sequence[str],
    setup: str,
    marks: Optional[Dict[tuple, str]] = None,
) -> List[str]:
    """Markdown lines of the ablation of ours for one setup (empty without ablation results);
    ``marks`` as :func:`render_table`'s."""
    marks = marks or {}
    keys = [k for k in row_order if k in rows and _group(k) == "ablation"]
    ours = rows.get("ours")
    if not keys or ours is None:
        return []
    lines = [
        f"### Ablation of ours, setup {setup}",
        "",
        "Each row is ours with one change taken back (`rllib_experiments/methods/iagc_ppo.py`, "
        "`ABLATIONS`); everything else, the seeds and the evaluation episodes are ours'. "
        "Δ = the row's mean minus ours' mean over the seeds both have, with the "
        f"{PAIRED_INTERVAL_TEXT} where there are 2 or more "
        f"([ablation_{setup}.png](../figures/ablation_{setup}.png)).",
        "",
        "| Row | Greedy mean ± std | Seeds | Δ vs ours [95 % t-interval] (same seeds) "
        "| Stochastic mean | "
        "Sparsity | Episodes trained | Trial time (s, sum) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in ["ours"] + keys:
        s = rows[key]
        common = sorted(set(s["seeds"]) & set(ours["seeds"]))
        if key == "ours":
            delta = MISSING
        elif common:
            mine = [s["per_seed"][c] for c in common]
            theirs = [ours["per_seed"][c] for c in common]
            interval = ci_text(paired_difference(mine, theirs)["ci"], 1, missing="")
            delta = (
                f"{(sum(mine) - sum(theirs)) / len(common):+.1f}"
                + (f" {interval}" if interval else "")
                + f" (seeds {', '.join(map(str, common))})"
            )
        else:
            delta = f"{MISSING} (no common seed)"
        lines.append(
            f"| {s['label']} | {number_text(s['mean_greedy'], 2)} ± {number_text(s['std'], 2)} "
            f"| {s['n']}{' †' if (setup, key) in marks else ''} | {delta} | "
            f"{number_text(s['mean_stochastic'], 2)} | "
            f"{number_text(s['sparsity'], 3)} | "
            f"{s['episodes']} | {s['wall_s']:.0f} |"
        )
    lines.append("")
    lines += pooling.mark_lines((rows[k]["label"], marks.get((setup, k))) for k in ["ours"] + keys)
    return lines


def plot_ablation(
    curves: List[Dict[str, str]], setup: str, path: Path, row_order: Sequence[str]
) -> bool:
    """Greedy evaluation reward of ours and its ablations vs. iteration; False if none.

    Ours is averaged over the seeds the ablations ran (so every line has the same seeds).
    """
    plt = pyplot()

    ablations = [k for k in row_order if _group(k) == "ablation"]
    ablation_seeds = {
        int(c["seed"]) for c in curves if c["setup"] == setup and c["row"] in ablations
    }
    data = {}
    for key in ["ours"] + ablations:
        got = _seed_curves(
            curves,
            setup,
            key,
            column="reward_greedy",
            seeds=ablation_seeds if key == "ours" else None,
        )
        if got is not None:
            its, mean, _, seeds, per_iter, by_seed = got
            data[key] = (its, mean, seeds, per_iter * its[-1], by_seed)
    if len(data) < 2 or "ours" not in data:
        return False
    fig, ax = plt.subplots(figsize=(9, 6.5))
    for k, (key, (its, mean, seeds, episodes, by_seed)) in enumerate(data.items()):
        _seed_dots(ax, by_seed, its, 1, plt.get_cmap("tab10")(k))
        ax.plot(
            its,
            mean,
            lw=2.4 if key == "ours" else 1.4,
            color=plt.get_cmap("tab10")(k),
            label=f"{ROWS[key].label} (seed{'s' if len(seeds) > 1 else ''} "
            f"{', '.join(map(str, seeds))}; {episodes} episodes)",
        )
    ax.set_xlabel("training iteration (one update each)")
    ax.set_ylabel("greedy evaluation reward per episode (paper's unit)")
    ax.set_title(f"Setup {setup}: ours and its ablations (mean over the seeds shown)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    save_figure(fig, path)  # the legend below the axes, off the curves
    return True


def _seed_curves(curves, setup: str, key: str, column: str = "reward", seeds=None):
    """(iterations, mean, std, seeds, episodes per iteration, {seed: {iteration: value}}) of
    one row's ``column``, or None (mean and std over seeds: :func:`mean_std`; std None for one
    seed).

    ``seeds``: only these training seeds (default all); iterations are those every seed has.
    """
    pts = [
        c
        for c in curves
        if c["setup"] == setup and c["row"] == key and (seeds is None or int(c["seed"]) in seeds)
    ]
    if not pts:
        return None
    by_seed: Dict[int, Dict[int, float]] = {}
    per_iter = 1
    for c in pts:
        it = int(float(c["iteration"]))
        by_seed.setdefault(int(c["seed"]), {})[it] = float(c[column])
        if it > 0:
            per_iter = max(1, round(float(c["episodes"]) / it))
    common = sorted(set.intersection(*(set(v) for v in by_seed.values())))
    if not common:
        return None
    mean, std = mean_std([[by_seed[s][e] for e in common] for s in sorted(by_seed)])
    return common, mean, std, sorted(by_seed), per_iter, by_seed


def _seed_dots(ax, by_seed: Dict[int, Dict[int, float]], its, per_iter: int, color) -> None:
    """Every seed's evaluation at each of ``its`` (x: iteration x ``per_iter``) as a small dot
    under the mean's line."""
    ax.scatter(
        [i * per_iter for s in sorted(by_seed) for i in its],
        [by_seed[s][i] for s in sorted(by_seed) for i in its],
        s=2,
        color=color,
        alpha=0.3,
        lw=0,
        zorder=1,
    )


def plot_curves(
    curves: List[Dict[str, str]], summary, setup: str, path: Path, row_order: Sequence[str]
) -> None:
    """Fig. 2 for one setup: mean ± std over seeds of the evaluation reward vs. training episodes,
    every seed's evaluation a dot.

    Left: every learning row, the non-learning rows as labelled horizontal lines. Right: the
    same without our row and the two top reference lines, zoomed on the paper's rows. The x
    axis counts episodes (rows train different episodes per iteration); the legend sits
    below the panels, off the curves.
    """
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(14, 7))
    colors = plt.get_cmap("tab10")
    styles = {"aloha": ":", "oca": "-.", "musical_chairs": "--", "oracle": "-"}
    learning = [
        k
        for k in row_order
        if ROWS.get(k) is not None and ROWS[k].kind == "learning" and ROWS[k].group == "table"
    ]
    for panel, ax in enumerate(axes):
        for k, key in enumerate(learning):
            data = _seed_curves(curves, setup, key)
            if data is None or (panel == 1 and key == "ours"):
                continue
            its, mean, std, seeds, per_iter, by_seed = data
            n, color, episodes = len(seeds), colors(k % 10), [i * per_iter for i in its]
            _seed_dots(ax, by_seed, its, per_iter, color)
            extra = f", {per_iter} episodes/iteration" if per_iter != 1 else ""
            ax.plot(
                episodes,
                mean,
                color=color,
                lw=1.6,
                label=f"{ROWS[key].label} ({n} seed{'s' if n > 1 else ''}{extra})",
            )
            if std is not None:  # no band for one seed
                ax.fill_between(
                    episodes, (mean - std).clip(min=0), mean + std, color=color, alpha=0.15
                )
        for key, style in styles.items():
            s = summary.get(setup, {}).get(key)
            if s is None or (panel == 1 and key in ("musical_chairs", "oracle")):
                continue
            label = f"{s['label']}: {s['best']:.0f}"
            ax.axhline(s["best"], color="black", ls=style, lw=1.0, label=label)
            ax.text(
                0.01, s["best"], label, transform=ax.get_yaxis_transform(), fontsize=7, va="bottom"
            )
        ax.set_xlabel("training episodes")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("evaluation reward per episode (sum of user rates, paper's unit)")
    budget = next(iter(summary.get(setup, {}).values()), {}).get("budget", "?")
    axes[0].set_title(
        f"Setup {setup}: every row (mean ± std over seeds, dots: each seed), budget '{budget}'",
        fontsize=10,
    )
    axes[1].set_title(f"Setup {setup}: the paper's learning rows, zoomed", fontsize=10)
    save_figure(fig, path, legend_axes=axes[:1], ncol=3, bottom=0.15)


def code_of_trials(raw_dir: Path, trials: List[Dict[str, str]]) -> Dict[tuple, List[Dict]]:
    """(setup, row) -> one ``{"kind", "code"}`` per trial of ``trials`` (the CSV rows), its code
    read from its JSON record (``RAW/trials/<setup>__<row>__s<seed>.json``; the CSV does not keep
    it), None where there is no record."""
    codes: Dict[tuple, Optional[dict]] = {}
    for p in sorted((Path(raw_dir) / "trials").glob("*.json")):
        rec = json.loads(p.read_text())
        codes[(rec["setup"], rec["row"], int(rec["seed"]))] = rec.get("code")
    out: Dict[tuple, List[Dict]] = {}
    for t in trials:
        key = (t["setup"], t["row"], int(t["seed"]))
        out.setdefault(key[:2], []).append({"kind": t["kind"], "code": codes.get(key)})
    return out


def build_report(raw_dir, table_path, figures_dir, allow_mixed_commits: bool = False) -> Dict:
    """Rebuild the CSVs (from JSON if present), the table and the Fig. 2 PNGs; returns the
    summary. A row whose seeds are not of one commit from a clean tree (or whose records are
    missing: unknown code) raises :class:`pooling.MixedCodeError` unless
    ``allow_mixed_commits`` (then the table marks it)."""
    raw_dir, table_path, figures_dir = Path(raw_dir), Path(table_path), Path(figures_dir)
    collect(raw_dir)
    trials = read_csv(raw_dir / "trials.csv")
    if not trials:
        raise ValueError(f"no raw results in {raw_dir} (trials.csv or trials/*.json)")
    marks = pooling.check_rows(
        code_of_trials(raw_dir, trials),
        allow_mixed_commits,
        f"Table I of {raw_dir}",
        lambda key: f"{key[0]} / {key[1]}",
    )
    curves = read_csv(raw_dir / "curves.csv")
    runs = read_runs(raw_dir)
    order = list(ROWS)
    summary = summarize(trials)
    write_text_atomic(table_path, render_table(summary, runs, order, marks))
    for setup in sorted(summary):
        plot_curves(curves, summary, setup, figures_dir / f"training_curves_{setup}.png", order)
        plot_ablation(curves, setup, figures_dir / f"ablation_{setup}.png", order)
    return summary
