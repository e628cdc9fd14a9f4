"""The frameworks study's smoke budget: a recurrent BenchMARL arm trains, plays the baselines'
evaluation protocol beside the oracle, writes its record, and is not rerun on resume."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("benchmarl", reason="the [benchmarl] extra")

from rllib_experiments.cli import frameworks as frameworks_cli  # noqa: E402
from rllib_experiments.studies.frameworks import plan, study  # noqa: E402

pytestmark = pytest.mark.benchmarl


def test_smoke_study_writes_records_and_resumes(tmp_path, monkeypatch, capsys):
    (record,) = study.run_study(tmp_path, "smoke", arms=["ippo_gru"])
    path = study.record_path(tmp_path, "ippo_gru", 0)
    assert json.loads(path.read_text()) == record
    smoke = plan.BUDGETS["smoke"]
    assert record["frames"] == smoke["episodes"] * smoke["env"]["horizon"]
    assert record["train_episodes"] == smoke["episodes"]
    assert record["episodes"] == smoke["eval_episodes"]
    assert 0 <= record["oracle_ratio"] <= 1 and record["oracle_mean_reward"] > 0
    assert record["train_wall_s"] > 0

    def no_training(*args):
        raise AssertionError("a finished trial ran again")

    monkeypatch.setattr(study, "run_trial", no_training)
    assert study.run_study(tmp_path, "smoke", arms=["ippo_gru"]) == [record]
    assert "| ippo_gru | 1 |" in study.table([record])
    # the command: the same records, the table printed
    assert (
        frameworks_cli.main(["--budget", "smoke", "--output", str(tmp_path), "--arms", "ippo_gru"])
        == 0
    )
    assert "| ippo_gru | 1 |" in capsys.readouterr().out


def test_bad_study_arguments_name_what_is_allowed(tmp_path):
    with pytest.raises(ValueError, match="unknown budget 'huge'.*full, smoke"):
        study.run_study(tmp_path, "huge")
    with pytest.raises(ValueError, match="unknown arm"):
        study.run_study(tmp_path, "smoke", arms=["qmix_mlp"])
