"""The scale study's report: ``scale.md``, ``scale.csv`` and the figures, from the records.

:func:`build_report` reads the records (:mod:`rllib_experiments.studies.scale.stats`), writes the CSV,
the figures (:mod:`rllib_experiments.studies.scale.figures`) and the md. Every number in the md comes
from the records: the study's, and the cost probe's in :data:`PROBE_DIR`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from dsa_pettingzoo.config import SCALE_NUM_USERS, SETUPS
from dsa_pettingzoo.evaluation import EVAL_SEED
from rllib_experiments.methods.iagc_ppo import ours_iterations
from rllib_experiments.run.outputs import write_text_atomic
from rllib_experiments.studies.common import pooling
from rllib_experiments.studies.common.formatting import MISSING, ci_text, number_text
from rllib_experiments.studies.common.statistics import PAIRED_INTERVAL_TEXT
from rllib_experiments.studies.common.goal import GOAL_RATIO, GOAL_SEEDS
from rllib_experiments.studies.scale import figures as scale_figures
from rllib_experiments.studies.scale.stats import (
    LABELS,
    LEARNED,
    METHODS,
    ORACLE,
    OURS,
    TRANSFER,
    cost_estimate,
    goal_cells,
    load_records,
    paired_with,
    read_log,
    table_rows,
    write_csv,
)

COMMAND = "python -m rllib_experiments scale --num-cpus 2 --max-concurrent 2"
CLUSTER_COMMAND = (
    "ray job submit --address http://HEAD:8265 --working-dir . -- "
    "python -m rllib_experiments scale --address auto"
)
STUDY_SIZES = SCALE_NUM_USERS
STUDY_SETUPS = SETUPS
#: Ours' iterations in the study: the scale budget's 1000 (rllib_experiments.studies.scale.budgets).
STUDY_ITERATIONS = ours_iterations(1000)


#: The probe of the cost estimate: a short study run whose records sit in this folder.
DOCS = Path("docs")  # the documentation, under the current directory (a checkout's root)
PROBE_DIR = DOCS / "results" / "raw" / "scale_probe"
#: Idle-machine records of ``python -m rllib_experiments benchmark --scale --json``.
BENCHMARK_DIR = DOCS / "results" / "raw" / "benchmark_scale"


def benchmark_cost(
    record: Dict[str, Any],
    sizes=STUDY_SIZES,
    runs_per_size: int = len(STUDY_SETUPS) * GOAL_SEEDS,
    iterations: int = STUDY_ITERATIONS,
) -> Dict[str, Any]:
    """Training CPU seconds of the study from a benchmark record: the single process's
    driver CPU per iteration x ``iterations`` per run, ``runs_per_size`` runs per N; the
    sizes the record lacks are left out (``missing``)."""
    per_n = {
        r["num_users"]: r["driver_cpu_s_per_iteration_single"] * iterations for r in record["scale"]
    }
    per_run = {n: per_n[n] for n in sizes if n in per_n}
    return {
        "per_run": per_run,
        "total": sum(per_run.values()) * runs_per_size,
        "missing": [n for n in sizes if n not in per_n],
    }


def spread_text(v: float) -> str:
    """A std (of a ratio near 1) with 3 decimals, or with as many as it takes to show it (up to
    5) when it is below 0.0005: the seeds of a converged row agree that closely, and "0.000"
    would read like a missing value."""
    if v == 0 or v >= 0.0005:
        return f"{v:.3f}"
    for digits in (4, 5):
        if v >= 0.5 * 10**-digits:
            return f"{v:.{digits}f}"
    return "< 0.00001"


def relative_link(path: Path, md: Path) -> str:
    """``path`` as a link target from the markdown file ``md``."""
    return os.path.relpath(Path(path).resolve(), Path(md).resolve().parent)


def _benchmark_cost_lines(benchmark_dir: Path) -> List[str]:
    files = sorted(Path(benchmark_dir).glob("*.json")) if Path(benchmark_dir).is_dir() else []
    if not files:
        return []
    record = json.loads(files[-1].read_text())
    est = benchmark_cost(record)
    per_run = ", ".join(f"N = {n}: {sec / 3600:.2f} h" for n, sec in est["per_run"].items())
    hours = est["total"] / 3600
    missing = (
        f" (N = {', '.join(map(str, est['missing']))} not in the record)" if est["missing"] else ""
    )
    return [
        f"- **Training alone, from the idle-machine benchmark** (`{record.get('command', '?')}`, "
        f"{record.get('measured_at', '?')}, record `raw/benchmark_scale/{files[-1].name}`): the single "
        f"process's CPU per iteration x {STUDY_ITERATIONS} iterations gives per run of ours "
        f"{per_run}{missing}; {hours:.1f} CPU hours for the study's runs before any evaluation, "
        f"about {hours / 2:.0f} h of wall time on 2 cores. Plan with this figure rather than the "
        "probe's below (30 iterations on a loaded machine, its `cpu_s` counting only the trial "
        "process), and with the machine's own record: the machines this study has run on differ "
        f"up to 4x in speed (every record: `raw/benchmark_scale/`, {len(files)} of them).",
    ]


def _cost_section(
    probe: List[Dict[str, Any]], runs_log_probe: str, benchmark_dir: Path = BENCHMARK_DIR
) -> List[str]:
    bench = _benchmark_cost_lines(benchmark_dir)
    est = cost_estimate(probe, STUDY_SIZES, len(STUDY_SETUPS), GOAL_SEEDS, STUDY_ITERATIONS)
    if est is None:
        return bench + [
            "- Cost: no probe records (docs/results/raw/scale_probe/) to estimate it from."
        ]
    per_run = ", ".join(f"N = {n}: {est['per_run'][n] / 3600:.2f} h" for n in STUDY_SIZES)
    hours = est["total"] / 3600
    return bench + [
        f"- **Cost estimate** (not a measurement of the study): a probe of ours at N = "
        f"{', '.join(map(str, est['probe_sizes']))} ({est['probe_iterations']} iterations of "
        f"{est['probe_episodes']} episodes, evaluation every {est['probe_eval_interval'] or '?'} "
        f"iterations, setups {', '.join(est['probe_setups'])}, seeds "
        f"{', '.join(map(str, est['probe_seeds']))}: "
        f"`{runs_log_probe}`) was **measured on a loaded machine** (both of its 2 cores busy "
        "with another experiment, so CPU seconds are likely inflated by cache and memory "
        "contention). Its CPU seconds per run, fitted linearly in N and scaled "
        f"x{est['scale']:.0f} to the study's {STUDY_ITERATIONS} iterations, give per training "
        f"run of ours: {per_run}; the baselines' evaluations add {est['baselines'] / 3600:.2f} h "
        f"(linear fit too; MCTopM and RandTopM grow faster than N, so this is low). In all "
        f"{hours:.1f} CPU hours for {len(STUDY_SIZES) * len(STUDY_SETUPS) * GOAL_SEEDS} runs of "
        f"ours: about {hours / 2:.0f} h of wall time on 2 cores, about "
        f"{max(hours / 32, est['per_run'][100] / 3600):.1f} h on 32 cluster cores (never less "
        f"than one N = 100 run, {est['per_run'][100] / 3600:.1f} h), plus Ray's start-up of "
        "each trial's process (seconds, not counted in `cpu_s`).",
    ]


def _training_reward_lines(records, md: Path) -> List[str]:
    """A note when ours trained on another reward than the paper's sum rate (its records'
    ``env_kwargs``); every figure of the report stays in the sum rate."""
    used = sorted(
        {(r.get("env_kwargs") or {}).get("reward", "sum_rate") for r in records if r["row"] == OURS}
    )
    if used in ([], ["sum_rate"]):
        return []
    return [
        f"**Ours trains on the {' / '.join(f'`{u}`' for u in used)} reward** (its records' "
        f"`env_kwargs`; [environment.md]({relative_link(DOCS / 'environment.md', md)}#rewards)), not the paper's "
        "sum rate. Every reward below, ours' included, is still the episode's sum rate.",
        "",
    ]


def _goal_section(cells: List[Dict[str, Any]], marks: Dict[tuple, str]) -> List[str]:
    lines = [
        "## Goal",
        "",
        f"Ours >= {GOAL_RATIO:g} of the oracle (mean over >= {GOAL_SEEDS} seeds) at every N "
        "in setups A, B and C, and above every decentralized baseline.",
        "",
    ]
    if not cells:
        return lines + ["No record of ours yet: the study has not been run.", ""]
    faithful = [c for c in cells if c["method"] == OURS]
    keys = {(c["setup"], c["num_users"]) for c in cells}
    met_any = {(c["setup"], c["num_users"]) for c in cells if c["met"]}
    planned = len(STUDY_SIZES) * len(STUDY_SETUPS)
    also = (
        f"; by ours or {LABELS[TRANSFER]} in {len(met_any)} of {len(keys)}"
        if len(faithful) < len(cells)
        else ""
    )
    lines += [
        f"**Met by ours in {sum(c['met'] for c in faithful)} of {len(faithful)} cells with "
        f"records{also}** (the study has {planned}). "
        "Where it falls short, *short by* is 0.95 minus ours / oracle, and in reward "
        "units 0.95 x oracle minus ours' mean; *margin* is ours' mean minus the best "
        "decentralized baseline's (negative: a baseline is above ours).",
        "",
        "| Setup | N | K | Row | Seeds | Ours / oracle | Best baseline (/ oracle) | Margin | "
        ">= 0.95 | Above baselines | Short by (ratio; reward) | Seeds below 0.95 (ratio) |",
        "|---|---:|---:|---|---:|---:|---|---:|---|---|---:|---|",
    ]
    for c in cells:
        best = c["best"]
        best_txt = (
            f"{LABELS.get(best['method'], best['method'])} ({number_text(best['ratio_to_oracle'], 3)})"
            if best
            else MISSING
        )
        no_oracle = c["ratio"] is None  # no oracle on record: nothing to judge
        short = (
            MISSING
            if c["ratio_met"] or no_oracle
            else f"{c['short_ratio']:.3f}; {c['short_reward']:.1f}"
        )
        low = ", ".join(
            f"s{s}: {x:.3f}" for s, x in zip(c["seed_list"], c["seed_ratios"]) if x < GOAL_RATIO
        )
        seeds = (
            f"{c['seeds']}"
            + ("" if c["seeds"] >= GOAL_SEEDS else f" (of {GOAL_SEEDS})")
            + (" †" if (c["setup"], c["num_users"], c["method"]) in marks else "")
        )
        lines.append(
            f"| {c['setup']} | {c['num_users']} | {c['num_channels']} | "
            f"{LABELS.get(c['method'], c['method'])} | {seeds} | "
            f"{number_text(c['ratio'], 3)} | {best_txt} | {number_text(c['margin'], 1)} | "
            f"{MISSING if no_oracle else 'yes' if c['ratio_met'] else 'no'} | "
            f"{MISSING if c['best'] is None else 'yes' if c['beats_baselines'] else 'no'} | "
            f"{short} | {low or MISSING} |"
        )
    lines += [""] + pooling.mark_lines(
        (
            f"{c['setup']}, N = {c['num_users']}, {LABELS.get(c['method'], c['method'])}",
            marks.get((c["setup"], c["num_users"], c["method"])),
        )
        for c in cells
    )
    if lines[-1] == "":
        lines.pop()
    if any(c["method"] == TRANSFER for c in cells):
        lines += [
            "",
            f"*{LABELS[TRANSFER]}*: the final actors of ours' run in setup A (the same "
            "N, seed and budget), evaluated unchanged on this setup's episodes; its seeds, "
            "episodes trained and CPU seconds are that run's (nothing was trained in this "
            "setup). Ours is the faithful row, trained in the setup itself.",
        ]
    return lines + [""]


#: Columns of "What the seeds below the goal did": (EpisodeStats.summary key, header, digits).
BEHAVIOUR = (
    ("successes_per_slot", "ACKs per slot", 2),
    ("collision_rate", "collisions / attempt", 3),
    ("pu_blocked_rate", "PU-blocked / attempt", 3),
    ("idle_rate", "idle user-slots", 3),
    ("utilisation_free", "free channel-slots used", 3),
    ("jain_fairness", "Jain", 3),
)


def _behaviour_section(cells, records) -> List[str]:
    """Per seed of ours below the goal: what its greedy actors did, beside the oracle's and a
    seed of the same cell that met the goal, from the records' final evaluation statistics."""

    def record(row, setup, n, seed=None):
        return (
            next(
                (
                    r
                    for r in records
                    if r["row"] == row
                    and r["setup"] == setup
                    and r["num_users"] == n
                    and (seed is None or int(r["seed"]) == seed)
                ),
                None,
            )
            or {}
        )

    def line(c, label, ratio, summary):
        vals = [number_text((summary or {}).get(k), d) for k, _, d in BEHAVIOUR]
        return (
            f"| {c['setup']} | {c['num_users']} | {c['num_channels']} | {label} | {number_text(ratio, 3)} | "
            + " | ".join(vals)
            + " |"
        )

    def greedy(seed, c):
        rec = record(c["method"], c["setup"], c["num_users"], seed)
        return (rec.get("final_summary") or {}).get("greedy")

    def name(c):
        return "ours" if c["method"] == OURS else LABELS.get(c["method"], c["method"])

    body = []
    for c in cells:
        seeds = list(zip(c["seed_list"], c["seed_ratios"]))
        failing = [(s, x) for s, x in seeds if x < GOAL_RATIO]
        if not failing:
            continue
        body.append(
            line(c, "oracle", 1.0, record(ORACLE, c["setup"], c["num_users"]).get("summary"))
        )
        best_seed, best_ratio = max(seeds, key=lambda t: t[1])
        if best_ratio >= GOAL_RATIO:
            body.append(
                line(c, f"{name(c)} seed {best_seed} (best)", best_ratio, greedy(best_seed, c))
            )
        body += [line(c, f"{name(c)} seed {s}", x, greedy(s, c)) for s, x in failing]
    if not body:
        return []
    return [
        "## What the seeds below the goal did",
        "",
        "Greedy evaluation of the final actors on the study's episodes (a record's "
        "`final_summary`, or for records written before trials kept it, a greedy re-evaluation "
        "of the run's final checkpoint whose reward matched the record's). Beside each seed: "
        "the oracle and the best seed of the same cell.",
        "",
        "| Setup | N | K | Policy | / oracle | " + " | ".join(h for _, h, _ in BEHAVIOUR) + " |",
        "|---|---:|---:|---|---:|" + "---:|" * len(BEHAVIOUR),
        *body,
        "",
        f"`{MISSING}`: the record has no statistics and its run folder is not on the machine "
        "that wrote the report.",
        "",
    ]


def _seed_labels(records, setup, n) -> List[int]:
    return sorted(
        r["seed"]
        for r in records
        if r["row"] == OURS and r["setup"] == setup and r["num_users"] == n
    )


def _results_section(rows, records, marks: Dict[tuple, str]) -> List[str]:
    lines = [
        "## Reward / oracle",
        "",
        "Mean reward / the oracle's on the same episodes; ours: mean ± std over seeds "
        "(divided by the oracle), baselines: one evaluation (the std over episodes is in "
        "the CSV).",
        "",
    ]
    for setup in sorted({r["setup"] for r in rows}):
        mine = [r for r in rows if r["setup"] == setup]
        ns = sorted({r["num_users"] for r in mine})
        lines += [
            f"### Setup {setup}",
            "",
            "| Method | " + " | ".join(f"N = {n}" for n in ns) + " |",
            "|---|" + "---:|" * len(ns),
        ]
        for m in [m for m in METHODS if any(r["method"] == m for r in mine)]:
            cells = []
            for n in ns:
                r = next((r for r in mine if r["method"] == m and r["num_users"] == n), None)
                if r is None:
                    cells.append(MISSING)
                elif m in LEARNED and r["oracle_mean"] is not None:  # one seed: no std
                    spread = (
                        MISSING if r["std"] is None else spread_text(r["std"] / r["oracle_mean"])
                    )
                    dagger = " †" if (setup, n, m) in marks else ""
                    cells.append(f"{number_text(r['ratio_to_oracle'], 3)} ± {spread}{dagger}")
                else:
                    cells.append(number_text(r["ratio_to_oracle"], 3))
            lines.append(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + " |")
        lines += [""] + pooling.mark_lines(
            (f"{LABELS.get(k[2], k[2])}, N = {k[1]}", mark)
            for k, mark in sorted(marks.items(), key=lambda kv: (kv[0][1], kv[0][2]))
            if k[0] == setup
        )
        if lines[-1] == "":
            lines.pop()
        lines += [
            "",
            "| Ours at | " + " | ".join(f"N = {n}" for n in ns) + " |",
            "|---|" + "---:|" * len(ns),
        ]
        ours = {r["num_users"]: r for r in mine if r["method"] == OURS}
        oracle = {r["num_users"]: r for r in mine if r["method"] == ORACLE}
        for label, get in (
            ("mean reward", lambda n: number_text(ours[n]["mean"], 1) if n in ours else MISSING),
            (
                "oracle reward",
                lambda n: number_text(oracle[n]["mean"], 1) if n in oracle else MISSING,
            ),
            ("seeds", lambda n: ", ".join(map(str, _seed_labels(records, setup, n))) or MISSING),
            (
                "episodes trained",
                lambda n: str(ours[n]["episodes_trained"]) if n in ours else MISSING,
            ),
            (
                "CPU s per run",
                lambda n: number_text(ours[n]["trial_cpu_s"], 0) if n in ours else MISSING,
            ),
        ):
            lines.append(f"| {label} | " + " | ".join(get(n) for n in ns) + " |")
        lines.append("")
    return lines


def _paired_section(paired: List[Dict[str, Any]], reference: Path, md: Path) -> List[str]:
    if not paired:
        return []
    lines = [
        f"## Against the records in `{relative_link(reference, md)}`",
        "",
        "Ours here against ours there on the seeds both have, paired by seed: mean reward / "
        "the oracle (the same evaluation episodes), the mean difference of the seeds' rewards "
        f"(here - there) with the {PAIRED_INTERVAL_TEXT}, and the mean CPU s per run. "
        "CPU seconds compare only if both ran on the same kind of machine: see each folder's "
        "Runs.",
        "",
        "| Setup | N | Seeds | Budget here / there | Ours / oracle here | there "
        "| Δ reward [95 % t-interval] | "
        "CPU s per run here / there |",
        "|---|---:|---|---|---:|---:|---|---|",
    ]
    for p in paired:
        ci = ci_text(p["ci"], 1)
        lines.append(
            f"| {p['setup']} | {p['num_users']} | {', '.join(map(str, p['seeds']))} | "
            f"{p['budget']} / {p['budget_reference']} | {p['ratio']:.3f} | "
            f"{p['ratio_reference']:.3f} | {p['diff']:+.1f} {ci} | "
            f"{p['cpu']:.0f} / {p['cpu_reference']:.0f} |"
        )
    return lines + [""]


def markdown(
    rows,
    cells,
    records,
    probe,
    probe_command: str,
    runs_log,
    md: Path,
    csv_path: Path,
    figures: Path,
    paired: Sequence[Dict[str, Any]] = (),
    reference: Optional[Path] = None,
    records_at: str = "raw/scale",
    marks: Optional[Dict[tuple, str]] = None,
    rebuild: str = "python -m rllib_experiments scale --report-only",
) -> str:
    """The md (``cells``: :func:`~rllib_experiments.studies.scale.report.goal_cells`; ``records_at``:
    the records' folder as the md names it; ``marks``: (setup, N, method) -> the mark of a row
    pooled across code, :func:`pooling.check_rows`; ``rebuild``: the command that rebuilds it)."""
    marks = marks or {}
    wall_fallback = sum(r["cpu_from_wall"] for r in records)
    note = pooling.footnote(marks, f"{rebuild} {pooling.ALLOW_FLAG}")
    lines = [
        "# Scale study: ours and the decentralized baselines at N = 10 ... 100 users",
        "",
        "Generated by `python -m rllib_experiments scale` (or `--report-only`) from the raw "
        f"per-trial records (`{records_at}/N<N>/trials/*.json`); do not edit by hand. Data: "
        f"[{csv_path.name}]({relative_link(csv_path, md)}). How the study works: "
        f"[training.md]({relative_link(DOCS / 'training.md', md)}#scale-study). Where the goal "
        "stands across every study folder (this one's and the others' budgets): "
        f"[scale_goal.md]({relative_link(DOCS / 'results' / 'scale_goal.md', md)}).",
        "",
        *([note, ""] if note else []),
        "## Running it",
        "",
        f"- The whole study (N = {', '.join(map(str, STUDY_SIZES))} with K = N/2, setups "
        f"{', '.join(STUDY_SETUPS)}, seeds 0-{GOAL_SEEDS - 1}, every baseline): `{COMMAND}`; "
        f"on a Ray cluster: `{CLUSTER_COMMAND}`. Rerun the same command to resume: a trial "
        "whose record exists is never rerun.",
        *_cost_section(probe, probe_command),
        "",
        *_training_reward_lines(records, md),
        *_goal_section(cells, marks),
        *_behaviour_section(cells, records),
        *_results_section(rows, records, marks),
        *_paired_section(list(paired), reference, md),
        "## Figures",
        "",
        *(
            [
                f"![reward / oracle against N]({relative_link(Path(figures) / 'scale_ratio.png', md)})",
                "",
                f"![CPU s per training run against N]({relative_link(Path(figures) / 'scale_cost.png', md)})",
            ]
            if rows
            else ["None yet: they are drawn from the records."]
        ),
        "",
        "## Conventions",
        "",
        f"- Rewards: the mean over the evaluation episodes (the same episodes, seed {EVAL_SEED}, for "
        "every method, seed and N) of sum_t sum_n log2(1 + beta^n(t)) on ACK. Ours is evaluated "
        "greedily (argmax), as in Table I.",
        "- **std**: for ours the sample std (ddof 1) over training seeds of the seeds' mean "
        "rewards; for a baseline the sample std over evaluation episodes (it has no training "
        "seed: `seeds` is empty in the CSV).",
        "- **trial_cpu_s**: CPU seconds of the trial's process (`time.process_time`, which counts "
        "every thread of the process, Ray's own included), mean over seeds for ours; "
        f"{wall_fallback} of {len(records)} records lack it and count their wall time instead.",
        "- **episodes_trained**: training episodes of one run of ours (0 for baselines).",
        "",
    ]
    if runs_log:
        lines += (
            ["## Runs", ""]
            + [
                f"- `{r['command']}`: {r['trials_run']} trials finished, {r['unfinished']} "
                f"unfinished, {len(r['failed'])} failed, wall {r['wall_s'] / 60:.1f} min, "
                f"{r['finished_at']}, {r['machine']}"
                for r in runs_log
            ]
            + [""]
        )
    return "\n".join(lines)


def build_report(
    output: Path,
    md: Path,
    csv_path: Path,
    figures: Path,
    probe_dir: Path = PROBE_DIR,
    reference: Optional[Path] = None,
    allow_mixed_commits: bool = False,
) -> List[Dict[str, Any]]:
    """Write the CSV, both figures and the md from ``output``'s records; returns the CSV rows.
    With ``reference`` (another study folder, e.g. the float32 study's for the bf16 one), the
    md also compares ours with ours there, paired by seed (:func:`paired_with`). A row of ours
    whose seeds are not of one commit from a clean tree raises :class:`pooling.MixedCodeError`
    unless ``allow_mixed_commits`` (then the tables mark it)."""
    records = load_records(output)
    marks = mixed_rows(records, allow_mixed_commits, output)
    rows = table_rows(records)
    write_csv(rows, Path(csv_path))
    setups = sorted({r["setup"] for r in rows}) or ["A"]
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    if rows:  # no figure of nothing
        scale_figures.plot_ratio(
            rows, setups, methods, LABELS, GOAL_RATIO, Path(figures) / "scale_ratio.png"
        )
        scale_figures.plot_cost(
            [r for r in records if r["row"] == OURS], setups, Path(figures) / "scale_cost.png"
        )
    probe = load_records(probe_dir) if Path(probe_dir).is_dir() else []
    probe_command = next((r["command"] for r in reversed(read_log(probe_dir))), MISSING)
    Path(md).parent.mkdir(parents=True, exist_ok=True)
    paired = (
        paired_with(records, load_records(reference))
        if reference and Path(reference).is_dir()
        else []
    )
    write_text_atomic(
        Path(md),
        markdown(
            rows,
            goal_cells(rows),
            records,
            probe,
            probe_command,
            read_log(output),
            Path(md),
            Path(csv_path),
            Path(figures),
            paired,
            reference,
            relative_link(output, md),
            marks,
            rebuild_command(output, reference),
        ),
    )
    return rows


def mixed_rows(records, allow_mixed_commits: bool, output: Path) -> Dict[tuple, str]:
    """(setup, N, method) -> mark of the rows of ``records`` (one study folder's) that pool
    seeds not of one commit from a clean tree (:func:`pooling.check_rows`, which refuses them
    unless ``allow_mixed_commits``)."""
    by_row: Dict[tuple, List[Dict[str, Any]]] = {}
    for r in records:
        by_row.setdefault((r["setup"], r["num_users"], r["row"]), []).append(r)
    return pooling.check_rows(
        by_row,
        allow_mixed_commits,
        f"the scale report of {output}",
        lambda k: f"{k[0]}, N = {k[1]}, {k[2]}",
    )


def rebuild_command(output: Path, reference: Optional[Path]) -> str:
    """The command that rebuilds the report of ``output`` (paths relative to the current
    directory, the checkout's root)."""
    command = f"python -m rllib_experiments scale --report-only --output {_relative(output)}"
    return command + (f" --reference {_relative(reference)}" if reference else "")


def _relative(path: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve())).as_posix()
