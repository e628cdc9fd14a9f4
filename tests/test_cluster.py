"""A real two-node Ray cluster on this machine runs a tiny Tune grid submitted with ``ray job submit``.

The cluster is ours alone and is always torn down, without touching other Ray instances
on the machine (other tests or people may run their own):

* its own temp dirs, one per node (``--temp-dir``, so ``ray_current_cluster`` and the
  sessions live there, not in Ray's default temp folder; two nodes sharing one temp dir on one machine would
  share a session folder and its runtime-env files), its own free ports (GCS, dashboard, client server, dashboard agents);
* every address is a loopback one: the nodes' IP is 127.0.0.2 (``ray start`` rewrites
  127.0.0.1 and "localhost" to the machine's routable IP, but keeps any other address;
  127.0.0.0/8 is all loopback) and the dashboard listens on 127.0.0.1. Ray's GCS and
  raylets still listen on all interfaces (Ray's default, as for any local instance), so
  the cluster uses token authentication with a fresh token passed in ``RAY_AUTH_TOKEN``
  (``~/.ray/auth_token`` is neither read nor written);
* teardown never calls ``ray stop`` (it kills every Ray process on the machine): each
  ``ray start`` runs in a new session, every process it spawns (GCS, raylet, dashboard,
  agents, workers, the job's driver) inherits that session id, and exactly the processes
  of these two sessions are killed by PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dsa_pettingzoo", "pruning_callbacks", "rllib_experiments")
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_members(sid: int) -> list:
    """PIDs of the live processes whose session id is ``sid`` (from /proc/PID/stat)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields after "(comm)": state ppid pgrp session ...; skip zombies
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry))
    return pids


def kill_sessions(sids, grace: float = 10.0) -> None:
    """SIGTERM every process of these sessions, then SIGKILL whatever is left after ``grace`` s."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for sid in sids:
            for pid in session_members(sid):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.time() + wait
        while time.time() < deadline and any(session_members(s) for s in sids):
            time.sleep(0.2)


class LoopbackCluster:
    """A head and one worker node (``ray start``), 1 CPU each, on 127.0.0.1 (see module doc)."""

    def __init__(self):
        self.temp_dir = tempfile.mkdtemp(prefix="rcl", dir="/tmp")  # short: unix socket paths
        self.gcs_port, self.dashboard_port = free_port(), free_port()
        # The job's driver and every worker must run this interpreter's environment, activated or not.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        self.env = dict(
            os.environ,
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN=secrets.token_hex(32),
            RAY_USAGE_STATS_ENABLED="0",
            OMP_NUM_THREADS="1",
            PATH=path,
        )
        for key in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "PYTHONPATH"):
            self.env.pop(key, None)
        self.sids = []

    node_ip = "127.0.0.2"

    @property
    def gcs_address(self) -> str:
        return f"{self.node_ip}:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def _ray_start(self, args, env, node: str) -> None:
        temp_dir = os.path.join(self.temp_dir, node)  # one per node: they must not share sessions
        proc = subprocess.Popen(
            [
                RAY,
                "start",
                *args,
                "--num-cpus=1",
                f"--temp-dir={temp_dir}",
                f"--dashboard-agent-listen-port={free_port()}",
                "--disable-usage-stats",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.sids.append(proc.pid)  # a new session: its id is the ray start process's pid
        output, _ = proc.communicate(timeout=180)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start {' '.join(args)} failed:\n{output[-3000:]}")

    def start(self) -> None:
        self._ray_start(
            [
                "--head",
                f"--node-ip-address={self.node_ip}",
                f"--port={self.gcs_port}",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={self.dashboard_port}",
                f"--ray-client-server-port={free_port()}",
            ],
            self.env,
            "head",
        )
        self._ray_start(
            [f"--address={self.gcs_address}", f"--node-ip-address={self.node_ip}"],
            self.env,
            "worker",
        )

    def run(self, *args, timeout=120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [RAY, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def stop(self) -> None:
        kill_sessions(self.sids)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@pytest.mark.rllib
@pytest.mark.slow
def test_tune_job_on_a_two_node_loopback_cluster():
    pytest.importorskip(
        "aiohttp", reason="ray job submit needs ray[default] (the dashboard's job server)"
    )
    if not Path(RAY).exists():
        pytest.skip(f"no ray CLI next to {sys.executable}")
    cluster = LoopbackCluster()
    try:
        cluster.start()
        # The autoscaler's view lags the nodes' registration: `ray status` first answers
        # "No cluster status" or lists one node.
        deadline = time.time() + 90
        nodes: set = set()
        while True:
            status = cluster.run("status", f"--address={cluster.gcs_address}")
            if status.returncode == 0 and "Active:" in status.stdout:
                active = status.stdout.split("Active:", 1)[1].split("Pending:", 1)[0]
                nodes = set(re.findall(r"node_([0-9a-f]+)", active))
            if len(nodes) == 2 or time.time() > deadline:
                break
            time.sleep(2)
        assert len(nodes) == 2, status.stdout + status.stderr[-2000:]  # head + worker registered
        assert "/2.0 CPU" in status.stdout

        workdir = Path(cluster.temp_dir) / "wd"
        for package in PACKAGES:
            shutil.copytree(
                REPO / package,
                workdir / package,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        output = Path(cluster.temp_dir) / "grid"
        job = cluster.run(
            "job",
            "submit",
            f"--address={cluster.dashboard_url}",
            f"--working-dir={workdir}",
            "--",
            sys.executable,
            "-m",
            "rllib_experiments",
            "tune_schedules",
            "--preset",
            "tiny",
            "--schedules",
            "harmonic",
            "linear",
            "--seeds",
            "0",
            "--iterations",
            "2",
            "--eval-episodes",
            "4",
            "--output",
            str(output),
            timeout=400,
        )
        logs = job.stdout + job.stderr
        assert job.returncode == 0, logs[-4000:]
        assert "succeeded" in logs, logs[-4000:]
        assert "on 2 CPUs" in logs  # the job saw both nodes' CPUs
        with open(output / "trials.csv", newline="") as f:
            trials = list(csv.DictReader(f))
        assert sorted(t["schedule"] for t in trials) == ["harmonic", "linear"]
        assert all(t["status"] == "ok" for t in trials)
        # one trial per 1-CPU node: the worker node ran one of them, not only registered
        assert {t["node_id"] for t in trials} == nodes, (trials, nodes)
        for t in trials:
            result = json.loads((Path(t["folder"]) / "result.json").read_text())
            assert result["budget"]["iterations"] == 2
            assert result["mean_achieved_sparsity"] == pytest.approx(0.95, abs=0.01)
        assert (output / "summary.md").read_text().count("| paper |") == 2
    finally:
        sids = list(cluster.sids)
        cluster.stop()
    assert not any(session_members(s) for s in sids), "processes of the test cluster survived"
