"""Agent-steps per second of the `ours` training loop at N users: one process vs the fastest.

    python -m rllib_experiments benchmark --scale [--sizes 10 20 50 100] [--setup A]
        [--iterations 3] [--warmup 1] [--learners 2] [--learner-threads 1] [--env-runners 0]
        [--bf16] [--json]

At each N (K = N/2 channels, the scale presets ``scale_<setup>_N<N>`` of
:func:`rllib_experiments.settings.scale_fields`, at any even N) two algorithms train the `ours`
row (:data:`rllib_experiments.methods.iagc_ppo.OURS`: 8 episodes per iteration, 4 epochs,
centralized critic, 95 % harmonic pruning):

* ``single``: today's loop, one process, float32 (local learner, sampling in the driver);
* ``fast``: the same settings with ``--learners`` data-parallel learner processes (or,
  with ``--learner-threads T`` and ``--learners 0``, one learner in the driver running
  its modules on T threads), ``--env-runners`` remote env runners and, with ``--bf16``,
  bfloat16 autocast of the actors' training pass (off by default).

Both are built, warmed up, then their timed iterations alternate (single, fast, single,
...), so both see the same machine state. ``agent_steps_per_s`` is agent-steps (env
steps x N) per second of wall time, ``ratio`` fast / single. ``peak_rss_mb`` is the
largest total resident memory of the fast configuration's processes (the driver, which
both share, plus its learner and env runner processes) sampled after each iteration.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from rllib_experiments.algorithm import build_algo_config
from rllib_experiments.methods.iagc_ppo import ours_settings
from rllib_experiments.settings import Settings, scale_fields
from rllib_experiments.studies.benchmarks.loop import limit_threads

# torch and Ray are imported where a benchmark runs: the benchmark command's --help and flag
# checks load neither.

DEFAULT_SIZES = (10, 20, 50, 100)


def scale_settings(setup: str, num_users: int):
    """The `ours` settings at N = ``num_users`` users, K = N/2 channels."""
    return ours_settings(Settings.from_dict(scale_fields(setup, num_users)).validate())


def _rss_mb(pids: Sequence[int]) -> float:
    """Resident memory of these processes now (Linux /proc), in MB."""
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            pass
    return total_kb / 1024


def _worker_pids(algo) -> List[int]:
    pids = []
    if algo.learner_group.is_remote:
        pids += [r.get() for r in algo.learner_group.foreach_learner(lambda learner: os.getpid())]
    if algo.env_runner_group.num_remote_env_runners():
        pids += list(
            algo.env_runner_group.foreach_env_runner(lambda er: os.getpid(), local_env_runner=False)
        )
    return pids


def measure_size(
    settings: Dict[str, Any], iterations: int, warmup: int, log=None
) -> Dict[str, Dict[str, float]]:
    """Build both algorithms, warm up, time interleaved iterations; per config totals."""
    algos = {name: build_algo_config(s).build_algo() for name, s in settings.items()}
    stats = {name: dict(agent_steps=0, wall_s=0.0, cpu_s=0.0, peak_rss_mb=0.0) for name in algos}
    try:
        pids = {name: [os.getpid(), *_worker_pids(algo)] for name, algo in algos.items()}
        for algo in algos.values():
            for _ in range(warmup):
                algo.train()
        for i in range(iterations):
            for name, algo in algos.items():
                users = len(algo.config.policies)
                wall0, cpu0 = time.perf_counter(), time.process_time()
                result = algo.train()
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                st = stats[name]
                st["agent_steps"] += int(result["env_runners"]["num_env_steps_sampled"]) * users
                st["wall_s"] += wall
                st["cpu_s"] += cpu
                st["peak_rss_mb"] = max(st["peak_rss_mb"], _rss_mb(pids[name]))
                if log is not None:
                    log(
                        f"  N={users} {name}: iteration {i + 1}/{iterations} wall {wall:.2f} s, "
                        f"driver cpu {cpu:.2f} s"
                    )
    finally:
        for algo in algos.values():
            algo.stop()
    return stats


def run_scale(
    sizes: Optional[Sequence[int]] = None,
    *,
    setup: str = "A",
    iterations: int = 3,
    warmup: int = 1,
    learners: int = 2,
    learner_threads: int = 1,
    env_runners: int = 0,
    bf16: bool = False,
    overrides: Dict[str, Any] = None,
    log=None,
) -> Dict[str, Any]:
    """``{"scale": [one row per N], "fast": {...}}`` (see the module doc) at ``sizes`` (default
    :data:`DEFAULT_SIZES`); starts a local Ray instance for the learners and env runners
    unless Ray is running."""
    # imports ray: only when called
    import ray

    limit_threads()
    if not ray.is_initialized():
        ray.init(
            num_cpus=max(2, learners + env_runners), include_dashboard=False, log_to_driver=False
        )
    fast = dict(
        num_learners=learners,
        learner_threads=learner_threads,
        num_env_runners=env_runners,
        autocast_bf16=bf16,
    )
    rows = []
    for n in sizes or DEFAULT_SIZES:
        single = scale_settings(setup, n).replace(**(overrides or {}))
        stats = measure_size(
            {"single": single, "fast": single.replace(**fast)}, iterations, warmup, log
        )
        s, f = stats["single"], stats["fast"]
        rows.append(
            {
                "num_users": n,
                "num_channels": single.env["num_channels"],
                "agent_steps_per_s": f["agent_steps"] / f["wall_s"],
                "agent_steps_per_s_single": s["agent_steps"] / s["wall_s"],
                "ratio": (f["agent_steps"] / f["wall_s"]) / (s["agent_steps"] / s["wall_s"]),
                "peak_rss_mb": f["peak_rss_mb"],
                "peak_rss_mb_single": s["peak_rss_mb"],
                "driver_cpu_s_per_iteration": f["cpu_s"] / iterations,
                "driver_cpu_s_per_iteration_single": s["cpu_s"] / iterations,
            }
        )
    return {
        "scale": rows,
        "setup": setup,
        "iterations": iterations,
        "warmup": warmup,
        "fast": fast,
        "cpus": os.cpu_count(),
    }
