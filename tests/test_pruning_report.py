"""The pruning study's report (rllib_experiments.studies.pruning.report, .pruning_figures): statistics
checked by hand on made-up records, the CSV columns the issue asks for, the comparisons paired
by seed, the Pareto front, the figures drawn from the data, and the reports restricted to chosen
seeds. Its command line: tests/test_pruning_study.py."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from rllib_experiments.studies.pruning import report as pr
from rllib_experiments.studies.pruning import sparsity as ps
from rllib_experiments.studies.common.statistics import t_interval
from rllib_experiments.studies.pruning.figures import pareto_front


def _record(
    setup,
    row,
    seed,
    sampled,
    greedy,
    *,
    schedule="harmonic",
    scope="all",
    sparsity_all=0.94,
    nbytes=None,
    iterations=20,
    code=None,
):
    trace = {
        "entropy": list(np.linspace(1.7, 0.2, iterations)),
        "mean_sparsity": list(np.linspace(0, 0.95, iterations)),
        "mean_target_sparsity": list(np.linspace(0, 0.95, iterations)),
        "train_reward": [100.0] * iterations,
    }
    return {
        "trial": f"{setup}__{row}__s{seed}",
        "row": row,
        "label": row,
        "setup": setup,
        "seed": seed,
        "kind": "learning",
        "budget": "paper",
        "final_reward": sampled,
        "final_stochastic": sampled,
        "final_greedy": greedy,
        "sparsity_prunable": 0.95 if schedule != "none" else 0.0,
        "sparsity_all": sparsity_all if schedule != "none" else 0.0,
        "settings": {
            "schedule": schedule,
            "prune_scope": scope,
            "prune_mode": "regrow",
            "prune_interval": 5,
            "final_sparsity": 0.95,
        },
        "actor_bytes": nbytes,
        "oracle_reference": 2000.0,
        "trace": trace,
        "env_kwargs": {"setup": setup},
        "eval_episodes": 100,
        "eval_seed": 12345,
        "wall_s": 600.0,
        "code": code or CLEAN,
    }


#: One commit from a clean tree: what a record of a row the reports pool without a flag holds.
CLEAN = {"commit": "269a1ec0171ca8dbfe645bcd910e40da15bc4262", "dirty": False}


def _records():
    recs = []
    for seed, (a, b, d) in enumerate([(1000, 1900, 1500), (1100, 2000, 1600), (1200, 2100, 1700)]):
        recs.append(
            _record("A", "harmonic", seed, a, a + 500, nbytes={"float32": 30000, "int8": 20000})
        )
        recs.append(
            _record(
                "A",
                "harmonic+head_dense",
                seed,
                b,
                b + 50,
                scope="head_dense",
                sparsity_all=0.93,
                nbytes={"float32": 33000, "int8": 21000},
            )
        )
        recs.append(
            _record(
                "A",
                "dense",
                seed,
                d,
                d,
                schedule="none",
                nbytes={"float32": 600000, "int8": 160000},
            )
        )
    return recs


def test_rows_and_comparisons_give_t_intervals():
    """A row's interval is the t-interval of its seeds' mean; a comparison's that of the mean of
    the per-seed differences (seeds 0-2 of _records: harmonic 1000, 1100, 1200 sampled)."""
    summary = pr.summarize(_records())
    h = next(e for e in summary if e["config"] == "harmonic")
    half = 4.302653 * 100.0 / math.sqrt(3)  # t_{0.975, 2} x s / sqrt(n), s = 100
    assert h["ci_sampled"] == pytest.approx((1100.0 - half, 1100.0 + half), abs=1e-3)
    for c in pr.compare(summary):
        a = next(e for e in summary if e["config"] == c["variant"] and e["setup"] == c["setup"])
        b = next(e for e in summary if e["config"] == c["base"] and e["setup"] == c["setup"])
        seeds = sorted(set(a["per_seed"]) & set(b["per_seed"]))
        d = [a["per_seed"][s][0] - b["per_seed"][s][0] for s in seeds]
        assert c["diff_sampled"] == pytest.approx(np.mean(d))
        assert c["ci_sampled"] == t_interval(d)


def test_summary_statistics_by_hand():
    summary = {e["config"]: e for e in pr.summarize(_records())}
    h = summary["harmonic"]
    assert (
        h["seeds"] == 3
        and h["mean_sampled"] == pytest.approx(1100)
        and h["std_sampled"] == pytest.approx(100)
    )
    assert h["mean_greedy"] == pytest.approx(1600) and (h["best_sampled"], h["best_seed"]) == (
        1200,
        2,
    )
    assert h["dense_mean_sampled"] == pytest.approx(1600)  # the dense row of the same setup
    assert h["ratio_sampled_to_dense"] == pytest.approx(1100 / 1600)
    assert h["ratio_greedy_to_oracle"] == pytest.approx(1600 / 2000)
    assert h["bytes_float32"] == 30000 and h["bytes_int8"] == 20000
    assert summary["harmonic+head_dense"]["scope"] == "head_dense"
    d = summary["dense"]
    assert d["scope"] == "" and d["final_sparsity"] == 0.0 and d["prune_mode"] == ""
    assert pr.dense_reference("ours+head_dense+all0.98") == "ours_dense"
    # the last 20 % (4 of 20 iterations) of linspace(1.7, 0.2, 20): its last four values
    assert h["late_entropy"] == pytest.approx(np.mean(np.linspace(1.7, 0.2, 20)[-4:]))
    assert h["final_entropy"] == pytest.approx(0.2)
    assert h["late_sparsity"] == pytest.approx(np.mean(np.linspace(0, 0.95, 20)[-4:]))


def test_comparisons_are_paired_by_seed():
    recs = _records() + [_record("A", "harmonic+head_dense", 7, 5000, 5000, scope="head_dense")]
    comps = {(c["variant"], c["base"]): c for c in pr.compare(pr.summarize(recs))}
    c = comps[("harmonic+head_dense", "harmonic")]
    assert c["seeds"] == 3  # seed 7 has no harmonic partner
    assert c["diff_sampled"] == pytest.approx(900) and c["diff_greedy"] == pytest.approx(450)
    assert c["ci_sampled"] == (900.0, 900.0)  # the same difference on every seed


def test_pareto_front():
    points = [(100, 5.0), (200, 4.0), (300, 6.0), (50, 1.0), (300, 2.0)]
    assert sorted(pareto_front(points)) == [0, 2, 3]


def test_report_files(tmp_path, plotted, check_png):
    raw = tmp_path / "raw"
    (raw / "trials").mkdir(parents=True)
    for r in _records():
        (raw / "trials" / f"{r['trial']}.json").write_text(json.dumps(r))
    md, csv_path, figs = tmp_path / "pruning.md", tmp_path / "pruning.csv", tmp_path / "figs"
    pr.build_report(raw, md, csv_path, figs)
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    issue_columns = (
        "setup,config,schedule,scope,prune_mode,prune_interval,final_sparsity,"
        "sparsity_all_params,seeds,mean_sampled,std_sampled,mean_greedy,std_greedy,"
        "dense_mean_sampled"
    ).split(",")
    assert list(rows[0])[: len(issue_columns)] == issue_columns
    assert {r["config"] for r in rows} == {"harmonic", "harmonic+head_dense", "dense"}
    text = md.read_text()
    assert "| `harmonic+head_dense` − `harmonic` |" in text and "+900.0" in text
    for name in ("pruning_reward_sparsity_A.png", "pruning_pareto_A.png", "pruning_entropy_A.png"):
        size = {"entropy": (1100, 825), "pareto": (990, 715), "reward": (1320, 616)}[
            name.split("_")[1]
        ]
        check_png(figs / name, *size)
        assert f"figs/{name}" in text
    entropy = plotted["pruning_entropy_A.png"][0]
    assert np.allclose(entropy["harmonic (3 seeds)"][1], np.linspace(1.7, 0.2, 20))
    pareto = plotted["pruning_pareto_A.png"][0]
    assert list(pareto["Pareto front (float32)"][0]) == [30000, 33000]  # dense is larger and worse


def test_mechanics_entropy_figures(tmp_path, plotted, check_png):
    """The mechanics rows get their own entropy figures; a figure whose configurations have
    different schedules draws one dashed scheduled line per configuration, in its colour,
    and a figure with fewer than two of its configurations run is not drawn."""
    from rllib_experiments.studies.pruning import figures as pf

    recs = _records()
    for seed in range(2):
        amp0 = _record("A", "harmonic+amp0", seed, 1500, 2000)
        amp0["trace"]["mean_target_sparsity"] = list(np.linspace(0, 0.9, 20))
        recs.append(amp0)
    out = pf.plot_all(recs, pr.summarize(recs), tmp_path)
    names = {Path(p).name for p in out.values()}
    assert "pruning_entropy_shape_A.png" in names  # harmonic and harmonic+amp0
    assert "pruning_entropy_timing_A.png" not in names  # only harmonic of its rows was run
    check_png(tmp_path / "pruning_entropy_shape_A.png", 1100, 825)
    top, bottom = plotted["pruning_entropy_shape_A.png"][:2]
    assert set(top) == {
        "harmonic (3 seeds)",
        "harmonic+amp0 (2 seeds)",
        "uniform over 6 actions (ln 6)",
    }
    assert "scheduled sparsity (dashed)" in bottom  # the schedules differ
    # the scope figure's configurations share one schedule: one black line, the harmonic row's
    bottom = plotted["pruning_entropy_A.png"][1]
    assert np.allclose(bottom["scheduled sparsity"][1], np.linspace(0, 0.95, 20))


def test_short_names_show_in_the_tables_and_the_csv_keeps_the_row(tmp_path):
    """A long row key (a searched configuration) is shown by its short name, listed once with
    the key it stands for; the CSV's `config` stays the key, which `--rows` trains."""
    long_row = "harmonic+head_dense+hold+start0.125+end0.875+iprune20+alr0.0003+clr0.0002"
    raw = tmp_path / "raw"
    (raw / "trials").mkdir(parents=True)
    for seed in range(2):
        r = _record("A", long_row, seed, 1500.0 + seed, 1600.0, scope="head_dense")
        (raw / "trials" / f"{r['trial']}.json").write_text(json.dumps(r))
    md, csv_path = tmp_path / "pruning.md", tmp_path / "pruning.csv"
    summary = pr.build_report(raw, md, csv_path, tmp_path / "figs", names={long_row: "searched"})
    assert [(e["config"], e["name"]) for e in summary] == [(long_row, "searched")]
    text = md.read_text()
    assert "| `searched` | 2 | 1500.5 ± 0.7 |" in text
    assert f"- `searched`: `{long_row}`" in text
    assert text.count(long_row) == 1
    with open(csv_path, newline="") as f:
        assert [r["config"] for r in csv.DictReader(f)] == [long_row]


def test_seed_labels():
    assert pr.seed_label([4, 0, 1, 2, 3]) == "0-4"
    assert pr.seed_label([0, 2, 7]) == "0_2_7"
    assert pr.seed_label([5]) == "5"


def test_sparsity_answers_apply_the_issue_criteria_by_hand():
    recs = []
    # ours_dense greedy 2000 (= the oracle): the reference of the ours family
    # ours+...+all0.95: greedy 1960 / 2000 = 0.98 >= 0.95, 5 seeds: met
    # ours+...+all0.99: greedy 1800 / 2000 = 0.90 < 0.95, 5 seeds: not met
    # ours+...+all0.995: greedy 1990, 2 seeds only: provisional, whatever its value
    # harmonic+head_dense+all0.98: no `dense` records, so no reference for the paper family
    for seed in range(5):
        recs.append(_record("A", "ours_dense", seed, 1900, 2000, schedule="none"))
        recs.append(_record("A", "ours+head_dense+all0.95", seed, 1900, 1960, sparsity_all=0.95))
        recs.append(_record("A", "ours+global+biases+all0.99", seed, 1700, 1800, sparsity_all=0.99))
        recs.append(
            _record("A", "harmonic+head_dense+all0.98", seed, 1500, 1600, sparsity_all=0.98)
        )
    for seed in range(2):
        recs.append(
            _record("A", "ours+global+biases+all0.995", seed, 1900, 1990, sparsity_all=0.995)
        )
    recs.append(_record("A", "harmonic", 0, 1000, 1500))  # not a sparsity configuration
    answers = {a["config"]: a for a in ps.sparsity_answers(pr.summarize(recs))}
    assert "harmonic" not in answers
    assert answers["ours+head_dense+all0.95"]["value"] == pytest.approx(0.98)
    assert answers["ours+head_dense+all0.95"]["status"] == "met"
    assert answers["ours+global+biases+all0.99"]["value"] == pytest.approx(0.90)
    assert answers["ours+global+biases+all0.99"]["status"] == "not met"
    assert answers["ours+global+biases+all0.995"]["status"].startswith("provisional (2 of 5")
    assert answers["harmonic+head_dense+all0.98"]["status"] == "no reference yet"
    assert answers["ours_dense"]["value"] == pytest.approx(1.0)
    best = ps.sparsest_good(ps.sparsity_answers(pr.summarize(recs)))
    assert best[("A", "ours")]["config"] == "ours+head_dense+all0.95"
    assert best[("A", "paper")] is None
    text = "\n".join(ps.sparsity_lines(pr.summarize(recs)))
    assert "sparsest good actor: `ours+head_dense+all0.95`, 0.9500" in text
    assert "paper settings: sparsest good actor: none yet" in text


def test_a_sparsity_configuration_can_fail_before_its_fifth_seed():
    """Greedy / oracle is at most 1 per seed, so 2 seeds at 0.5 allow at most
    (2 * 0.5 + 3 * 1) / 5 = 0.8 < 0.95 over 5 seeds: decided; 2 seeds at 0.9 allow
    (1.8 + 3) / 5 = 0.96: still open. The paper family has no such ceiling."""
    recs = []
    for seed in range(2):
        recs.append(
            _record("A", "ours+global+biases+all0.995", seed, 900, 1000, sparsity_all=0.995)
        )
        recs.append(_record("A", "ours+global+biases+all0.99", seed, 1700, 1800, sparsity_all=0.99))
    answers = {a["config"]: a for a in ps.sparsity_answers(pr.summarize(recs))}
    assert ps.best_possible("ours", 0.5, 2) == pytest.approx(0.8)
    assert ps.best_possible("ours", 0.9, 2) == pytest.approx(0.96)
    assert ps.best_possible("ours", 0.9, 5) == pytest.approx(0.9)
    assert ps.best_possible("paper", 0.5, 2) is None
    assert answers["ours+global+biases+all0.995"]["status"] == (
        "not met whatever the other seeds: at most 0.800 over 5 seeds"
    )
    assert answers["ours+global+biases+all0.99"]["status"].startswith("provisional (2 of 5")
    text = "\n".join(ps.sparsity_lines(pr.summarize(recs)))
    assert "ours settings: sparsest good actor: none yet" in text  # all0.99 is still open
    decided = [r for r in recs if r["row"] != "ours+global+biases+all0.99"]
    text = "\n".join(ps.sparsity_lines(pr.summarize(decided)))
    assert "ours settings: sparsest good actor: none (no configuration meets it)" in text


def test_a_row_never_mixes_file_sizes_of_two_writers():
    """Sizes depend on the file writer: a row's mean takes the newest writer's records only."""
    from dsa_pettingzoo.deploy import FORMAT_VERSION

    recs = [
        _record(
            "A",
            "ours+global+biases+all0.99",
            s,
            700,
            2000,
            nbytes={"float32": 14000 + s, "int8": 13000},
        )
        for s in range(3)
    ]
    recs[2]["actor_bytes"] = {"float32": 12000, "int8": 10000}
    recs[2]["actor_bytes_format"] = FORMAT_VERSION
    (e,) = pr.summarize(recs)
    assert (e["bytes_float32"], e["bytes_int8"], e["bytes_format"], e["bytes_seeds"]) == (
        12000,
        10000,
        FORMAT_VERSION,
        1,
    )
    assert pr.bytes_text(e, "bytes_float32", "bytes_int8") == "12000 / 10000 (1 seeds)"
    (old,) = pr.summarize(recs[:2])  # records without the field were written by format 2's writer
    assert (old["bytes_float32"], old["bytes_format"]) == (14000.5, 2)
    assert pr.bytes_text(old, "bytes_int8") == "13000 (v2)"
    assert pr.summarize([_record("A", "x", 0, 1, 1)])[0]["bytes_format"] is None


def test_seeds_of_mixed_code_are_refused_unless_allowed_then_marked(tmp_path):
    """A row pools seeds of one commit from a clean tree; otherwise the report stops, naming the
    row, its code and the flag, or with the flag marks the row and lists its code."""
    from rllib_experiments.studies.common.pooling import MixedCodeError

    raw = tmp_path / "raw"
    (raw / "trials").mkdir(parents=True)
    recs = _records()
    dirty = {"commit": "12f0b2e6e42f2d792cc6ded72bf47ffa08cb907c", "dirty": True}
    for r in recs:
        if r["row"] == "harmonic" and r["seed"] == 2:
            r["code"] = dirty
        if r["row"] == "dense" and r["seed"] == 2:
            del r["code"]  # an old record: unknown code
        (raw / "trials" / f"{r['trial']}.json").write_text(json.dumps(r))
    md, csv_path = tmp_path / "pruning.md", tmp_path / "pruning.csv"
    with pytest.raises(MixedCodeError) as err:
        pr.build_report(raw, md, csv_path, None)
    msg = str(err.value)
    assert "--allow-mixed-commits" in msg and not md.exists()
    assert "A / harmonic: mixed: 269a1ec (2 seeds), 12f0b2e dirty (1)" in msg
    assert "A / dense: mixed: 269a1ec (2 seeds), unknown code (1)" in msg
    pr.build_report(raw, md, csv_path, None, allow_mixed_commits=True)
    text = md.read_text()
    assert "pruning_study --report-only --allow-mixed-commits`" in text
    assert "| `harmonic` | 3 † |" in text and "| `harmonic+head_dense` | 3 |" in text
    assert "- † `harmonic`: mixed: 269a1ec (2 seeds), 12f0b2e dirty (1)" in text
    # only the seeds a report keeps count: seeds 0-1 are of one clean commit
    pr.build_report(raw, md, csv_path, None, seeds=[0, 1])
    assert "†" not in md.read_text()
