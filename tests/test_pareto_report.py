"""The Pareto report on records made here: rows parsed into methods, ratios per seed with the
t-interval, the CSV's columns, the fronts, the verdict per byte budget, the pooling rule, the
command's errors."""

from __future__ import annotations

import csv
import json
import math

import pytest

from rllib_experiments.studies.common.pooling import MixedCodeError
from rllib_experiments.studies.common.statistics import t_interval
from rllib_experiments.studies.pruning import pareto_report as pr

COMMIT = "a" * 40


def _rec(row, seed, greedy, size, setup="A", commit=COMMIT, dirty=False):
    return {
        "trial": f"{setup}__{row}__s{seed}",
        "budget": "paper",
        "final_reward": greedy,
        "kind": "learning",
        "row": row,
        "setup": setup,
        "seed": seed,
        "final_greedy": greedy,
        "oracle_reference": 2000.0,
        "actor_bytes": {"int8": size, "float32": 4 * size},
        "sparsity_all": 0.95,
        "wall_s": 100.0 + seed,
        "code": {"commit": commit, "dirty": dirty},
    }


RECORDS = [
    *(_rec("ours+head_dense+all0.95", s, 1940.0 + s, 23000) for s in range(3)),
    *(_rec("ours+rigl+erk+head_dense+all0.95", s, 1900.0 + 2 * s, 23500) for s in range(3)),
    *(_rec("ours_dense+width44", s, 1800.0 + 10 * s, 22600) for s in range(3)),
    *(_rec("ours+head_dense+all0.98", s, 1600.0, 13400) for s in range(3)),
    _rec("ours", 0, 1900.0, 23000),  # not a Pareto row: left out
    _rec("ours_dense+width44", 0, 1800.0, 22600, setup="C"),
]


def test_rows_are_read_as_methods():
    assert pr.describe("ours_dense+width44") == {
        "method": "dense",
        "distribution": None,
        "width": 44,
    }
    assert pr.describe("ours+rigl+erk+head_dense+all0.95") == {
        "method": "rigl",
        "distribution": "erk",
        "width": 128,
    }
    assert pr.describe("ours+global+biases+all0.995")["method"] == "magnitude"
    assert pr.describe("ours") is None and pr.describe("dense+p0.9") is None


def test_points_hold_every_seed_and_the_t_interval():
    points = pr.pareto_points(RECORDS)
    assert [(p["setup"], p["method"], p["int8_bytes"]) for p in points] == [
        ("A", "magnitude", 13400),
        ("A", "magnitude", 23000),
        ("A", "rigl", 23500),
        ("A", "dense", 22600),
        ("C", "dense", 22600),
    ]
    mag = points[1]
    assert mag["per_seed"] == [0.97, 0.9705, 0.971] and mag["seeds"] == [0, 1, 2]
    assert mag["mean_ratio"] == pytest.approx(0.9705)
    assert mag["ci"] == pytest.approx(t_interval([0.97, 0.9705, 0.971]))
    assert mag["cpu_s_per_run"] == 101.0
    assert math.isnan(points[-1]["ci"][0])  # one seed: no interval


def test_fronts_keep_only_points_no_other_beats():
    points = pr.pareto_points(RECORDS)
    front = pr.fronts(points)
    assert [p["int8_bytes"] for p in front[("A", "magnitude")]] == [13400, 23000]
    worse = pr.pareto_points(RECORDS + [_rec("ours+head_dense+all0.9", 0, 1500.0, 38000)])
    assert [p["int8_bytes"] for p in pr.fronts(worse)[("A", "magnitude")]] == [13400, 23000]


def test_the_verdict_names_the_best_method_at_each_budget():
    lines = pr.verdicts(pr.pareto_points(RECORDS))
    assert lines[0] == "A, up to 13400 B: magnitude (0.800 of the oracle)"
    assert lines[1].startswith("A, up to 23000 B: magnitude (0.971 of the oracle; next rigl 0.951")
    assert "the intervals do not overlap" in lines[1]


def test_the_report_csv_figure_and_pooling_rule(tmp_path):
    md, path, figures = tmp_path / "pareto.md", tmp_path / "pareto.csv", tmp_path / "figs"
    pr.build_report(RECORDS, md, path, figures)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == pr.COLUMNS and len(rows) == 5
    assert rows[1]["method"] == "magnitude" and json.loads(rows[1]["per_seed"]) == [
        0.97,
        0.9705,
        0.971,
    ]
    assert rows[-1]["ci_low"] == "" and rows[-1]["seeds"] == "1"
    assert (figures / "pareto_A.png").is_file() and (figures / "pareto_C.png").is_file()
    text = md.read_text()
    assert "![A](figs/pareto_A.png)" in text and "| A | rigl | erk |" in text
    mixed = RECORDS + [_rec("ours+head_dense+all0.95", 3, 1950.0, 23000, commit="b" * 40)]
    with pytest.raises(MixedCodeError, match=r"A / ours\+head_dense\+all0.95"):
        pr.pareto_points(mixed)
    marked = pr.pareto_points(mixed, allow_mixed_commits=True)
    assert marked[1]["mark"].startswith("mixed:")
    with pytest.raises(pr.NoParetoRecords):
        pr.build_report([_rec("ours", 0, 1.0, 1)], md, path, figures)


def test_the_command_names_the_output_without_pareto_records(tmp_path, capsys):
    from rllib_experiments.cli.pruning_study import main

    (tmp_path / "trials").mkdir()
    (tmp_path / "trials" / "A__ours__s0.json").write_text(json.dumps(_rec("ours", 0, 1.0, 1)))
    with pytest.raises(SystemExit):
        main(["--pareto-report", "--output", str(tmp_path)])
    assert "argument --output: no record of a Pareto row" in capsys.readouterr().err
