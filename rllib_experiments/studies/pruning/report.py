"""The pruning study's report: ``docs/results/pruning.md``, ``pruning.csv`` and its figures.

Input: the reproduce records of the study (``RAW/trials/<setup>__<row>__s<seed>.json``,
written by :func:`rllib_experiments.studies.common.trials.run_row_trial`; ``python -m
rllib_experiments.pruning_study`` runs them). A *configuration* is a row key: a Table I
row (``harmonic``, ``dense``, ...) or a variant (``harmonic+head_dense``, see
:mod:`rllib_experiments.methods.variants`). Per (setup, configuration):

* the final evaluation (100 episodes on the shared evaluation seed) sampled and greedy:
  mean ± std over seeds (ddof 1), the best seed (the paper's statistic) and the 95 %
  t-interval of the mean over seeds (:func:`t_interval`);
* sparsity two ways: of the weight matrices (``sparsity_prunable``) and of all actor
  parameters (``sparsity_all_params``: what an exported file stores), and the mean
  exported actor file in bytes (float32 and int8);
* ``dense_mean_sampled``: the mean of the matching dense configuration (``dense`` for the
  paper's rows and their variants, ``ours_dense`` for ours and its variants).

Comparisons (:data:`COMPARISONS`): a variant against its base on the seeds both have, the
mean of the per-seed differences with its t-interval (:func:`paired_difference`). A row pools
seeds of one commit from a clean tree only, unless told otherwise (:mod:`..common.pooling`,
``--allow-mixed-commits``: then the table marks the row). Figures:
:mod:`rllib_experiments.studies.pruning.figures`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from dsa_pettingzoo.evaluation import EVAL_SEED
from rllib_experiments.run.outputs import REPRODUCE_LOG, write_csv_atomic, write_text_atomic
from rllib_experiments.studies.common.formatting import ci_text, number_text
from rllib_experiments.studies.common import pooling
from rllib_experiments.studies.common.records import folder_records
from rllib_experiments.studies.common.statistics import (
    INTERVAL_TEXT,
    PAIRED_INTERVAL_TEXT,
    mean_std_ci,
    paired_difference,
)
from rllib_experiments.studies.pruning import figures as pruning_figures
from rllib_experiments.studies.pruning import seeds as pruning_seeds
from rllib_experiments.studies.pruning.sparsity import bytes_text, dense_reference, sparsity_lines

CSV_COLUMNS = [
    "setup",
    "config",
    "schedule",
    "scope",
    "prune_mode",
    "prune_interval",
    "final_sparsity",
    "sparsity_all_params",
    "seeds",
    "mean_sampled",
    "std_sampled",
    "mean_greedy",
    "std_greedy",
    "dense_mean_sampled",
]
EXTRA_COLUMNS = [
    "best_sampled",
    "best_seed",
    "ci_sampled",
    "ci_greedy",
    "sparsity_prunable",
    "bytes_float32",
    "bytes_int8",
    "bytes_format",
    "bytes_seeds",
    "oracle_mean",
    "ratio_greedy_to_oracle",
    "ratio_sampled_to_dense",
    "final_entropy",
    "late_entropy",
    "late_sparsity",
    "late_target",
    "label",
]


def read_records(raw_dir) -> List[Dict[str, Any]]:
    """Every learning trial record of RAW/trials/ (baseline rows are skipped)."""
    return [rec for rec in folder_records(raw_dir) if rec["kind"] == "learning"]


_ORACLE_CACHE: Dict[str, float] = {}


def oracle_reward(record: Dict[str, Any]) -> float:
    """The oracle's mean reward on the record's evaluation episodes: stored in the record
    (``oracle_reference``), else evaluated now (deterministic: same episodes, numpy only)."""
    if record.get("oracle_reference") is not None:
        return float(record["oracle_reference"])
    key = json.dumps(
        [record["env_kwargs"], record["eval_episodes"], record["eval_seed"]], sort_keys=True
    )
    if key not in _ORACLE_CACHE:
        # imports torch: only when called
        from rllib_experiments.evaluation import evaluate_baseline

        _ORACLE_CACHE[key] = float(
            evaluate_baseline(
                "oracle",
                record["env_kwargs"],
                episodes=int(record["eval_episodes"]),
                eval_seed=int(record["eval_seed"]),
            )["mean_reward"]
        )
    return _ORACLE_CACHE[key]


def summarize(
    records: List[Dict[str, Any]], names: Optional[Dict[str, str]] = None
) -> List[Dict[str, Any]]:
    """One entry per (setup, configuration), sorted by setup then the order first seen.

    ``names`` maps a configuration (a row key) to the short name the tables and figures show
    for it, e.g. a searched row of ten modifiers; the key stays the entry's ``config``."""
    names = names or {}
    groups: Dict[Tuple[str, str], List[Dict]] = {}
    for r in records:
        groups.setdefault((r["setup"], r["row"]), []).append(r)
    out = []
    for (setup, config), recs in groups.items():
        recs = sorted(recs, key=lambda r: int(r["seed"]))
        s = recs[0]["settings"]
        sampled = mean_std_ci([r["final_stochastic"] for r in recs])
        greedy = mean_std_ci([r["final_greedy"] for r in recs])
        best = max(recs, key=lambda r: r["final_stochastic"])
        pruned = s.get("schedule", "none") != "none"
        nbytes, bytes_format = newest_actor_bytes(recs)
        oracle = [oracle_reward(r) for r in recs]
        out.append(
            {
                "setup": setup,
                "config": config,
                "name": names.get(config, config),
                "label": recs[0].get("label", config),
                "schedule": s.get("schedule", "none"),
                "scope": s.get("prune_scope", "all") if pruned else "",
                "prune_mode": s.get("prune_mode") if pruned else "",
                "prune_interval": s.get("prune_interval")
                if pruned and s.get("prune_mode") == "regrow"
                else "",
                "final_sparsity": s.get("final_sparsity") if pruned else 0.0,
                "sparsity_prunable": float(np.mean([r["sparsity_prunable"] for r in recs])),
                "sparsity_all_params": float(np.mean([r["sparsity_all"] for r in recs])),
                "seeds": len(recs),
                "seed_list": [int(r["seed"]) for r in recs],
                "mean_sampled": sampled["mean"],
                "std_sampled": sampled["std"],
                "ci_sampled": sampled["ci"],
                "mean_greedy": greedy["mean"],
                "std_greedy": greedy["std"],
                "ci_greedy": greedy["ci"],
                "best_sampled": best["final_stochastic"],
                "best_seed": int(best["seed"]),
                "bytes_float32": _mean_of(nbytes, "float32"),
                "bytes_int8": _mean_of(nbytes, "int8"),
                "bytes_format": bytes_format,
                "bytes_seeds": len(nbytes),
                "oracle_mean": float(np.mean(oracle)) if oracle else None,
                "per_seed": {
                    int(r["seed"]): (r["final_stochastic"], r["final_greedy"]) for r in recs
                },
                "code_by_seed": {int(r["seed"]): pooling.code_label(r) for r in recs},
                **late_training(recs),
            }
        )
    means = {(e["setup"], e["config"]): e["mean_sampled"] for e in out}
    for e in out:
        dense = means.get((e["setup"], dense_reference(e["config"])))
        e["dense_mean_sampled"] = dense
        e["ratio_sampled_to_dense"] = e["mean_sampled"] / dense if dense else None
        e["ratio_greedy_to_oracle"] = (
            e["mean_greedy"] / e["oracle_mean"] if e["oracle_mean"] else None
        )
    return sorted(out, key=lambda e: e["setup"])


#: The share of the iterations, at the end of training, that :func:`late_training` averages.
LATE_FRACTION = 0.2


def late_training(recs) -> Dict[str, Optional[float]]:
    """Means over the last :data:`LATE_FRACTION` of the iterations (and seeds) of the policy
    entropy, the actual and the scheduled sparsity: what is trained between pruning events
    (in regrow mode the pruned weights grow back between them), and the final entropy."""
    out: Dict[str, Optional[float]] = {
        "late_entropy": None,
        "late_sparsity": None,
        "late_target": None,
        "final_entropy": None,
    }
    traces = [r["trace"] for r in recs if r.get("trace") and r["trace"].get("entropy")]
    if not traces:
        return out
    for key, column in (
        ("late_entropy", "entropy"),
        ("late_sparsity", "mean_sparsity"),
        ("late_target", "mean_target_sparsity"),
    ):
        vals = [
            v
            for t in traces
            for v in t[column][-max(1, int(LATE_FRACTION * len(t[column]))) :]
            if v is not None
        ]
        out[key] = float(np.mean(vals)) if vals else None
    finals = [t["entropy"][-1] for t in traces if t["entropy"][-1] is not None]
    out["final_entropy"] = float(np.mean(finals)) if finals else None
    return out


#: The exported-file format of a record's ``actor_bytes`` when it does not say (records
#: written before format version 3 existed).
OLDEST_BYTES_FORMAT = 2


def newest_actor_bytes(
    recs: Sequence[Dict[str, Any]],
) -> Tuple[List[Dict[str, float]], Optional[int]]:
    """(actor_bytes of the records measured with the newest file writer among them, its format).

    File sizes depend on the writer (format version 3 drops zero biases and zero int8 row
    scales), so a row's mean never mixes writers: records of older writers are left out
    when newer ones exist. (``[]``, None) when no record has sizes.
    """
    sized = [r for r in recs if r.get("actor_bytes")]
    if not sized:
        return [], None
    newest = max(int(r.get("actor_bytes_format", OLDEST_BYTES_FORMAT)) for r in sized)
    return (
        [
            r["actor_bytes"]
            for r in sized
            if int(r.get("actor_bytes_format", OLDEST_BYTES_FORMAT)) == newest
        ],
        newest,
    )


def _mean_of(dicts, key) -> Optional[float]:
    vals = [d[key] for d in dicts if key in d]
    return float(np.mean(vals)) if vals else None


#: (variant, base) pairs compared when both were run, with what the comparison asks.
COMPARISONS = [
    ("harmonic+head_dense", "harmonic", "output layer dense vs everything pruned"),
    ("harmonic+input_dense", "harmonic", "first layer dense vs everything pruned"),
    ("harmonic+io_dense", "harmonic", "first and output layers dense vs everything pruned"),
    ("harmonic+lstm_only", "harmonic", "only the LSTM pruned vs everything pruned"),
    ("harmonic+global", "harmonic", "global vs layer-wise magnitude ranking"),
    (
        "harmonic+head_dense+global",
        "harmonic+head_dense",
        "global vs layer-wise ranking, head dense",
    ),
    ("harmonic+hold", "harmonic", "masks held vs regrow between pruning events"),
    ("harmonic+iprune1", "harmonic", "i_prune 1 vs 5"),
    ("harmonic+iprune20", "harmonic", "i_prune 20 vs 5"),
    ("harmonic+amp0", "harmonic", "harmonic amplitude 0 vs 0.1"),
    ("harmonic+amp0.2", "harmonic", "harmonic amplitude 0.2 vs 0.1"),
    ("harmonic+period0.1", "harmonic", "harmonic period 100 vs 200 iterations"),
    ("harmonic+period0.5", "harmonic", "harmonic period 500 vs 200 iterations"),
    ("linear+head_dense", "linear", "output layer dense, linear schedule"),
    ("polynomial+head_dense", "polynomial", "output layer dense, polynomial schedule"),
    ("polynomial+head_dense", "harmonic+head_dense", "polynomial vs harmonic schedule, head dense"),
    ("linear+head_dense", "harmonic+head_dense", "linear vs harmonic schedule, head dense"),
    ("harmonic+head_dense", "dense", "head-dense harmonic vs dense IAGC-PPO"),
    ("harmonic", "dense", "harmonic (everything pruned) vs dense IAGC-PPO"),
    ("ours+bf16", "ours", "bfloat16 autocast vs float32 training"),
]


def compare(summary: List[Dict[str, Any]], comparisons=COMPARISONS) -> List[Dict[str, Any]]:
    """Each pair run in a setup: the mean of the per-seed differences over the seeds both have,
    with its t-interval (:func:`paired_difference`), sampled and greedy."""
    by = {(e["setup"], e["config"]): e for e in summary}
    out = []
    for setup in sorted({e["setup"] for e in summary}):
        for variant, base, question in comparisons:
            a, b = by.get((setup, variant)), by.get((setup, base))
            if a is None or b is None:
                continue
            seeds = sorted(set(a["per_seed"]) & set(b["per_seed"]))
            if not seeds:
                continue
            entry = {
                "setup": setup,
                "variant": variant,
                "base": base,
                "question": question,
                "seeds": len(seeds),
            }
            for k, mode in enumerate(("sampled", "greedy")):
                paired = paired_difference(
                    [a["per_seed"][s][k] for s in seeds], [b["per_seed"][s][k] for s in seeds]
                )
                entry[f"diff_{mode}"] = paired["mean"]
                entry[f"ci_{mode}"] = paired["ci"]
            out.append(entry)
    return out


def _ci(ci) -> str:
    return ci_text(ci, 0)


def render_markdown(
    summary,
    comparisons,
    runs: List[Dict],
    figures: Dict[str, str],
    seed_lines: Sequence[str] = (),
    csv_name: str = "pruning.csv",
    seeds: Optional[Sequence[int]] = None,
    marks: Optional[Dict[Tuple[str, str], str]] = None,
) -> str:
    """The report; ``seed_lines``: the section of :func:`pruning_seeds.seed_table_lines`, placed
    before the per-setup tables; ``seeds``: the training seeds it was restricted to, if any;
    ``marks``: (setup, configuration) -> the mark of a row pooled across code
    (:func:`pooling.check_rows`)."""
    marks = marks or {}
    only = ""
    if seeds is not None:
        listed = " ".join(map(str, seeds))
        only = (
            f" **Only the records of training seeds {listed}** (`--report-only --seeds {listed}`), "
            "so that every configuration is summarized on the same seeds; every seed on record, "
            "with the figures: [pruning.md](pruning.md)."
        )
    lines = [
        "# Pruning study: results"
        + (f" on seeds {seed_label(seeds)}" if seeds is not None else ""),
        "",
        "Generated by `python -m rllib_experiments pruning_study` (or `--report-only`) from the "
        "raw trial records in `raw/pruning/trials/`; do not edit by hand. What the configurations "
        "are and what we conclude: [../pruning.md](../pruning.md#the-pruning-study). "
        f"Machine-readable: [{csv_name}]({csv_name}).{only}",
        "",
        "Every trial: the paper's settings and budget unless the configuration says otherwise "
        "(1000 one-episode iterations; `ours` rows 300 iterations of 8 episodes), final evaluation "
        f"over 100 episodes on the shared evaluation seed {EVAL_SEED}, sampled and greedy actions. "
        f"Mean ± std over seeds (ddof 1); {INTERVAL_TEXT}: mean ± t_0.975,n-1 x std / sqrt(n) "
        "(none for one seed; with 2-3 seeds it is wide, as it should be); best: the best seed's "
        "sampled reward (the paper's statistic). Sparsity: of the weight matrices / of all actor "
        "parameters. Bytes: the mean actor file as `python -m rllib_experiments export` encodes it, "
        "without its metadata block (the export adds the environment and run id, about 0.5 kB "
        "per file), measured when the trial ran. Sizes depend on the file writer: `(v2)` marks "
        "sizes of format version 2's writer, which also stored zero biases and the int8 scales "
        "of empty rows (version 3 drops them: the same sizes for most actors up to 95 % "
        "sparsity, up to a third less at 99 %); a row's mean uses only its newest writer's "
        "records, and `(k seeds)` says when those are fewer than the row's seeds. "
        "Entropy: the policy entropy (nats; uniform over 6 actions is 1.79) at the last iteration "
        f"and over the last {LATE_FRACTION:.0%} of the iterations; late sparsity: the actual and "
        "the scheduled sparsity of the pruned matrices over those iterations (in regrow mode "
        "the actual one falls between pruning events as pruned weights grow back).",
        "",
    ]
    rebuild = "python -m rllib_experiments pruning_study --report-only" + (
        f" --seeds {' '.join(map(str, seeds))}" if seeds is not None else ""
    )
    note = pooling.footnote(marks, f"{rebuild} {pooling.ALLOW_FLAG}")
    if note:
        lines += [note, ""]
    aliased = {e["name"]: e["config"] for e in summary if e["name"] != e["config"]}
    if aliased:
        lines += [
            "Short names in the tables and figures, with the rows they stand for "
            "(`pruning_study --rows ROW` trains them):",
            "",
        ]
        lines += [f"- `{name}`: `{config}`" for name, config in sorted(aliased.items())]
        lines.append("")
    lines += list(seed_lines)
    for setup in sorted({e["setup"] for e in summary}):
        lines += [
            f"## Setup {setup}",
            "",
            "| configuration | seeds | sampled mean ± std | 95 % t-interval | best (seed) "
            "| greedy mean ± std | 95 % t-interval "
            "| / oracle (greedy) | / dense (sampled) | sparsity | bytes f32 / int8 "
            "| entropy final / late | late sparsity actual / scheduled |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        mine = [e for e in summary if e["setup"] == setup]
        for e in mine:
            dagger = " †" if (setup, e["config"]) in marks else ""
            lines.append(
                f"| `{e['name']}` | {e['seeds']}{dagger} | {number_text(e['mean_sampled'], 1)} ± {number_text(e['std_sampled'], 1)} "
                f"| {_ci(e['ci_sampled'])} | {number_text(e['best_sampled'], 1)} ({e['best_seed']}) "
                f"| {number_text(e['mean_greedy'], 1)} ± {number_text(e['std_greedy'], 1)} | {_ci(e['ci_greedy'])} "
                f"| {number_text(e['ratio_greedy_to_oracle'], 3)} | {number_text(e['ratio_sampled_to_dense'], 3)} "
                f"| {e['sparsity_prunable']:.3f} / {e['sparsity_all_params']:.3f} "
                f"| {bytes_text(e, 'bytes_float32', 'bytes_int8')} "
                f"| {number_text(e['final_entropy'], 2)} / {number_text(e['late_entropy'], 2)} "
                f"| {number_text(e['late_sparsity'], 3)} / {number_text(e['late_target'], 3)} |"
            )
        lines.append("")
        lines += pooling.mark_lines(
            [(f"`{e['name']}`", marks.get((setup, e["config"]))) for e in mine]
        )
        pairs = [c for c in comparisons if c["setup"] == setup]
        if pairs:
            lines += [
                f"### Setup {setup}: comparisons (paired by seed)",
                "",
                f"Δ: the mean of the per-seed differences (variant − base) over the seeds both "
                f"have, in brackets its {PAIRED_INTERVAL_TEXT}.",
                "",
                "| variant − base | question | seeds | Δ sampled [95 % t-interval] "
                "| Δ greedy [95 % t-interval] |",
                "|---|---|---|---|---|",
            ]
            for c in pairs:
                lines.append(
                    f"| `{c['variant']}` − `{c['base']}` | {c['question']} | {c['seeds']} "
                    f"| {c['diff_sampled']:+.1f} {_ci(c['ci_sampled'])} "
                    f"| {c['diff_greedy']:+.1f} {_ci(c['ci_greedy'])} |"
                )
            lines.append("")
    lines += sparsity_lines(summary)
    if figures:
        lines += ["## Figures", ""]
        for title, path in figures.items():
            lines += [f"**{title}**", "", f"![{title}]({path})", ""]
    if runs:
        lines += ["## Runs", ""]
        for r in runs:
            lines.append(
                f"- `{r.get('command', '?')}`: {r.get('trials_run', '?')} trials in "
                f"{r.get('wall_s', 0) / 60:.0f} min, finished {r.get('finished_at', '?')} "
                f"({r.get('machine', '')})"
            )
        lines.append("")
    return "\n".join(lines)


def write_csv(path: Path, summary: List[Dict[str, Any]]) -> None:
    """The summary, one line per configuration (CIs as ``[lo, hi]``), written atomically."""
    write_csv_atomic(
        Path(path),
        CSV_COLUMNS + EXTRA_COLUMNS,
        [
            dict(
                e,
                ci_sampled=ci_text(e["ci_sampled"], missing=""),
                ci_greedy=ci_text(e["ci_greedy"], missing=""),
            )
            for e in summary
        ],
    )


def seed_label(seeds: Sequence[int]) -> str:
    """``0-4`` for a run of consecutive seeds, else ``0_2_7``: the suffix of a report restricted
    to them."""
    seeds = sorted(seeds)
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return "_".join(map(str, seeds))


def build_report(
    raw_dir,
    markdown_path,
    csv_path,
    figures_dir,
    names: Optional[Dict[str, str]] = None,
    seed_table: Optional[Tuple[Sequence[str], Sequence[int], str]] = None,
    seeds: Optional[Sequence[int]] = None,
    allow_mixed_commits: bool = False,
) -> List[Dict[str, Any]]:
    """Read the records, write the CSV, the figures and the Markdown; returns the summary.
    ``names``: short display names of configurations (:func:`summarize`). ``seed_table``: (rows,
    seeds, the command that runs them) of the paper's statistic section
    (:mod:`rllib_experiments.studies.pruning.seeds`), also written to ``<csv stem>_paper_seeds.csv``
    with one figure per setup. ``seeds``: summarize only the records of these training seeds
    (configurations on the same seeds); ``figures_dir`` None: no figures. A row whose seeds are
    not of one commit from a clean tree raises :class:`pooling.MixedCodeError` unless
    ``allow_mixed_commits`` (then the tables mark it)."""
    raw_dir, markdown_path, csv_path = Path(raw_dir), Path(markdown_path), Path(csv_path)
    records = read_records(raw_dir)
    if seeds is not None:
        seeds = sorted(set(seeds))
        records = [r for r in records if int(r["seed"]) in seeds]
    if not records:
        where = f" of seeds {seed_label(seeds)}" if seeds is not None else ""
        raise ValueError(f"no learning trial records{where} in {raw_dir / 'trials'}")
    by_row: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for r in records:
        by_row.setdefault((r["setup"], r["row"]), []).append(r)
    marks = pooling.check_rows(
        by_row,
        allow_mixed_commits,
        f"the pruning report of {raw_dir}",
        lambda key: f"{key[0]} / {(names or {}).get(key[1], key[1])}",
    )
    summary = summarize(records, names)
    comparisons = compare(summary)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(csv_path, summary)
    figures = pruning_figures.plot_all(records, summary, Path(figures_dir)) if figures_dir else {}
    seed_lines: List[str] = []
    if seed_table is not None:
        rows, paper_seeds, command = seed_table
        entries = pruning_seeds.seed_rows(summary, rows, sorted(paper_seeds))
        seed_lines = pruning_seeds.seed_table_lines(entries, rows, sorted(paper_seeds), command)
        if entries:
            pruning_seeds.write_csv(csv_path.with_name(f"{csv_path.stem}_paper_seeds.csv"), entries)
        if figures_dir:
            for setup in sorted({e["setup"] for e in entries}):
                path = Path(figures_dir) / f"pruning_paper_seeds_{setup}.png"
                if pruning_seeds.plot_seed_rows(entries, setup, path):
                    figures[f"Setup {setup}: Table I's pruning rows on every seed"] = str(path)
    rel = {
        title: Path(os.path.relpath(Path(p).resolve(), markdown_path.parent.resolve())).as_posix()
        for title, p in figures.items()
    }
    runs = []
    if (raw_dir / REPRODUCE_LOG).is_file():
        runs = [
            json.loads(line)
            for line in (raw_dir / REPRODUCE_LOG).read_text().splitlines()
            if line.strip()
        ]
    write_text_atomic(
        markdown_path,
        render_markdown(summary, comparisons, runs, rel, seed_lines, csv_path.name, seeds, marks),
    )
    return summary
