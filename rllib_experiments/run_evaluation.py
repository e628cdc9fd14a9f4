"""Evaluation of trained actors, and of the slotted-ALOHA reference, on the same episodes (IV-C).

:func:`evaluate_actor_modules` plays ``episodes`` whole episodes of the users'
actors on the batched simulator (:class:`dsa_pettingzoo.BatchedDSA`, in chunks),
once sampling the actions from g(.|y, h) ("stochastic") and once taking the
argmax ("greedy"). Episode i gets the environment seed
``dsa_pettingzoo.baselines.rollout.episode_seeds(eval_seed, episodes)[i]``: the
seeds :func:`dsa_pettingzoo.baselines.evaluate_policy` gives the baselines, so
:func:`aloha_reference` faces exactly the same SNR matrices and PU sequences.

Rewards are in the paper's unit: the episode sum of the system throughput,
sum_t sum_n log2(1 + beta^n(t)) 1{ACK} (the baselines' ``mean_reward``).
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
import torch

from dsa_pettingzoo import BatchedDSA
from dsa_pettingzoo.baselines import EpisodeStats, evaluate_policy, make_policy
from dsa_pettingzoo.baselines.rollout import DEFAULT_CHUNK_SIZE, episode_seeds

from rllib_experiments.rollout import rollout

#: Evaluation modes: key in the results -> rollout mode.
EVAL_MODES = {"stochastic": "sample", "greedy": "greedy"}


def evaluate_actor_modules(actors: Sequence[torch.nn.Module], env_kwargs: Dict, *,
                           episodes: int, eval_seed: int,
                           chunk_size: int = DEFAULT_CHUNK_SIZE) -> Dict[str, Dict]:
    """Stochastic and greedy evaluation of the users' actors (one per user, in user order).

    Returns ``{"stochastic": summary, "greedy": summary}``, each the
    :meth:`EpisodeStats.summary` dict (``mean_reward``, ``std_reward`` (ddof 1),
    ``sem_reward``, collision / idle rates, utilisation, Jain's fairness) over
    ``episodes`` episodes. Action draws use a torch generator seeded by ``eval_seed``.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    seeds = episode_seeds(eval_seed, episodes)
    sims: Dict[int, BatchedDSA] = {}
    out = {}
    for key, mode in EVAL_MODES.items():
        generator = torch.Generator().manual_seed(int(eval_seed))
        parts = []
        for start in range(0, episodes, chunk_size):
            chunk = seeds[start:start + chunk_size]
            if len(chunk) not in sims:
                sims[len(chunk)] = BatchedDSA(num_envs=len(chunk), **env_kwargs)
            sim = sims[len(chunk)]
            rollout(actors, sim, mode=mode, seeds=chunk, generator=generator)
            parts.append(EpisodeStats.from_simulator(sim))
        out[key] = EpisodeStats.concatenate(parts).summary()
    return out


def aloha_reference(env_kwargs: Dict, *, episodes: int, eval_seed: int) -> Dict:
    """Slotted ALOHA (default p = K/N) on the same evaluation episodes: its summary dict."""
    policy = make_policy("aloha")
    return evaluate_policy(policy, episodes=episodes, seed=int(eval_seed), **env_kwargs).summary()


def actors_from_weights(module_spec, weights: Dict[str, Dict], agents: Sequence[str]):
    """Build the users' actor modules from a MultiRLModuleSpec and load learner weights into them.

    ``weights`` is ``LearnerGroup.get_weights(module_ids=agents)`` (module id -> state dict).
    Every parameter must be present (checked: ``set_state`` alone would silently skip missing keys).
    torch's global random state is left as it was.
    """
    actors = []
    for aid in agents:
        # Building initialises parameters from torch's global RNG, which the local env runner
        # also samples from: fork it so that evaluation never shifts the training's random stream.
        with torch.random.fork_rng(devices=[]):
            module = module_spec.rl_module_specs[aid].build()
        state = weights[aid]
        expected = set(module.state_dict().keys())
        missing = expected - set(state)
        if missing:
            raise ValueError(f"weights of {aid} lack parameters {sorted(missing)}")
        module.set_state(state)
        module.eval()
        actors.append(module)
    return actors
