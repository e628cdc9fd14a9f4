"""Resume: exact for a seed, and it survives damaged checkpoints (never deleting them).

A run of 6 iterations and the same run stopped after 3 and resumed write the same
progress rows (every random stream is saved with the checkpoint). Damaged newest
checkpoints (truncated, bytes flipped, a file deleted, run_state.json broken, an old
checkpoint without manifest that fails to load) are set aside under another name, the
previous intact one is used, and progress.csv is cut back to it.
"""

import csv
import json
import subprocess
import sys

import pytest

pytest.importorskip("ray")
pytest.importorskip("torch")

from rllib_experiments.run import outputs as out  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402
from rllib_experiments.training import TrainingRun  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]

#: Columns that must agree exactly between an interrupted and an uninterrupted run: the
#: sampled episodes and actions, the sparsity and the evaluations.
SAME = ("iteration", "env_steps", "episodes", "train_reward", "mean_sparsity",
        "eval_stochastic_mean", "eval_greedy_mean")
#: Losses agree to float32 rounding: tensors restored from a checkpoint sit elsewhere in
#: memory, and the CPU kernels may then sum in another order (last bits only).
CLOSE = ("policy_loss", "critic_loss", "entropy")


def _settings(iterations):
    return load_preset("tiny", iterations=iterations, eval_interval=2, schedule="linear",
                       final_sparsity=0.8, prune_interval=2)


def _rows(folder):
    with open(folder / out.PROGRESS_FILE, newline="") as f:
        return [{k: r[k] for k in SAME} for r in csv.DictReader(f)]


def _losses(folder):
    with open(folder / out.PROGRESS_FILE, newline="") as f:
        return [[float(r[k]) for k in CLOSE] for r in csv.DictReader(f)]


def _run(folder, iterations, resume=False, log=None):
    return TrainingRun(_settings(iterations), folder, resume=resume, checkpoint_every=2,
                       tensorboard=False, log=log).run()


class Killed(Exception):
    """Stands for a kill in the middle of a run."""


def test_resumed_run_is_the_uninterrupted_run(tmp_path):
    whole = _run(tmp_path / "whole", 6)
    part = tmp_path / "part"

    def kill_in_iteration_4(row):
        if row["iteration"] == 4:  # after iter_000004 was saved, before iter_000006
            raise Killed

    with pytest.raises(Killed):
        TrainingRun(_settings(6), part, checkpoint_every=2, tensorboard=False,
                    log=None).run(on_iteration=kill_in_iteration_4)
    assert len(_rows(part)) == 5 and not (part / out.RESULT_FILE).exists()
    lines = []
    resumed = _run(part, 6, resume=True, log=lines.append)
    assert any("restored" in line and "iter_000004" in line for line in lines)
    assert _rows(part) == _rows(tmp_path / "whole")
    for mine, theirs in zip(_losses(part), _losses(tmp_path / "whole")):
        assert mine == pytest.approx(theirs, rel=1e-4, abs=1e-7)
    for key in ("mean_reward", "greedy_mean_reward", "mean_achieved_sparsity"):
        assert resumed[key] == whole[key]
    assert resumed["sessions"] == 2


def _damage_truncate(ckpt):
    path = ckpt / "learner_group" / "learner" / "state.pkl"
    path.write_bytes(path.read_bytes()[:100])
    return "learner_group/learner/state.pkl has 100 bytes"


def _damage_flip(ckpt):
    path = ckpt / "learner_group" / "learner" / "state.pkl"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return "learner_group/learner/state.pkl differs"


def _damage_delete(ckpt):
    (ckpt / "env_runner" / "state.pkl").unlink()
    return "env_runner/state.pkl is missing"


def _damage_run_state(ckpt):
    (ckpt / out.RUN_STATE_FILE).write_text("{not json")
    return "run_state.json"


def _damage_without_manifest(ckpt):
    (ckpt / out.MANIFEST_FILE).unlink()  # as written before manifests existed
    path = ckpt / "learner_group" / "learner" / "state.pkl"
    path.write_bytes(path.read_bytes()[:100])
    return "Error"  # found only when loading: the unpickling error is named


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_flip, _damage_delete,
                                    _damage_run_state, _damage_without_manifest])
def test_resume_falls_back_to_the_newest_intact_checkpoint(tmp_path, damage):
    run = tmp_path / "run"
    _run(run, 4)
    clean, clean_losses = _rows(run), _losses(run)
    newest = out.checkpoint_path(run, 4)
    said = damage(newest)
    damaged_files = {p.relative_to(newest): p.read_bytes() for p in newest.rglob("*") if p.is_file()}
    (run / out.RESULT_FILE).unlink()  # as if killed right after the checkpoint

    lines = []
    result = _run(run, 4, resume=True, log=lines.append)
    message = next(line for line in lines if "damaged" in line)
    assert str(newest) in message and said in message
    assert any("restored" in line and "iter_000002" in line for line in lines)
    # the damaged checkpoint is kept, byte for byte, under another name
    kept = [p for p in (run / out.CHECKPOINT_DIR).iterdir() if p.name.startswith("iter_000004.damaged-")]
    assert len(kept) == 1
    assert {p.relative_to(kept[0]): p.read_bytes() for p in kept[0].rglob("*") if p.is_file()} \
        == damaged_files
    # the run went on from iteration 2: the same rows as the clean run, a new final checkpoint
    assert [r["iteration"] for r in _rows(run)] == ["0", "1", "2", "3"]
    assert _rows(run) == clean
    for mine, theirs in zip(_losses(run), clean_losses):
        assert mine == pytest.approx(theirs, rel=1e-4, abs=1e-7)
    assert out.verify_checkpoint(out.checkpoint_path(run, 4)) is None
    assert result["sessions"] == 2


def test_train_cli_resume_names_the_damaged_checkpoint(tmp_path):
    run = tmp_path / "r"
    args = ["--preset", "tiny", "--iterations", "4", "--checkpoint-every", "2", "--no-tensorboard"]
    cmd = [sys.executable, "-m", "rllib_experiments", "train"]
    first = subprocess.run(cmd + args + ["--output", str(run)], capture_output=True, text=True,
                           timeout=600)
    assert first.returncode == 0, first.stderr
    _damage_truncate(out.checkpoint_path(run, 4))
    (run / out.RESULT_FILE).unlink()
    second = subprocess.run(cmd + ["--output", str(run), "--resume"], capture_output=True,
                            text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    assert "iter_000004 is damaged" in second.stdout and "trying the previous one" in second.stdout
    assert json.loads((run / out.RESULT_FILE).read_text())["sessions"] == 2


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    run = tmp_path / "done"
    _run(run, 2)
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    result_text = (run / out.RESULT_FILE).read_text()
    lines = []
    again = _run(run, 2, resume=True, log=lines.append)
    assert any("nothing to do" in line for line in lines)
    assert (run / out.RESULT_FILE).read_text() == result_text
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before
    assert again["sessions"] == 1
