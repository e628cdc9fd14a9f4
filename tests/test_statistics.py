"""Summaries over seeds and how every report prints them: the one statistics module
(rllib_experiments/studies/common/statistics.py) with values derived by hand, the one formatting
of numbers and missing values (studies/common/formatting.py), and the same convention in every
report that prints a mean ± std over seeds (one seed: no std, printed as the missing-value mark)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from rllib_experiments.studies.common.formatting import MISSING, ci_text, is_missing, number_text
from rllib_experiments.studies.common.statistics import bootstrap_ci, mean_std, mean_std_ci

REPO = Path(__file__).resolve().parents[1]


def test_mean_and_sample_std_over_seeds():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)  # mean 2; ((1 + 0 + 1) / (3 - 1)) ** 0.5 = 1
    mean, std = mean_std([2, 4, 4, 4, 5, 5, 7, 9])  # mean 5; squares 32 / 7
    assert mean == 5.0 and std == pytest.approx(math.sqrt(32 / 7))
    assert isinstance(mean, float) and isinstance(std, float)


def test_one_seed_has_no_std_and_no_seed_nothing():
    assert mean_std([7.5]) == (7.5, None)
    assert mean_std([]) == (None, None)
    one = mean_std_ci([7.5])
    assert one["mean"] == 7.5 and one["std"] is None and all(math.isnan(x) for x in one["ci"])
    assert mean_std_ci([])["mean"] is None


def test_curves_over_seeds_are_summarized_point_by_point():
    mean, std = mean_std([[1.0, 10.0], [3.0, 14.0]])  # two seeds, two points
    assert list(mean) == [2.0, 12.0]
    assert list(std) == pytest.approx([math.sqrt(2), math.sqrt(8)])
    mean, std = mean_std([[1.0, 10.0]])  # one seed: the curve itself, no band
    assert list(mean) == [1.0, 10.0] and std is None


def test_summaries_match_numpy_bit_for_bit():
    """The reports' numbers were numpy's before the module existed: they must not move."""
    rng = np.random.default_rng(3)
    v = rng.normal(2000, 300, size=10)
    mean, std = mean_std(list(v))
    assert mean == float(np.mean(v)) and std == float(np.std(v, ddof=1))
    s = mean_std_ci(v)
    assert (s["mean"], s["std"], s["ci"]) == (mean, std, bootstrap_ci(v))


def test_bootstrap_ci_brackets_the_mean_and_is_seeded():
    lo, hi = bootstrap_ci([1.0, 2.0, 3.0])
    assert 1.0 <= lo < 2.0 < hi <= 3.0
    assert bootstrap_ci([1.0, 2.0, 3.0]) == (lo, hi)
    assert bootstrap_ci([4.0, 4.0]) == (4.0, 4.0)


def test_missing_values_print_as_the_one_mark():
    assert MISSING == "\u2013"  # an en dash, in every report
    for value in (None, "", math.nan):
        assert is_missing(value) and number_text(value, 2) == MISSING
    assert not is_missing(0.0) and number_text(0.0, 1) == "0.0"
    assert number_text(0.96549, 3) == "0.965" and number_text(12.345, 1) == "12.3"
    assert number_text(13956.0, 0) == "13956"
    assert ci_text((1.25, 2.75), 1) == "[1.2, 2.8]" and ci_text((1554.4, 1905.1)) == "[1554, 1905]"
    assert ci_text(None) == MISSING and ci_text((math.nan, math.nan)) == MISSING
    assert ci_text((math.nan, math.nan), missing="") == ""  # a CSV cell


# ------------------------------------------------------------------ the reports, one seed
def _one_seed_lines():
    """A mean ± std line of every report that prints one, for a row with one seed."""
    from rllib_experiments.studies.common import schedule_grid as sg
    from rllib_experiments.studies.pruning import report as pr
    from rllib_experiments.studies.pruning import seeds as pseeds
    from rllib_experiments.studies.table1 import report as table1
    from test_pruning_report import _record

    summary = pr.summarize([_record("A", "harmonic", 0, 900.0, 1900.0)])
    pruning = pr.render_markdown(summary, [], [], {})
    paper = "\n".join(
        pseeds.seed_table_lines(
            pseeds.seed_rows(summary, ["harmonic"], [0]), ["harmonic"], [0], "cmd"
        )
    )
    trial = {
        "setup": "A",
        "row": "ours",
        "label": "ours",
        "seed": "0",
        "kind": "learning",
        "budget": "paper",
        "iterations": "300",
        "episodes_trained": "2400",
        "eval_mode": "greedy",
        "eval_episodes": "100",
        "final_reward": "2500.0",
        "final_reward_std": "30.0",
        "final_stochastic": "2400.0",
        "final_greedy": "2500.0",
        "sparsity_prunable": "0.95",
        "sparsity_all": "0.94",
        "wall_s": "10",
    }
    table = table1.render_table(table1.summarize([trial]), [], ["ours"])
    tune = sg.to_markdown(
        sg.summarize(
            [
                {
                    "schedule": "harmonic",
                    "final_sparsity": 0.95,
                    "critic_mode": "paper",
                    "seed": 0,
                    "status": "ok",
                    "mean_reward": 900.0,
                    "greedy_mean_reward": 950.0,
                    "aloha_mean_reward": 1000.0,
                    "mean_final_sparsity": 0.95,
                }
            ]
        ),
        "t",
    )
    return {"pruning": pruning, "pruning seeds": paper, "table1": table, "tune_schedules": tune}


def test_one_seed_prints_the_missing_mark_in_every_report():
    for name, text in _one_seed_lines().items():
        spreads = re.findall(r"\d ± (\S+)", text)
        assert spreads, name
        assert set(spreads) == {MISSING}, (name, spreads)
        assert "\u2014" not in text, name  # never the em dash


def test_scale_rows_have_no_std_for_one_seed_and_an_empty_csv_cell(tmp_path):
    import csv

    from rllib_experiments.studies.scale.stats import table_rows, write_csv

    rec = {
        "setup": "A",
        "num_users": 10,
        "row": "ours",
        "seed": 0,
        "final_reward": 900.0,
        "env_kwargs": {"num_channels": 5},
        "episodes_trained": 2400,
        "cpu_s": 10.0,
    }
    rows = table_rows([rec])
    assert rows[0]["std"] is None and rows[0]["oracle_mean"] is None
    with open(write_csv(rows, tmp_path / "scale.csv"), newline="") as f:
        row = next(csv.DictReader(f))
    assert row["std"] == "" and row["oracle_mean"] == "" and row["mean"] == "900"


def test_no_report_module_writes_its_own_dash():
    """The missing-value mark is written only through MISSING: no en or em dash literal in the
    experiments' code (a dash in prose would be one too: the code has none)."""
    found = []
    for path in sorted((REPO / "rllib_experiments").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if "\u2013" in line or "\u2014" in line:
                found.append(f"{rel}:{i}")
    assert found == []
