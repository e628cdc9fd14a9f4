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
from rllib_experiments.studies.common.statistics import (
    mean_std,
    mean_std_ci,
    paired_difference,
    t_interval,
    t_quantile,
)

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
    assert (s["mean"], s["std"], s["ci"]) == (mean, std, t_interval(v))


def test_t_interval_by_hand():
    # [1, 2, 3]: mean 2, s = 1, n = 3, t_{0.975, 2} = 4.302653 (tables of Student's t)
    assert t_quantile(0.975, 2) == pytest.approx(4.302653, abs=1e-6)
    assert t_quantile(0.975, 4) == pytest.approx(2.776445, abs=1e-6)
    assert t_quantile(0.975, 9) == pytest.approx(2.262157, abs=1e-6)
    lo, hi = t_interval([1.0, 2.0, 3.0])
    half = 4.302653 / math.sqrt(3)
    assert lo == pytest.approx(2 - half, abs=1e-6) and hi == pytest.approx(2 + half, abs=1e-6)
    # [4, 4]: no spread, no width; [7.5]: one seed, no interval (printed as the missing mark)
    assert t_interval([4.0, 4.0]) == (4.0, 4.0)
    assert all(math.isnan(x) for x in t_interval([7.5])) and ci_text(t_interval([7.5])) == MISSING
    # two seeds 0 and 2: mean 1, s = sqrt(2), t_{0.975, 1} = 12.706205: 1 ± 12.706205
    lo, hi = t_interval([0.0, 2.0])
    assert (lo, hi) == pytest.approx((1 - 12.706205, 1 + 12.706205), abs=1e-5)


def test_paired_difference_is_the_t_interval_of_the_per_seed_differences():
    # differences 1, 2, 3 (the [1, 2, 3] case above), whatever the rows' own spread
    d = paired_difference([11.0, 102.0, 1003.0], [10.0, 100.0, 1000.0])
    assert d["mean"] == 2.0 and d["n"] == 3 and d["ci"] == t_interval([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="one of each per seed"):
        paired_difference([1.0, 2.0], [1.0])
    assert math.isnan(paired_difference([5.0], [3.0])["ci"][0])


@pytest.mark.parametrize("n", [5, 10])
def test_t_interval_covers_the_mean_95_percent_of_the_time(n):
    """Seeded normal samples, 2000 repetitions: the t-interval covers the true mean 95 % of the
    time (binomial std of the estimate sqrt(0.95 x 0.05 / 2000) = 0.005, tolerance 0.015: three
    of them); the percentile bootstrap interval the reports gave before covered about 84 % at
    n = 5 and 92 % at n = 10 (what this test would catch coming back)."""
    reps, true_mean = 2000, 3.0
    rng = np.random.default_rng(20240 + n)
    samples = rng.normal(true_mean, 2.0, size=(reps, n))
    covered = 0
    for v in samples:
        lo, hi = t_interval(v)
        covered += lo <= true_mean <= hi
    assert abs(covered / reps - 0.95) <= 0.015


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


def test_the_code_of_a_rows_seeds():
    from rllib_experiments.studies.common import pooling

    def rec(commit, dirty=False, kind="learning"):
        return {
            "kind": kind,
            "code": None if commit is None else {"commit": commit, "dirty": dirty},
        }

    a, b = "269a1ec0171ca8dbfe645bcd910e40da15bc4262", "fb57ed568159bfd7f0da5401aaba84b967d74e48"
    seeds = [rec(a)] * 5 + [rec(b)] * 4 + [rec("12f0b2e6e4", True), rec(None, kind="baseline")]
    groups = pooling.code_groups(seeds)  # the baseline is no training seed: left out
    assert groups == [("269a1ec", 5), ("fb57ed5", 4), ("12f0b2e dirty", 1)]
    assert pooling.mixed_text(groups) == "mixed: 269a1ec (5 seeds), fb57ed5 (4), 12f0b2e dirty (1)"
    assert pooling.row_mark(pooling.code_groups([rec(a)] * 3)) is None  # one clean commit
    assert pooling.row_mark(pooling.code_groups([rec(a, True)])) == "269a1ec dirty (1 seed)"
    assert (
        pooling.row_mark(pooling.code_groups([{"kind": "learning"}] * 2))
        == "unknown code (2 seeds)"
    )
    with pytest.raises(pooling.MixedCodeError, match="A / dense: mixed: .*--allow-mixed-commits"):
        pooling.check_rows({("A", "dense"): seeds}, False, "r", lambda k: " / ".join(k))
    assert pooling.check_rows({"x": seeds, "y": [rec(a)]}, True, "r") == {
        "x": "mixed: 269a1ec (5 seeds), fb57ed5 (4), 12f0b2e dirty (1)"
    }
