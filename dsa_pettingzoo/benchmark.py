"""Throughput of the ParallelEnv versus BatchedDSA, in agent-steps per second.

    python -m dsa_pettingzoo.benchmark            # setups A and B, B=1024, N=10, K=5
    python -m dsa_pettingzoo.benchmark --json     # one JSON object

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
import time

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


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m dsa_pettingzoo.benchmark", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num-envs", type=int, default=1024,
                   help="B, episodes stepped together by BatchedDSA (default 1024)")
    p.add_argument("--seconds", type=float, default=3.0,
                   help="minimum wall time per measurement (default 3)")
    p.add_argument("--setups", default=",".join(SETUPS),
                   help=f"comma-separated presets (default {','.join(SETUPS)})")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = p.parse_args(argv)
    if args.num_envs < 1:
        p.error("--num-envs must be >= 1")
    if args.seconds <= 0:
        p.error("--seconds must be > 0")
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
