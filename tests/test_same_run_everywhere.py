"""One seed gives the same run in every context: a Tune trial of ``reproduce`` (two trials
running side by side on two CPUs, and a study killed in the middle of its trials and started
again) writes the records that the same trials give in this process, bit for bit
(``python -m rllib_experiments verify``). On another CPU kind than the one a record was made
on, ``verify`` alone cannot promise bit-identity; here both sides run on this machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

from rllib_experiments.cli.verify import main as verify  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]


def _reproduce(output: Path, cwd: Path, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "rllib_experiments", "reproduce", "--budget", "smoke",
         # ours trains 4 iterations, dense 12: the kill after ours's record finds dense running
         "--rows", "dense", "ours", "--iterations", "12", "--setups", "A", "--output", str(output),
         "--num-cpus", "2", "--max-concurrent", "2",
         # the report would refuse records of a dirty tree (a developer's checkout)
         "--allow-mixed-commits"],
        cwd=cwd, env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        **popen,
    )  # fmt: skip


def _process_tree(root: int) -> set:
    """``root`` and every live process below it (parent links read from /proc/PID/stat)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(children.get(pid, ()))
    return tree


def _kill_everything_below(root: int) -> None:
    """As a crash would: freeze the study and every process it started (Ray's workers leave its
    process group, so ``killpg`` alone lets a trial finish after the kill), then SIGKILL them."""
    frozen = set()
    while (tree := _process_tree(root)) - frozen:  # a process may fork while we look
        for pid in tree - frozen:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        frozen |= tree
    for pid in frozen:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_tune_trials_side_by_side_and_after_a_kill_are_the_in_process_runs(tmp_path, capsys):
    out = tmp_path / "raw"
    # Killed as soon as the first trial's record is written; the other trial was running.
    first = _reproduce(out, tmp_path)
    deadline = time.time() + 600
    while not any((out / "trials").glob("*.json")) and time.time() < deadline:
        time.sleep(0.1)
    _kill_everything_below(first.pid)
    first.wait()
    assert len(list((out / "trials").glob("*.json"))) < 2, "both trials ended before the kill"
    # Started again: the finished trial is kept, the other runs from its start.
    again = _reproduce(out, tmp_path)
    said, _ = again.communicate(timeout=900)
    assert again.returncode == 0, said[-3000:]
    assert "1 already finished" in said
    records = sorted((out / "trials").glob("A__*__s0.json"))
    assert [p.name for p in records] == ["A__dense__s0.json", "A__ours__s0.json"]
    # Each Tune trial's record is what the same trial gives in this process.
    assert verify([*map(str, records), "--work", str(tmp_path / "rerun")]) == 0
    assert capsys.readouterr().out.count(": equal") == 2
