"""Evaluate trained actors on the batched simulator, in the paper's unit (IV-C).

The paper's unit of an episode is sum_t sum_n log2(1 + beta^n(t)), the total
achieved rate of all users over the T slots (= (1/N) sum_t sum_n r_t^n under the
sum-rate reward); setup A's slotted ALOHA scores about 1000.

Usage::

    from rllib_experiments.evaluation import evaluate_actors, actor_modules
    stats = evaluate_actors(algo, episodes=100, seed=0)          # stochastic actors
    stats = evaluate_actors(algo, episodes=100, seed=0, greedy=True)
    weights = actor_state_dicts(algo)                            # {"user_0": state_dict, ...}
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np
import torch

from rllib_experiments.connectors import user_order
from rllib_experiments.modules import CRITIC_ID
from rllib_experiments.rollout import rollout


def actor_modules(algo) -> Dict[str, torch.nn.Module]:
    """The users' actor modules of an algorithm, by module id, in user order.

    Taken from the learner when it is local (always current), else from the
    local env runner (synced after every iteration).
    """
    module = None
    learner = getattr(algo.learner_group, "_learner", None)
    if learner is not None:
        module = learner.module
    elif algo.env_runner is not None and algo.env_runner.module is not None:
        module = algo.env_runner.module
    if module is None:
        raise ValueError("cannot find the actors: no local learner and no local env runner module")
    ids = user_order(mid for mid in module.keys() if mid != CRITIC_ID)
    return {mid: module[mid].unwrapped() for mid in ids}


def actor_state_dicts(algo) -> Dict[str, Dict[str, torch.Tensor]]:
    """Copies of every actor's torch state_dict (e.g. to save or to count zeros)."""
    return {mid: {k: v.detach().clone() for k, v in m.state_dict().items()}
            for mid, m in actor_modules(algo).items()}


def evaluate_actors(algo_or_actors: Union[Any, Mapping[str, torch.nn.Module]],
                    episodes: int = 100, seed: int = 0, *, greedy: bool = False,
                    env_kwargs: Optional[Dict[str, Any]] = None,
                    batch_size: int = 100) -> Dict[str, Any]:
    """Play the actors for ``episodes`` episodes on ``BatchedDSA``; reward in the paper's unit.

    Args:
        algo_or_actors: a built RLlib Algorithm (its env config is used) or a dict
            {module id: IAGCActor} in user order (then ``env_kwargs`` is required).
        episodes: number of evaluation episodes (IV-C: 100).
        seed: episode b uses seed ``seed + b`` (the same episodes for every policy);
            the actors' action draws use a torch generator seeded with ``seed`` (so a
            stochastic result also depends on ``batch_size``; a greedy one does not).
        greedy: act with the most likely action instead of sampling.
        env_kwargs: environment keyword arguments (default: the algorithm's env_config).
        batch_size: episodes simulated at once.

    Returns:
        {"mean", "std", "min", "max": floats over episodes, "episodes": list of
        per-episode sums of all users' rates, "per_user_mean": list of each user's
        mean episode rate, "greedy", "seed", "num_episodes"}.
    """
    from dsa_pettingzoo import BatchedDSA

    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if isinstance(algo_or_actors, Mapping):
        actors = dict(algo_or_actors)
        if env_kwargs is None:
            raise ValueError("env_kwargs is required when evaluating a dict of actors")
    else:
        actors = actor_modules(algo_or_actors)
        if env_kwargs is None:
            env_kwargs = dict(algo_or_actors.config.env_config)
    actor_list = [actors[mid] for mid in user_order(actors)]
    generator = torch.Generator().manual_seed(seed)
    totals: List[np.ndarray] = []
    per_user: List[np.ndarray] = []
    done = 0
    while done < episodes:
        b = min(batch_size, episodes - done)
        sim = BatchedDSA(num_envs=b, **env_kwargs)
        data = rollout(actor_list, sim, mode="greedy" if greedy else "sample",
                       seeds=[seed + done + i for i in range(b)], generator=generator)
        rates = data["rates"].sum(axis=1)  # [b, N]: each user's total rate in the episode
        totals.append(rates.sum(axis=1))
        per_user.append(rates)
        done += b
    total = np.concatenate(totals)
    return {
        "mean": float(total.mean()),
        "std": float(total.std()),
        "min": float(total.min()),
        "max": float(total.max()),
        "episodes": total.tolist(),
        "per_user_mean": np.concatenate(per_user).mean(axis=0).tolist(),
        "greedy": bool(greedy),
        "seed": seed,
        "num_episodes": episodes,
    }
