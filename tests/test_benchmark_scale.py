"""``python -m rllib_experiments benchmark --scale``: CI-sized, it measures both and prints the row."""

import json

import pytest

pytest.importorskip("ray")
pytest.importorskip("torch")

from rllib_experiments.cli import benchmark  # noqa: E402
from rllib_experiments.studies.benchmarks.scale import scale_settings  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]


def test_scale_settings_are_ours_at_n_users():
    s = scale_settings("A", 20)
    assert (s.env["num_users"], s.env["num_channels"]) == (20, 10)
    assert (s.episodes_per_iteration, s.num_epochs, s.schedule) == (8, 4, "harmonic")
    assert scale_settings("B", 6).env == {"num_users": 6, "num_channels": 3}


def test_scale_benchmark_prints_one_row_per_size(capsys):
    code = benchmark.main(
        [
            "--scale",
            "--sizes",
            "4",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--set",
            "hidden_sizes=[8]",
            "--set",
            "lstm_size=8",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (row,) = out["scale"]
    assert row["num_users"] == 4
    for key in ("agent_steps_per_s", "agent_steps_per_s_single", "ratio", "peak_rss_mb"):
        assert row[key] > 0, key
    assert row["ratio"] == pytest.approx(row["agent_steps_per_s"] / row["agent_steps_per_s_single"])
    assert row["peak_rss_mb"] > row["peak_rss_mb_single"]  # the learner processes count


def test_scale_sizes_must_be_even(capsys):
    with pytest.raises(SystemExit) as exit_:
        benchmark.main(["--scale", "--sizes", "5"])
    assert exit_.value.code == 2
    assert "--sizes" in capsys.readouterr().err


def test_scale_learner_threads_need_one_learner(capsys):
    with pytest.raises(SystemExit) as exit_:
        benchmark.main(["--scale", "--learner-threads", "2", "--learners", "2"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--learner-threads 2" in err and "--learners 2" in err


def test_scale_benchmark_with_learner_threads_times_the_threaded_learner(capsys):
    code = benchmark.main(
        [
            "--scale",
            "--sizes",
            "4",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--learners",
            "0",
            "--learner-threads",
            "2",
            "--set",
            "hidden_sizes=[8]",
            "--set",
            "lstm_size=8",
            "--json",
        ]
    )
    assert code == 0
    (row,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["scale"]
    assert row["agent_steps_per_s"] > 0 and row["agent_steps_per_s_single"] > 0
