"""Resume of a sparse-from-scratch run (SET, RigL): killed and resumed, the run writes the
uninterrupted run's rows bit for bit, so masks, the update schedule and SET's mask RNG
travel with the checkpoint (tests/test_resume.py does the same for magnitude pruning)."""

import csv

import pytest

pytest.importorskip("ray")
pytest.importorskip("torch")

from rllib_experiments.run import outputs as out  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402
from rllib_experiments.training import TrainingRun  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]

TIMING = ("time_s", "wall_time_s", "env_steps_per_s")


class Killed(Exception):
    """Stands for a kill in the middle of a run."""


def _settings(algorithm):
    # drop_end: 0.75 x 5 iterations = 4, so the masks move after iterations 0-3
    return load_preset(
        "tiny",
        iterations=5,
        eval_interval=5,
        schedule="constant",
        final_sparsity=0.8,
        prune_algorithm=algorithm,
        prune_distribution="erk",
        prune_update_interval=1,
    )


def _rows(folder):
    with open(folder / out.PROGRESS_FILE, newline="") as f:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]


def _run(algorithm, folder, resume=False, on_iteration=None):
    run = TrainingRun(
        _settings(algorithm), folder, resume=resume, checkpoint_every=2, tensorboard=False
    )
    return run.run(on_iteration=on_iteration)


@pytest.mark.parametrize("algorithm", ["set", "rigl"])
def test_resumed_sparse_run_is_the_uninterrupted_run(algorithm, tmp_path):
    whole = _run(algorithm, tmp_path / "whole")

    def kill(row):
        if row["iteration"] == 3:
            raise Killed

    with pytest.raises(Killed):
        _run(algorithm, tmp_path / "part", on_iteration=kill)
    resumed = _run(algorithm, tmp_path / "part", resume=True)
    assert resumed["resumed_at"] == [2]
    assert _rows(tmp_path / "part") == _rows(tmp_path / "whole")
    assert resumed["pruning"] == whole["pruning"]
    assert resumed["mean_achieved_sparsity"] == whole["mean_achieved_sparsity"]
