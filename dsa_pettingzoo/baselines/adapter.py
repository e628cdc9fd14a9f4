"""Drive the dict-based PettingZoo ParallelEnv with a batched baseline (one episode at a time).

>>> import dsa_pettingzoo
>>> from dsa_pettingzoo.baselines import make_policy
>>> from dsa_pettingzoo.baselines.adapter import ParallelPolicy
>>> env = dsa_pettingzoo.parallel_env(setup="A")
>>> agent = ParallelPolicy(make_policy("aloha"), env)
>>> observations, infos = env.reset(seed=0)
>>> agent.reset(seed=0)
>>> while env.agents:
...     actions = agent.act()                       # {"user_0": a_0, ...}
...     observations, rewards, terms, truncs, infos = env.step(actions)
...     agent.observe(actions, infos)               # each user's own feedback and rate

The policy runs with B = 1. Decentralized policies see only what ``observe``
hands them: each user's action, its feedback ``infos[agent]["feedback"]`` and
its rate ``infos[agent]["rate"]``. The oracle reads the env's simulator
(``env.simulator``, a ``BatchedDSA(num_envs=1)``) for beta and the PU state.
"""

from __future__ import annotations

import numpy as np

from .base import BatchedPolicy


class ParallelPolicy:
    """A batched baseline playing all users of one ParallelEnv episode."""

    def __init__(self, policy: BatchedPolicy, env):
        self.policy = policy
        self.env = env
        self.agents = list(env.possible_agents)

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode for the policy (call after ``env.reset``); ``seed`` seeds its randomness."""
        self.policy.reset(self.env.config, 1, np.random.default_rng(seed))

    def act(self) -> dict:
        """Actions {agent: int} for the next slot."""
        sim = None
        if self.policy.privileged:
            sim = getattr(self.env, "simulator", None)
            if sim is None:
                raise ValueError("the oracle needs env.simulator (beta and the PU state)")
        actions = np.asarray(self.policy.act(sim)).reshape(-1)
        return {agent: int(actions[n]) for n, agent in enumerate(self.agents)}

    def observe(self, actions: dict, infos: dict) -> None:
        """Feed each user its own action, feedback and rate from the step's ``infos``."""
        a = np.array([[actions[agent] for agent in self.agents]], dtype=np.int64)
        fb = np.array([[infos[agent]["feedback"] for agent in self.agents]], dtype=np.int8)
        rates = np.array([[infos[agent]["rate"] for agent in self.agents]], dtype=np.float64)
        self.policy.update(a, fb, rates)


def play_parallel_episode(
    policy: BatchedPolicy, env, seed: int | None = None, policy_seed: int | None = None
) -> float:
    """Play one episode of ``env`` with ``policy``; return sum_t sum_n rate (the paper's unit)."""
    env.reset(seed=seed)
    agent = ParallelPolicy(policy, env)
    agent.reset(seed=policy_seed)
    total = 0.0
    while env.agents:
        actions = agent.act()
        _, _, _, _, infos = env.step(actions)
        agent.observe(actions, infos)
        total += sum(info["rate"] for info in infos.values())
    return total
