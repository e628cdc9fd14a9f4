"""Evaluating in a background process gives the numbers of the synchronous evaluation.

The same tiny pruned run, once with every evaluation in this process and once with the
evaluations (all but the last) in the worker of :mod:`rllib_experiments.background_eval`,
writes the same progress rows (sampled episodes, losses, sparsity, evaluations) and the
same evaluation points, bit for bit.
"""

import csv
import json

import pytest

pytest.importorskip("ray")
pytest.importorskip("torch")

from rllib_experiments import run_outputs as out  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402
from rllib_experiments.training import TrainingRun  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]

#: Columns that depend on time, not on the numbers.
TIMING = ("time_s", "wall_time_s", "env_steps_per_s")


def _run(folder, background):
    settings = load_preset("tiny", iterations=5, eval_interval=2, schedule="linear",
                           final_sparsity=0.8, prune_interval=2)
    result = TrainingRun(settings, folder, checkpoint_every=4, tensorboard=False, log=None,
                         background_eval=background).run()
    with open(folder / out.PROGRESS_FILE, newline="") as f:
        rows = [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]
    points = [{k: v for k, v in p.items() if k != "wall_s"} for p in result["evaluations"]]
    return rows, points, result


def test_background_evaluation_is_bit_identical(tmp_path):
    sync_rows, sync_points, sync = _run(tmp_path / "sync", background=False)
    rows, points, background = _run(tmp_path / "background", background=True)
    assert [r["iteration"] for r in rows] == [str(i) for i in range(5)]
    assert rows == sync_rows
    assert [p["iterations_done"] for p in points] == [2, 4, 5]
    assert points == sync_points
    assert json.dumps(background["final_evaluation"]) == json.dumps(sync["final_evaluation"])
    saved = out.read_run_state(out.latest_checkpoint(tmp_path / "background"))
    assert [p["iterations_done"] for p in saved["evaluations"]] == [2, 4, 5]
