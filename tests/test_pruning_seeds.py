"""The pruning report's section on the paper's statistic (rllib_experiments.studies.pruning.seeds): the
best seed beside the mean, std and bootstrap CI over a fixed list of seeds, checked by hand on
made-up records; records of other seeds left out; the paper's Table I figure from the rows
registry; the CSV, the figure and the CLI's report path."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from rllib_experiments.studies.pruning import report as pr
from rllib_experiments.studies.pruning import seeds as pseeds
from rllib_experiments.studies.common.formatting import MISSING
from rllib_experiments.studies.common.statistics import t_interval

from test_pruning_report import _record


def _summary():
    recs = [_record("A", "harmonic", s, v, v + 1000) for s, v in enumerate([900.0, 1100.0, 1000.0])]
    recs += [_record("A", "harmonic", 7, 5000.0, 5000.0)]  # a seed outside the table's 0-4
    recs += [
        _record("A", "harmonic+head_dense", s, v, v, scope="head_dense")
        for s, v in enumerate([1800.0, 2000.0, 1900.0, 2100.0, 1950.0])
    ]
    recs += [_record("B", "harmonic", 0, 800.0, 1600.0)]
    return pr.summarize(recs)


def test_statistics_over_the_tables_seeds_only_by_hand():
    entries = pseeds.seed_rows(_summary(), ["harmonic", "harmonic+head_dense", "dense"], range(5))
    by = {(e["setup"], e["config"]): e for e in entries}
    assert set(by) == {
        ("A", "harmonic"),
        ("A", "harmonic+head_dense"),
        ("B", "harmonic"),
    }  # no dense run
    h = by["A", "harmonic"]
    # seeds 0-2 of 0-4: seed 7's 5000 is not counted, not the best
    assert (h["seeds"], h["of"], h["missing"]) == (3, 5, [3, 4])
    assert h["mean_sampled"] == pytest.approx(1000.0) and h["std_sampled"] == pytest.approx(100.0)
    assert h["mean_greedy"] == pytest.approx(2000.0)
    assert (h["best_sampled"], h["best_seed"]) == (1100.0, 1)
    assert h["ci_sampled"] == t_interval([900.0, 1100.0, 1000.0])
    # the paper's Table I figure of harmonic in A, and best / paper
    assert h["paper"] == 1826.86 and h["best_to_paper"] == pytest.approx(1100.0 / 1826.86)
    hd = by["A", "harmonic+head_dense"]
    assert hd["paper"] is None and hd["best_to_paper"] is None and hd["missing"] == []
    assert hd["std_sampled"] == pytest.approx(np.std([1800, 2000, 1900, 2100, 1950], ddof=1))
    one = by["B", "harmonic"]  # one seed: no std, no interval
    assert one["std_sampled"] is None and all(math.isnan(x) for x in one["ci_sampled"])


def test_markdown_says_when_the_table_is_unfinished():
    entries = pseeds.seed_rows(_summary(), ["harmonic", "harmonic+head_dense"], range(5))
    lines = pseeds.seed_table_lines(
        entries, ["harmonic", "harmonic+head_dense"], list(range(5)), "python -m x --study s"
    )
    text = "\n".join(lines)
    assert lines[0] == "## The paper's statistic on seeds 0-4"
    assert "**In progress: 9 of the 20 trials of these rows are done**" in text
    assert "| A | `harmonic` | 3 | 1826.86 | 1100.0 (1) | 0.602 | 1000.0 ± 100.0 |" in text
    assert (
        f"| B | `harmonic` | 1 | 1223.41 | 800.0 (0) | 0.654 | 800.0 ± {MISSING} | {MISSING} | 1600.0 ± {MISSING} | {MISSING} |"
        in text
    )
    assert pseeds.seed_table_lines([], ["harmonic"], [0], "x") == []
    full = pseeds.seed_rows(_summary(), ["harmonic+head_dense"], range(5))
    assert "In progress" not in "\n".join(
        pseeds.seed_table_lines(full, ["harmonic+head_dense"], list(range(5)), "x")
    )


def test_report_writes_the_section_its_csv_and_figure(tmp_path, check_png):
    raw = tmp_path / "raw"
    (raw / "trials").mkdir(parents=True)
    for s, v in enumerate([900.0, 1100.0, 1000.0]):
        r = _record("A", "harmonic", s, v, v + 1000)
        (raw / "trials" / f"{r['trial']}.json").write_text(json.dumps(r))
    md, csv_path, figs = tmp_path / "pruning.md", tmp_path / "pruning.csv", tmp_path / "figs"
    pr.build_report(raw, md, csv_path, figs, seed_table=(["harmonic", "dense"], range(10), "cmd"))
    text = md.read_text()
    assert text.index("## The paper's statistic on seeds 0-9") < text.index("## Setup A")
    assert "figs/pruning_paper_seeds_A.png" in text
    check_png(figs / "pruning_paper_seeds_A.png", 660, 462)
    with open(tmp_path / "pruning_paper_seeds.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert (
        len(rows) == 1
        and rows[0]["config"] == "harmonic"
        and rows[0]["missing_seeds"] == "3 4 5 6 7 8 9"
    )
    assert float(rows[0]["mean_sampled"]) == pytest.approx(1000.0) and rows[0]["paper"] == "1826.86"
    # without the section: no CSV of it, no heading
    other = tmp_path / "other"
    pr.build_report(raw, other / "pruning.md", other / "pruning.csv", other)
    assert "## The paper's statistic" not in (other / "pruning.md").read_text()
    assert not (other / "pruning_paper_seeds.csv").exists()


def test_cli_report_has_the_paper_seeds_section(tmp_path):
    from rllib_experiments.cli import pruning_study

    raw = tmp_path / "raw"
    (raw / "trials").mkdir(parents=True)
    r = _record("B", "linear", 3, 700.0, 1500.0, schedule="linear")
    (raw / "trials" / f"{r['trial']}.json").write_text(json.dumps(r))
    assert pruning_study.main(["--report-only", "--output", str(raw)]) == 0
    text = (raw / "pruning.md").read_text()
    assert "`python -m rllib_experiments pruning_study --study paper_seeds`" in text
    assert "| B | `linear` | 1 | 1083.76 | 700.0 (3) | 0.646 |" in text
    assert "**In progress: 1 of the 70 trials of these rows are done**" in text
