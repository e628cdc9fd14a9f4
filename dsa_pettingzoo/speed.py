"""Speed of the simulators: agent-steps per second of the ParallelEnv versus BatchedDSA, and
their memory and step time as N and K grow.

Both simulators play whole episodes (resets included; seeded once, later resets continue the
episodes' generators, as in training) with uniformly random actions drawn before the clock
starts (the ParallelEnv gets ready-made action dicts), so only the environments are timed.
One agent-step = one user's action resolved in one slot. The machine's load matters: run it
alone and look at the ratio. The command: ``python -m dsa_pettingzoo benchmark``.
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

from .batched import BatchedDSA
from .env import parallel_env


def bench_parallel(setup: str, seconds: float, seed: int = 0) -> dict:
    """Play ParallelEnv episodes for about ``seconds``; returns agent-steps/s and counts."""
    env = parallel_env(setup=setup)
    N, K, T = env.config.num_users, env.config.num_channels, env.config.horizon
    rng = np.random.default_rng(seed)
    acts = rng.integers(0, K + 1, size=(T, N))
    dicts = [{a: int(acts[t, n]) for n, a in enumerate(env.possible_agents)} for t in range(T)]
    episodes, start = 0, time.perf_counter()
    while True:
        env.reset(seed=seed if episodes == 0 else None)
        for t in range(T):
            env.step(dicts[t])
        episodes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    return {
        "episodes": episodes,
        "seconds": elapsed,
        "agent_steps_per_s": episodes * T * N / elapsed,
    }


def bench_batched(setup: str, num_envs: int, seconds: float, seed: int = 0) -> dict:
    """Play rounds of ``num_envs`` BatchedDSA episodes for about ``seconds``."""
    sim = BatchedDSA(num_envs, setup=setup)
    N, K, T = sim.num_users, sim.num_channels, sim.horizon
    acts = np.random.default_rng(seed).integers(0, K + 1, size=(T, num_envs, N))
    rounds, start = 0, time.perf_counter()
    while True:
        sim.reset(seed=seed if rounds == 0 else None)
        for t in range(T):
            sim.step(acts[t])
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    return {
        "episodes": rounds * num_envs,
        "seconds": elapsed,
        "agent_steps_per_s": rounds * num_envs * T * N / elapsed,
    }


SCALE_SIZES = (10, 100, 1000, 10000)


def array_bytes(sim) -> int:
    """Bytes of the numpy arrays a simulator holds (its episode: SNRs, rates, PU sequence, history)."""
    core = sim.simulator if hasattr(sim, "simulator") else sim
    return sum(v.nbytes for v in vars(core).values() if isinstance(v, np.ndarray))


def scale_point(
    kind: str, N: int, K: int, num_envs: int, seconds: float, seed: int = 0, setup: str = "A"
) -> dict:
    """Build one simulator of ``setup`` at N users and K channels in this process, reset it, step it.

    Returns the peak RSS of the process (MB, ``resource.getrusage``), the bytes of the
    simulator's arrays after the steps (:func:`array_bytes`), the seconds of the reset, of a
    step (mean over the steps played, at least 2, for about ``seconds``; a batched step plays
    ``num_envs`` slots) and of ``state()``, and the state's length.
    """
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the size warning of make_config: measured on purpose
        if kind == "parallel":
            sim = parallel_env(setup=setup, num_users=N, num_channels=K)
        else:
            sim = BatchedDSA(num_envs, setup=setup, num_users=N, num_channels=K)
    T = sim.config.horizon
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    sim.reset(seed=seed)
    reset_s = time.perf_counter() - start
    steps, start = 0, time.perf_counter()
    while steps < T and (steps < 2 or time.perf_counter() - start < seconds):
        if kind == "parallel":
            a = rng.integers(0, K + 1, size=N)
            sim.step({agent: int(a[n]) for n, agent in enumerate(sim.possible_agents)})
        else:
            sim.step(rng.integers(0, K + 1, size=(num_envs, N)))
        steps += 1
    step_s = (time.perf_counter() - start) / steps
    start = time.perf_counter()
    state = sim.state()
    state_s = time.perf_counter() - start
    B = num_envs if kind == "batched" else 1
    return {
        "kind": kind,
        "setup": setup,
        "num_users": N,
        "num_channels": K,
        "num_envs": B,
        "steps": steps,
        "reset_s": reset_s,
        "step_s": step_s,
        "ns_per_user_channel": step_s / (B * N * K) * 1e9,
        "state_s": state_s,
        "state_dim": int(state.shape[-1]),
        "array_mb": array_bytes(sim) / 1e6,
        "rss_before_mb": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def estimated_gb(N: int, K: int, num_envs: int, T: int = 100) -> float:
    """Rough memory of a simulator: about 40 bytes per (episode, user, channel) and 12 per
    (episode, slot, user) of history."""
    return num_envs * (40.0 * N * K + 12.0 * T * N) / 1e9


def bench_scale(
    sizes,
    num_envs: int,
    seconds: float,
    max_gb: float,
    channels: int | None = None,
    setup: str = "A",
) -> list[dict]:
    """``scale_point`` for N in ``sizes`` and K = N/2 (or ``channels``), each in a fresh process.

    Every point runs in its own process so that its peak RSS is its own.
    Points whose estimated memory exceeds ``max_gb`` are skipped (listed with ``skipped``).
    """
    rows = []
    for N in sizes:
        K = channels or max(1, N // 2)
        for kind, B in (("parallel", 1), ("batched", num_envs)):
            gb = estimated_gb(N, K, B)
            if gb > max_gb:
                rows.append(
                    {
                        "kind": kind,
                        "num_users": N,
                        "num_channels": K,
                        "num_envs": B,
                        "skipped": f"estimated {gb:.0f} GB > --max-gb {max_gb:g}",
                    }
                )
                continue
            cmd = [
                sys.executable,
                "-m",
                "dsa_pettingzoo",
                "benchmark",
                "--scale-point",
                kind,
                str(N),
                str(K),
                "--num-envs",
                str(B),
                "--seconds",
                str(seconds),
                "--setup",
                setup,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append(json.loads(proc.stdout))
    return rows


def format_scale(rows: list[dict]) -> str:
    """The scale measurements as a markdown table."""
    lines = [
        "| N | K | N·K | simulator | reset s | s / step | ns / (slot·N·K) | state() s | "
        "state length | arrays MB | peak RSS MB |",
        "|---|---|-----|-----------|---------|----------|-----------------|-----------|"
        "--------------|-----------|-------------|",
    ]
    for r in rows:
        name = "ParallelEnv" if r["kind"] == "parallel" else f"BatchedDSA(B={r['num_envs']})"
        head = f"| {r['num_users']} | {r['num_channels']} | {r['num_users'] * r['num_channels']:,} | {name} |"
        if "skipped" in r:
            lines.append(f"{head} skipped: {r['skipped']} | | | | | | |")
        else:
            lines.append(
                f"{head} {r['reset_s']:.3g} | {r['step_s']:.3g} | "
                f"{r['ns_per_user_channel']:,.1f} | {r['state_s']:.3g} | "
                f"{r['state_dim']:,} | {r['array_mb']:.3g} | {r['peak_rss_mb']:,.0f} |"
            )
    return "\n".join(lines)


def scale_report(
    sizes,
    num_envs: int,
    seconds: float,
    max_gb: float,
    channels: int | None = None,
    setup: str = "A",
) -> dict:
    """:func:`bench_scale` with the versions it ran on."""
    rows = bench_scale(sizes, num_envs, seconds, max_gb, channels, setup)
    return {
        "num_envs": num_envs,
        "setup": setup,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scale": rows,
    }


def compare_simulators(setups, num_envs: int, seconds: float) -> dict:
    """Per preset, the agent-steps/s of the ParallelEnv and of BatchedDSA(``num_envs``) and
    their ratio."""
    out = {
        "num_envs": num_envs,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "setups": {},
    }
    for s in setups:
        par = bench_parallel(s, seconds)
        bat = bench_batched(s, num_envs, seconds)
        out["setups"][s] = {
            "parallel_env": par,
            "batched": bat,
            "ratio": bat["agent_steps_per_s"] / par["agent_steps_per_s"],
        }
    return out


def format_comparison(out: dict, seconds: float) -> str:
    """:func:`compare_simulators`' result as a table."""
    lines = [
        f"agent-steps/s (N=10, K=5, T=100; batched B={out['num_envs']}; "
        f">= {seconds:g} s per measurement)",
        f"{'setup':<6}{'ParallelEnv':>14}{'BatchedDSA':>14}{'ratio':>9}",
    ]
    for s, r in out["setups"].items():
        lines.append(
            f"{s:<6}{r['parallel_env']['agent_steps_per_s']:>14,.0f}"
            f"{r['batched']['agent_steps_per_s']:>14,.0f}{r['ratio']:>8.0f}x"
        )
    lines.append("target: ratio >= 100x")
    return "\n".join(lines)
