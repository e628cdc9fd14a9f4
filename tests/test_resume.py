"""Resume: exact for a seed, and it survives damaged checkpoints (never deleting them).

A run of 10 iterations and the same run killed at three points and resumed each time
write the same progress rows, bit for bit, losses included (every random stream and the
float64 reward-normalisation statistics are saved with the checkpoint). Damaged newest
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
torch = pytest.importorskip("torch")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

from rllib_experiments.iagc.config import module_specs  # noqa: E402
from rllib_experiments.iagc.modules import CRITIC_ID, SharedCritic  # noqa: E402
from rllib_experiments.run import outputs as out  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402
from rllib_experiments.training import TrainingRun  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]

#: Columns of measured time: the only ones an interrupted run may write differently.
TIMING = ("time_s", "wall_time_s", "env_steps_per_s")


def _settings(iterations, **overrides):
    return load_preset(
        "tiny",
        **overrides,
        iterations=iterations,
        eval_interval=2,
        schedule="linear",
        final_sparsity=0.8,
        prune_interval=2,
    )


def _rows(folder):
    """progress.csv as written (strings), the timing columns left out."""
    with open(folder / out.PROGRESS_FILE, newline="") as f:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]


def _run(folder, iterations, resume=False, log=None, **overrides):
    return TrainingRun(
        _settings(iterations, **overrides),
        folder,
        resume=resume,
        checkpoint_every=2,
        tensorboard=False,
        log=log,
    ).run()


class Killed(Exception):
    """Stands for a kill in the middle of a run."""


def _kill_in(iteration):
    def kill(row):
        if row["iteration"] == iteration:
            raise Killed

    return kill


def test_resumed_run_is_the_uninterrupted_run(tmp_path):
    """Killed at three points, resumed each time: every row after each restore is the
    uninterrupted run's, bit for bit (with the return statistics rounded to float32 by the
    checkpoint, the losses differed from the second iteration after a restore on)."""
    iterations = 10
    whole = _run(tmp_path / "whole", iterations)
    part = tmp_path / "part"
    # (the row in which it is killed, the checkpoint the next session restores): a kill
    # just after a checkpoint, one just before the next, one in the last iteration.
    kills = [(3, 2), (6, 6), (9, 8)]
    restored = []
    for session, (kill_at, _) in enumerate(kills):
        with pytest.raises(Killed):
            TrainingRun(
                _settings(iterations),
                part,
                resume=session > 0,
                checkpoint_every=2,
                tensorboard=False,
                log=restored.append,
            ).run(on_iteration=_kill_in(kill_at))
        assert len(_rows(part)) == kill_at + 1 and not (part / out.RESULT_FILE).exists()
    resumed = _run(part, iterations, resume=True, log=restored.append)
    restored = [line for line in restored if "restored" in line]
    assert [f"iter_{n:06d}" in line for line, (_, n) in zip(restored, kills)] == [True] * 3
    assert _rows(part) == _rows(tmp_path / "whole")
    for key in ("mean_reward", "greedy_mean_reward", "mean_achieved_sparsity", "pruning"):
        assert resumed[key] == whole[key]

    def points(result):
        return [{k: v for k, v in p.items() if k != "wall_s"} for p in result["evaluations"]]

    assert points(resumed) == points(whole)
    assert resumed["sessions"] == len(kills) + 1
    # where it was resumed (the checkpoints restored); the uninterrupted run: nowhere
    assert resumed["resumed_at"] == [n for _, n in kills] and whole["resumed_at"] == []


@pytest.mark.slow
def test_resume_is_exact_with_a_remote_env_runner(tmp_path):
    """The same with sampling in a remote env runner process (its random streams and
    connector states travel with the checkpoint too): killed once, resumed, bit for bit."""
    remote = dict(num_env_runners=1)
    _run(tmp_path / "whole", 6, **remote)
    part = tmp_path / "part"
    with pytest.raises(Killed):
        TrainingRun(
            _settings(6, **remote), part, checkpoint_every=2, tensorboard=False, log=None
        ).run(on_iteration=_kill_in(3))
    resumed = _run(part, 6, resume=True, **remote)
    assert resumed["resumed_at"] == [2]
    assert _rows(part) == _rows(tmp_path / "whole")


def test_critic_state_keeps_the_float64_return_statistics():
    """RLlib rounds float64 state to float32 both ways; the reward-normalisation statistics
    (a running count, mean and M2 of the returns) go through get_state / set_state exact."""
    obs_space = gym.spaces.Box(0.0, 1.0, (4,), np.float32)
    specs = module_specs(
        ["u0", "u1"],
        obs_space,
        gym.spaces.Discrete(3),
        hidden_sizes=[8],
        lstm_size=8,
        lstm_layers=1,
        critic_mode="paper",
    )
    critic, fresh = (specs.rl_module_specs[CRITIC_ID].build() for _ in range(2))
    assert isinstance(critic, SharedCritic)
    critic.update_return_stats(np.random.default_rng(0).normal(3.0, 7.0, 1001))
    exact = critic.return_stats.clone()
    assert exact.dtype == torch.float64 and not torch.equal(exact, exact.float().double())
    state = critic.get_state()
    assert state["return_stats"].dtype == np.float64
    fresh.set_state(state)
    assert torch.equal(fresh.return_stats, exact) and fresh.return_std() == critic.return_std()
    fresh.set_state({**state, "return_stats": torch.from_numpy(state["return_stats"])})
    assert torch.equal(fresh.return_stats, exact)


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


@pytest.mark.parametrize(
    "damage",
    [_damage_truncate, _damage_flip, _damage_delete, _damage_run_state, _damage_without_manifest],
)
def test_resume_falls_back_to_the_newest_intact_checkpoint(tmp_path, damage):
    run = tmp_path / "run"
    _run(run, 4)
    clean = _rows(run)
    newest = out.checkpoint_path(run, 4)
    said = damage(newest)
    damaged_files = {
        p.relative_to(newest): p.read_bytes() for p in newest.rglob("*") if p.is_file()
    }
    (run / out.RESULT_FILE).unlink()  # as if killed right after the checkpoint

    lines = []
    result = _run(run, 4, resume=True, log=lines.append)
    message = next(line for line in lines if "damaged" in line)
    assert str(newest) in message and said in message
    assert any("restored" in line and "iter_000002" in line for line in lines)
    # the damaged checkpoint is kept, byte for byte, under another name
    kept = [
        p for p in (run / out.CHECKPOINT_DIR).iterdir() if p.name.startswith("iter_000004.damaged-")
    ]
    assert len(kept) == 1
    assert {
        p.relative_to(kept[0]): p.read_bytes() for p in kept[0].rglob("*") if p.is_file()
    } == damaged_files
    # the run went on from iteration 2: the same rows as the clean run, a new final checkpoint
    assert [r["iteration"] for r in _rows(run)] == ["0", "1", "2", "3"]
    assert _rows(run) == clean
    assert out.verify_checkpoint(out.checkpoint_path(run, 4)) is None
    assert result["sessions"] == 2


def test_train_cli_resume_names_the_damaged_checkpoint(tmp_path):
    run = tmp_path / "r"
    args = ["--preset", "tiny", "--iterations", "4", "--checkpoint-every", "2", "--no-tensorboard"]
    cmd = [sys.executable, "-m", "rllib_experiments", "train"]
    first = subprocess.run(
        cmd + args + ["--output", str(run)], capture_output=True, text=True, timeout=600
    )
    assert first.returncode == 0, first.stderr
    _damage_truncate(out.checkpoint_path(run, 4))
    (run / out.RESULT_FILE).unlink()
    second = subprocess.run(
        cmd + ["--output", str(run), "--resume"], capture_output=True, text=True, timeout=600
    )
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
