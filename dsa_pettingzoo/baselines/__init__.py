"""Baseline policies for the DSA environment, batched over episodes.

Every policy follows :class:`~dsa_pettingzoo.baselines.base.BatchedPolicy`:
``reset(config, num_envs, rng)``, ``act(sim_or_None) -> int [B, N]``,
``update(actions, feedback, rates)``. Definitions: docs/baselines.md.

>>> from dsa_pettingzoo.baselines import make_policy
>>> from dsa_pettingzoo.evaluation import evaluate_policy
>>> policy = make_policy("aloha", p=0.5)
>>> stats = evaluate_policy(policy, episodes=100, seed=0, setup="A")   # on BatchedDSA
>>> stats.summary()["mean_reward"]                                      # about 1000

For the dict-based ParallelEnv see :mod:`dsa_pettingzoo.baselines.adapter`.
"""

from __future__ import annotations

from ..physics import ACK, IDLE, NACK, PU_BLOCKED
from .adapter import ParallelPolicy, play_parallel_episode
from .aloha import AlohaPolicy, aloha_expected_successes
from .base import BatchedPolicy
from .exported import EXPORTED_PREFIX, ExportedPolicy
from .game_of_thrones import GameOfThronesPolicy
from .mctopm import MCTopMPolicy
from .musical_chairs import MusicalChairsPolicy
from .musical_chairs_rss import MusicalChairsRSSPolicy
from .oca import OCAPolicy
from .oracle import OraclePolicy
from .random_policy import RandomPolicy
from .randtopm import RandTopMPolicy

#: name -> policy class, the choices of ``dsa-evaluate --policy``.
POLICIES = {
    cls.name: cls
    for cls in (
        RandomPolicy,
        AlohaPolicy,
        OCAPolicy,
        MusicalChairsPolicy,
        MusicalChairsRSSPolicy,
        MCTopMPolicy,
        RandTopMPolicy,
        GameOfThronesPolicy,
        OraclePolicy,
    )
}

#: prefix -> policy class built from the text after the prefix: ``make_policy("exported:DIR")``
#: is ``ExportedPolicy("DIR", **params)``.
PREFIXED_POLICIES = {EXPORTED_PREFIX: ExportedPolicy}


def policy_names() -> list[str]:
    """What ``make_policy`` accepts, for messages: the names, then ``PREFIX<argument>`` forms."""
    return [*POLICIES, *(f"{prefix}DIR" for prefix in PREFIXED_POLICIES)]


def make_policy(name: str, **params) -> BatchedPolicy:
    """Build the baseline ``name`` with its parameters (ValueError on an unknown name).

    ``exported:DIR`` loads the exported actors of DIR (:class:`ExportedPolicy`; params
    ``greedy``, ``compute``).
    """
    if isinstance(name, str):
        for prefix, cls in PREFIXED_POLICIES.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                return cls(name[len(prefix) :], **params)
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; allowed: {', '.join(policy_names())}")
    return POLICIES[name](**params)


__all__ = [
    "ACK",
    "EXPORTED_PREFIX",
    "IDLE",
    "NACK",
    "POLICIES",
    "PU_BLOCKED",
    "PREFIXED_POLICIES",
    "AlohaPolicy",
    "BatchedPolicy",
    "ExportedPolicy",
    "GameOfThronesPolicy",
    "MCTopMPolicy",
    "MusicalChairsPolicy",
    "MusicalChairsRSSPolicy",
    "OCAPolicy",
    "OraclePolicy",
    "ParallelPolicy",
    "RandTopMPolicy",
    "RandomPolicy",
    "aloha_expected_successes",
    "make_policy",
    "play_parallel_episode",
    "policy_names",
]
