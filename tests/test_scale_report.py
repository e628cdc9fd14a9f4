"""Formatting helpers of the scale report (rllib_experiments/studies/scale/report.py); the report as a
whole is checked by tests/test_scale.py, the numbers' and missing values' text by
tests/test_statistics.py."""

from pathlib import Path

import pytest

from rllib_experiments.studies.scale.report import relative_link, spread_text


@pytest.mark.parametrize(
    "v, text",
    [
        (0.0, "0.000"),  # one seed, or identical seeds: an exact zero stays a zero
        (0.0123, "0.012"),
        (0.0005, "0.001"),  # from 0.0005 on, three decimals show it
        (0.00049, "0.0005"),  # below, four decimals do ("0.000" read like a missing value)
        (0.00012, "0.0001"),
        (0.00004, "0.00004"),
        (0.000004, "< 0.00001"),
    ],
)
def test_spread_text_never_prints_a_nonzero_spread_as_zero(v, text):
    assert spread_text(v) == text


def test_relative_link_is_relative_to_the_markdown_folder(tmp_path):
    md = tmp_path / "docs" / "results" / "raw" / "x" / "scale.md"
    target = tmp_path / "docs" / "results" / "scale_goal.md"
    assert relative_link(target, md) == str(Path("..") / ".." / "scale_goal.md")
