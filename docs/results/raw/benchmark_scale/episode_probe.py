"""Probe: building the learner's MultiAgentEpisodes from a rollout, two ways.

    OMP_NUM_THREADS=1 python docs/results/raw/benchmark_scale/episode_probe.py [N ...]

For N users (default 10 and 100), 100-slot episodes with 17-float observations (setup A's
size at N = 10; only the shapes matter), the seconds per episode of
``constructor_episode`` (RLlib's MultiAgentEpisode constructor over per-slot agent dicts,
what the batched env runner did until 0.2.x) and of ``BatchedDSAEnvRunner._to_episode``
(per agent, from the arrays; the same episode field by field, tests/test_env_runner.py).
Best of 5 rounds of 8 episodes each, the two alternating within a round.
"""

import sys
import time
from types import SimpleNamespace

import numpy as np

from rllib_experiments.dsa.env_runner import BatchedDSAEnvRunner, constructor_episode
from rllib_experiments.iagc.modules import policy_mapping_fn


def main(sizes):
    T, d, B = 100, 17, 8
    for N in sizes:
        rng = np.random.default_rng(0)
        data = {"obs": rng.random((B, T + 1, N, d), dtype=np.float32),
                "actions": rng.integers(0, 6, (B, T, N)), "rewards": rng.random((B, T, N)),
                "logp": -rng.random((B, T, N), dtype=np.float32)}
        runner = BatchedDSAEnvRunner.__new__(BatchedDSAEnvRunner)
        runner._agent_ids = [f"user_{i}" for i in range(N)]
        runner._with_states = False
        runner.config = SimpleNamespace(policy_mapping_fn=policy_mapping_fn)
        best = {"constructor": float("inf"), "per_agent": float("inf")}
        for _ in range(5):
            for name in best:
                start = time.perf_counter()
                for b in range(B):
                    if name == "constructor":
                        constructor_episode(data, b, runner._agent_ids, policy_mapping_fn)
                    else:
                        runner._to_episode(data, b)
                best[name] = min(best[name], (time.perf_counter() - start) / B)
        print(f"N={N}: constructor {best['constructor'] * 1e3:.2f} ms/episode, per agent "
              f"{best['per_agent'] * 1e3:.2f} ms/episode, ratio {best['constructor'] / best['per_agent']:.1f}x")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100])
