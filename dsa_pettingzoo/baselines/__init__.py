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

#: ``make_policy(PRETRAINED_PREFIX + NAME)``: a set of learned actors shipped with the package.
PRETRAINED_PREFIX = "pretrained:"


def _pretrained(name: str, **params) -> BatchedPolicy:
    """The shipped set ``name`` (:mod:`dsa_pettingzoo.pretrained`)."""
    # dsa_pettingzoo.pretrained builds on ExportedPolicy, so it sits above this package
    from ..pretrained import load

    return load(name, **params)


#: prefix -> policy class (or factory) built from the text after the prefix:
#: ``make_policy("exported:DIR")`` is ``ExportedPolicy("DIR", **params)``,
#: ``make_policy("pretrained:NAME")`` the shipped set NAME.
PREFIXED_POLICIES = {EXPORTED_PREFIX: ExportedPolicy, PRETRAINED_PREFIX: _pretrained}
_ARGUMENT_OF = {EXPORTED_PREFIX: "DIR", PRETRAINED_PREFIX: "NAME"}


def policy_names() -> list[str]:
    """What ``make_policy`` accepts, for messages: the names, then ``PREFIX<argument>`` forms."""
    return [*POLICIES, *(f"{prefix}{_ARGUMENT_OF[prefix]}" for prefix in PREFIXED_POLICIES)]


def prefixed(name) -> bool:
    """Whether ``name`` is a ``PREFIX<argument>`` form (exported or pretrained actors)."""
    return isinstance(name, str) and any(
        name.startswith(prefix) and len(name) > len(prefix) for prefix in PREFIXED_POLICIES
    )


def make_policy(name: str, **params) -> BatchedPolicy:
    """Build the baseline ``name`` with its parameters (ValueError on an unknown name).

    ``exported:DIR`` loads the exported actors of DIR (:class:`ExportedPolicy`; params
    ``greedy``, ``compute``), ``pretrained:NAME`` a shipped set (:mod:`dsa_pettingzoo.pretrained`,
    the same params).
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
    "PRETRAINED_PREFIX",
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
    "prefixed",
]
