"""Greedy-action agreement of two exports of the same actors (e.g. float32 and int8).

    python -m dsa_pettingzoo agreement --reference actors32/ --candidate actors8/ --steps 10000

The reference actors play the environment (PettingZoo parallel API, greedy
actions, the environment settings stored in their files); every user's
candidate actor sees the same observations and its greedy action is compared
with the reference's at every step (teacher forcing: the candidate never
steers the episode, so a disagreement does not change what either sees next).
Prints the fraction of agreeing (step, user) pairs, per user and overall.
``--record FILE.npy --user N`` also saves user N's observations [steps, obs_dim]
(the recorded sequence for ``python -m dsa_pettingzoo mcu --observations``).
"""

from __future__ import annotations

import numpy as np

from ..env import parallel_env
from .policy import load_actors


def _load(flag: str, directory: str) -> list:
    """The actors exported to ``directory``; a ValueError names the flag that gave it."""
    try:
        return load_actors(directory)
    except ValueError as err:
        raise ValueError(f"argument {flag}: {err}") from None


def agreement(reference: str, candidate: str, steps: int, seed: int = 0, user: int = 0) -> dict:
    """Fractions of equal greedy actions over ``steps`` environment slots (all users).

    ``observations`` in the result: user ``user``'s observations, float32 [steps, obs_dim].
    """
    ref, cand = _load("--reference", reference), _load("--candidate", candidate)
    if len(ref) != len(cand):
        raise ValueError(
            f"--candidate {candidate}: {len(cand)} users, the reference has {len(ref)}"
        )
    env_kwargs = ref[0].header.get("env")
    if not env_kwargs:
        raise ValueError(f"--reference {reference}: the files hold no environment settings")
    env = parallel_env(**env_kwargs)
    agents = list(env.possible_agents)
    if len(agents) != len(ref):
        raise ValueError(
            f"--reference {reference}: {len(ref)} users, the environment has {len(agents)}"
        )
    if not 0 <= user < len(ref):
        raise ValueError(f"--user {user}: must be in 0..{len(ref) - 1}")
    equal = np.zeros(len(ref), np.int64)
    recorded = []
    done_steps, episode = 0, 0
    while done_steps < steps:
        obs, _ = env.reset(seed=seed + episode)
        for p in (*ref, *cand):
            p.reset()
        episode += 1
        while env.agents and done_steps < steps:
            actions = {}
            recorded.append(np.asarray(obs[agents[user]], np.float32))
            for n, agent in enumerate(agents):
                a = ref[n].act(obs[agent])
                equal[n] += a == cand[n].act(obs[agent])
                actions[agent] = a
            obs, _, _, _, _ = env.step(actions)
            done_steps += 1
    return {
        "steps": done_steps,
        "episodes": episode,
        "users": len(ref),
        "agreement": float(equal.sum() / (done_steps * len(ref))),
        "per_user": (equal / done_steps).round(6).tolist(),
        "observations": np.stack(recorded),
    }
