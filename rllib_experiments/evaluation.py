"""The one evaluator of trained actors (and of the baselines beside them), in the paper's unit.

Every command evaluates through :func:`evaluate`: ``train`` (its result.json),
the Tune trials of ``tune_schedules``, the trials of ``reproduce`` (Table I), the
checks of ``export``. One rule for everything:

* **Episodes**: episode i of an evaluation has the environment seed
  ``dsa_pettingzoo.baselines.rollout.episode_seeds(eval_seed, episodes)[i]``, the
  seeds :func:`dsa_pettingzoo.baselines.evaluate_policy` gives a baseline for the same
  run seed, so actors and baselines face the same SNR matrices and PU sequences.
  The default ``eval_seed`` is :data:`EVAL_SEED` for every command.
* **Modes**: "stochastic" (actions sampled from g(.|y, h), eq. 3) and "greedy"
  (argmax). Sampled actions come from a torch generator seeded with ``eval_seed``,
  fresh for each mode, so the same actors give the same numbers whoever calls.
* **Statistics**: :meth:`dsa_pettingzoo.baselines.EpisodeStats.summary` of the
  episodes: ``mean_reward``, ``std_reward`` (the sample standard deviation over
  episodes, ddof = 1), ``sem_reward``, collision and idle rates, utilisation,
  Jain's fairness.
* **Unit**: the episode sum of the system throughput, sum_t sum_n log2(1 +
  beta^n(t)) 1{ACK} (setup A's slotted ALOHA scores about 1000).
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import torch

from dsa_pettingzoo import BatchedDSA
from dsa_pettingzoo.baselines import make_policy
from dsa_pettingzoo.evaluation import (
    DEFAULT_CHUNK_SIZE,
    EVAL_SEED,
    EpisodeStats,
    episode_seeds,
    evaluate_policy,
)
from pruning_callbacks.masks import prunable_parameters, zero_fraction
from rllib_experiments.dsa.rollout import rollout

#: Evaluation modes: key in the results -> rollout mode.
MODES = {"stochastic": "sample", "greedy": "greedy"}


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def evaluate(
    actors: Sequence[torch.nn.Module],
    env_kwargs: Dict[str, Any],
    *,
    episodes: int,
    eval_seed: int = EVAL_SEED,
    modes: Sequence[str] = tuple(MODES),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Dict[str, Dict[str, Any]]:
    """Evaluate the users' actors (one per user, in user order) in each of ``modes``.

    Returns ``{mode: EpisodeStats.summary()}`` over ``episodes`` episodes (see the
    module doc for the episodes, the action draws and the std convention).
    """
    _check_count("episodes", episodes)
    _check_count("chunk_size", chunk_size)
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise ValueError(f"modes must be a non-empty subset of {list(MODES)}, got {list(modes)}")
    for actor in actors:
        actor.eval()
    seeds = episode_seeds(int(eval_seed), episodes)
    sims: Dict[int, BatchedDSA] = {}
    out = {}
    for key in modes:
        generator = torch.Generator().manual_seed(int(eval_seed))
        parts = []
        for start in range(0, episodes, chunk_size):
            chunk = seeds[start : start + chunk_size]
            if len(chunk) not in sims:
                sims[len(chunk)] = BatchedDSA(num_envs=len(chunk), **env_kwargs)
            sim = sims[len(chunk)]
            rollout(actors, sim, mode=MODES[key], seeds=chunk, generator=generator)
            parts.append(EpisodeStats.from_simulator(sim))
        out[key] = EpisodeStats.concatenate(parts).summary()
    return out


def evaluate_baseline(
    name: str, env_kwargs: Dict[str, Any], *, episodes: int, eval_seed: int = EVAL_SEED, **params
) -> Dict[str, Any]:
    """A baseline (``dsa_pettingzoo.baselines.make_policy(name)``) on the same episodes: its summary."""
    _check_count("episodes", episodes)
    policy = make_policy(name, **params)
    return evaluate_policy(policy, episodes=episodes, seed=int(eval_seed), **env_kwargs).summary()


def actors_from_weights(module_spec, weights: Dict[str, Dict], agents: Sequence[str]) -> List:
    """Build the users' actor modules from a MultiRLModuleSpec and load weights into them.

    ``weights``: module id -> state dict (``LearnerGroup.get_weights(module_ids=agents)``).
    Every parameter must be present (checked: ``set_state`` alone would skip missing keys).
    torch's global random state is left as it was.
    """
    actors = []
    for aid in agents:
        # Building initialises parameters from torch's global RNG, which the local env runner
        # also samples from: fork it so that evaluation never shifts the training's random stream.
        with torch.random.fork_rng(devices=[]):
            module = module_spec.rl_module_specs[aid].build()
        state = weights[aid]
        missing = set(module.state_dict().keys()) - set(state)
        if missing:
            raise ValueError(f"weights of {aid} lack parameters {sorted(missing)}")
        module.set_state(state)
        module.eval()
        actors.append(module)
    return actors


def algo_actors(algo) -> List:
    """The users' actors of an RLlib Algorithm with the learner's current weights (fresh copies).

    The one way to reach the actors: through the learner group's public ``get_weights``,
    which works with local and remote learners alike.
    """
    # imports ray: only when called
    from rllib_experiments.iagc.modules import actor_ids

    spec = algo.config.rl_module_spec
    agents = actor_ids(spec)
    return actors_from_weights(spec, algo.learner_group.get_weights(module_ids=agents), agents)


def actor_sparsity(actors) -> Dict[str, Any]:
    """Zero fractions of the actors: of the prunable weights and of every parameter.

    ``sparsity_prunable`` is what the pruning schedules target (weight matrices);
    ``sparsity_all`` counts biases too, and decides the size of an exported file.
    """
    prunable = [p for a in actors for p in prunable_parameters(a).values()]
    per_user = [zero_fraction(prunable_parameters(a).values()) for a in actors]
    return {
        "sparsity_prunable": zero_fraction(prunable),
        "sparsity_all": zero_fraction([p for a in actors for p in a.parameters()]),
        "sparsity_per_user": per_user,
        "num_params_per_actor": int(sum(p.numel() for p in actors[0].parameters())),
    }


def evaluate_snapshot(
    module_spec,
    weights: Dict[str, Dict],
    agents: Sequence[str],
    env_kwargs: Dict[str, Any],
    episodes: int,
    eval_seed: int,
) -> Tuple[Dict[str, Dict], Dict[str, Any]]:
    """(evaluation, sparsity) of actors rebuilt from ``weights``: what the trainer would compute.

    The task of :class:`rllib_experiments.run.background.BackgroundEvaluator`."""
    actors = actors_from_weights(module_spec, weights, agents)
    return (
        evaluate(actors, env_kwargs, episodes=episodes, eval_seed=eval_seed),
        actor_sparsity(actors),
    )
