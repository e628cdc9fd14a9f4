"""Evaluating in a background process gives the numbers of the synchronous evaluation.

The same tiny pruned run, once with every evaluation in this process and once with the
evaluations (all but the last) in the worker of :mod:`rllib_experiments.run.background`,
writes the same progress rows (sampled episodes, losses, sparsity, evaluations) and the
same evaluation points, bit for bit; and evaluating less often changes nothing of the training.
"""

import csv
import json

import pytest

pytest.importorskip("ray")
pytest.importorskip("torch")

from rllib_experiments.run import outputs as out  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402
from rllib_experiments.training import TrainingRun  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]

#: Columns that depend on time, not on the numbers.
TIMING = ("time_s", "wall_time_s", "env_steps_per_s")


def _run(folder, background, eval_interval=2):
    settings = load_preset(
        "tiny",
        iterations=5,
        eval_interval=eval_interval,
        schedule="linear",
        final_sparsity=0.8,
        prune_interval=2,
    )
    result = TrainingRun(
        settings,
        folder,
        checkpoint_every=4,
        tensorboard=False,
        log=None,
        background_eval=background,
    ).run()
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


#: Progress columns that hold the evaluation points themselves.
EVAL_COLUMNS = ("eval_",)


def test_evaluating_less_often_leaves_the_training_alone(tmp_path):
    """Evaluation draws from its own generators: every 2 iterations or only at the end, the
    sampled episodes, losses, sparsities and the final evaluation are the same, bit for bit."""
    often_rows, _, often = _run(tmp_path / "often", background=True, eval_interval=2)
    rows, points, rarely = _run(tmp_path / "rarely", background=True, eval_interval=5)
    assert [p["iterations_done"] for p in points] == [5]
    train = lambda rs: [{k: v for k, v in r.items() if not k.startswith(EVAL_COLUMNS)} for r in rs]
    assert len(rows) == 5 and train(rows) == train(often_rows)
    assert any(r.get("train_reward") not in ("", None) for r in rows)
    assert json.dumps(rarely["final_evaluation"]) == json.dumps(often["final_evaluation"])
