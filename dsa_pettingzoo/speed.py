"""Throughput of the ParallelEnv versus BatchedDSA, in agent-steps per second; and their scale.

    python -m dsa_pettingzoo.benchmark            # every setup (A, B, C), B=1024, N=10, K=5
    python -m dsa_pettingzoo.benchmark --json     # one JSON object
    python -m dsa_pettingzoo.benchmark --scale    # N in 10..10000, K = N/2: RSS and s/step
    python -m dsa_pettingzoo.benchmark --scale --sizes 10,20,50,100 --setup C   # the scale presets

Both simulators play whole episodes (resets included; seeded once, later resets continue the
episodes' generators, as in training) with uniformly random actions drawn before the clock
starts (the ParallelEnv gets ready-made action dicts), so only the environments are timed.
One agent-step = one user's action resolved in one slot. The machine's load matters: run it
alone and look at the ratio.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

from .batched import BatchedDSA
from .config import SETUPS
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
    return {"episodes": episodes, "seconds": elapsed,
            "agent_steps_per_s": episodes * T * N / elapsed}


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
    return {"episodes": rounds * num_envs, "seconds": elapsed,
            "agent_steps_per_s": rounds * num_envs * T * N / elapsed}


SCALE_SIZES = (10, 100, 1000, 10000)


def array_bytes(sim) -> int:
    """Bytes of the numpy arrays a simulator holds (its episode: SNRs, rates, PU sequence, history)."""
    core = sim.simulator if hasattr(sim, "simulator") else sim
    return sum(v.nbytes for v in vars(core).values() if isinstance(v, np.ndarray))


def scale_point(kind: str, N: int, K: int, num_envs: int, seconds: float, seed: int = 0,
                setup: str = "A") -> dict:
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
    return {"kind": kind, "setup": setup, "num_users": N, "num_channels": K, "num_envs": B,
            "steps": steps, "reset_s": reset_s, "step_s": step_s,
            "ns_per_user_channel": step_s / (B * N * K) * 1e9, "state_s": state_s,
            "state_dim": int(state.shape[-1]), "array_mb": array_bytes(sim) / 1e6,
            "rss_before_mb": rss_before,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def estimated_gb(N: int, K: int, num_envs: int, T: int = 100) -> float:
    """Rough memory of a simulator: about 40 bytes per (episode, user, channel) and 12 per
    (episode, slot, user) of history."""
    return num_envs * (40.0 * N * K + 12.0 * T * N) / 1e9


def bench_scale(sizes, num_envs: int, seconds: float, max_gb: float,
                channels: int | None = None, setup: str = "A") -> list[dict]:
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
                rows.append({"kind": kind, "num_users": N, "num_channels": K, "num_envs": B,
                             "skipped": f"estimated {gb:.0f} GB > --max-gb {max_gb:g}"})
                continue
            cmd = [sys.executable, "-m", "dsa_pettingzoo.benchmark", "--scale-point", kind,
                   str(N), str(K), "--num-envs", str(B), "--seconds", str(seconds),
                   "--setup", setup]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append(json.loads(proc.stdout))
    return rows


def format_scale(rows: list[dict]) -> str:
    """The scale measurements as a markdown table."""
    lines = ["| N | K | N·K | simulator | reset s | s / step | ns / (slot·N·K) | state() s | "
             "state length | arrays MB | peak RSS MB |",
             "|---|---|-----|-----------|---------|----------|-----------------|-----------|"
             "--------------|-----------|-------------|"]
    for r in rows:
        name = "ParallelEnv" if r["kind"] == "parallel" else f"BatchedDSA(B={r['num_envs']})"
        head = f"| {r['num_users']} | {r['num_channels']} | {r['num_users'] * r['num_channels']:,} | {name} |"
        if "skipped" in r:
            lines.append(f"{head} skipped: {r['skipped']} | | | | | | |")
        else:
            lines.append(f"{head} {r['reset_s']:.3g} | {r['step_s']:.3g} | "
                         f"{r['ns_per_user_channel']:,.1f} | {r['state_s']:.3g} | "
                         f"{r['state_dim']:,} | {r['array_mb']:.3g} | {r['peak_rss_mb']:,.0f} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m dsa_pettingzoo.benchmark", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num-envs", type=int, default=None,
                   help="B, episodes stepped together by BatchedDSA (default 1024; 64 with --scale)")
    p.add_argument("--seconds", type=float, default=3.0,
                   help="minimum wall time per measurement (default 3)")
    p.add_argument("--setup", default="A", type=str.upper, choices=list(SETUPS),
                   help="--scale: the preset measured at every size (default A)")
    p.add_argument("--setups", default=",".join(SETUPS),
                   help=f"comma-separated presets (default {','.join(SETUPS)})")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--scale", action="store_true",
                   help="instead: peak RSS and seconds per step of a ParallelEnv and of a "
                   "BatchedDSA(--num-envs) for N in --sizes and K = N/2, each in a fresh process")
    p.add_argument("--sizes", default=",".join(map(str, SCALE_SIZES)),
                   help=f"--scale: comma-separated numbers of users (default "
                   f"{','.join(map(str, SCALE_SIZES))})")
    p.add_argument("--channels", type=int, default=None, metavar="K",
                   help="--scale: the same K for every N (default K = N/2)")
    p.add_argument("--max-gb", type=float, default=6.0,
                   help="--scale: skip points whose estimated memory exceeds this (default 6)")
    p.add_argument("--scale-point", nargs=3, metavar=("KIND", "N", "K"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.num_envs is None:
        args.num_envs = 64 if args.scale else 1024
    if args.num_envs < 1:
        p.error("--num-envs must be >= 1")
    if args.seconds <= 0:
        p.error("--seconds must be > 0")
    if args.scale_point:
        kind, N, K = args.scale_point
        out = scale_point(kind, int(N), int(K), args.num_envs, args.seconds, setup=args.setup)
        print(json.dumps(out))
        return out
    if args.scale:
        try:
            sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
        except ValueError:
            p.error(f"--sizes: comma-separated integers >= 2, got {args.sizes!r}")
        if not sizes or min(sizes) < 2:
            p.error(f"--sizes: comma-separated integers >= 2, got {args.sizes!r}")
        if args.channels is not None and args.channels < 1:
            p.error(f"--channels must be an integer >= 1, got {args.channels}")
        rows = bench_scale(sizes, args.num_envs, args.seconds, args.max_gb, args.channels,
                           args.setup)
        out = {"num_envs": args.num_envs, "setup": args.setup, "python": platform.python_version(),
               "numpy": np.__version__, "scale": rows}
        print(json.dumps(out, indent=2) if args.json else format_scale(rows))
        return out
    setups = [s.strip().upper() for s in args.setups.split(",") if s.strip()]
    for s in setups:
        if s not in SETUPS:
            p.error(f"--setups: unknown preset {s!r}; allowed: {', '.join(SETUPS)}")

    out = {"num_envs": args.num_envs, "python": platform.python_version(),
           "numpy": np.__version__, "setups": {}}
    for s in setups:
        par = bench_parallel(s, args.seconds)
        bat = bench_batched(s, args.num_envs, args.seconds)
        out["setups"][s] = {"parallel_env": par, "batched": bat,
                            "ratio": bat["agent_steps_per_s"] / par["agent_steps_per_s"]}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"agent-steps/s (N=10, K=5, T=100; batched B={args.num_envs}; "
              f">= {args.seconds:g} s per measurement)")
        print(f"{'setup':<6}{'ParallelEnv':>14}{'BatchedDSA':>14}{'ratio':>9}")
        for s, r in out["setups"].items():
            print(f"{s:<6}{r['parallel_env']['agent_steps_per_s']:>14,.0f}"
                  f"{r['batched']['agent_steps_per_s']:>14,.0f}{r['ratio']:>8.0f}x")
        print("target: ratio >= 100x")
    return out


if __name__ == "__main__":
    main()
