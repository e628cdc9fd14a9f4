"""SIGTERM during ``train``: the run stops at the next iteration boundary with a checkpoint,
prints the --resume command, exits 143 without a framework stack dump, and the resumed run
is the uninterrupted one row for row."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("ray")
pytestmark = [pytest.mark.rllib, pytest.mark.slow]

from rllib_experiments.run import outputs as out  # noqa: E402

#: Columns of measured time: the only ones an interrupted run may write differently.
TIMING = ("time_s", "wall_time_s", "env_steps_per_s")
FLAGS = [
    "--preset",
    "tiny",
    "--iterations",
    "8",
    "--eval-every",
    "3",
    "--checkpoint-every",
    "50",
    "--schedule",
    "linear",
    "--final-sparsity",
    "0.8",
    "--no-tensorboard",
    "--quiet",
]
CMD = [sys.executable, "-m", "rllib_experiments", "train"]


def _rows(folder):
    with open(folder / out.PROGRESS_FILE, newline="") as f:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]


def _env():
    """A new local Ray instance for each command (never a cluster RAY_ADDRESS names)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("RAY_ADDRESS", None)
    return env


def test_sigterm_stops_at_an_iteration_boundary_and_resume_stays_exact(tmp_path):
    part = tmp_path / "part"
    proc = subprocess.Popen(
        CMD + FLAGS + ["--output", str(part)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    deadline = time.time() + 300
    while not (part / out.RUN_FILE).exists():  # written once the stop handler is in place
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert f"--output {part} --resume" in stdout and "Stopped by SIGTERM" in stdout
    assert "Stack trace" not in stderr and "*** SIG" not in stderr
    done = len(_rows(part))
    assert 1 <= done < 8 and not (part / out.RESULT_FILE).exists()
    assert out.checkpoint_path(part, done).is_dir()  # the stop's own checkpoint

    resumed = subprocess.run(
        CMD + ["--output", str(part), "--resume", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )
    assert resumed.returncode == 0, resumed.stderr
    whole = tmp_path / "whole"
    first = subprocess.run(
        CMD + FLAGS + ["--output", str(whole)],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )
    assert first.returncode == 0, first.stderr
    assert _rows(part) == _rows(whole)
