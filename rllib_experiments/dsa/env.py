"""The DSA environment as an RLlib MultiAgentEnv (importable, so checkpoints restore anywhere)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

import dsa_pettingzoo
from rllib_experiments.iagc.envs import ParallelEnvWithState


def make_parallel_env(env_config: Dict[str, Any]):
    """PettingZoo ParallelEnv of the DSA system from ``dsa_pettingzoo.parallel_env`` kwargs."""
    return dsa_pettingzoo.parallel_env(**env_config)


class DSAMultiAgentEnv(ParallelPettingZooEnv):
    """``dsa_pettingzoo.parallel_env(**config)`` wrapped by RLlib's ParallelPettingZooEnv.

    Passed to ``config.environment(DSAMultiAgentEnv, env_config=...)`` as a class, so a
    checkpoint restores in a new process without any ``register_env`` call.
    """

    def __init__(self, config: Optional[Dict[str, Any]] = None):
        super().__init__(make_parallel_env(dict(config or {})))


class DSAMultiAgentEnvWithState(ParallelEnvWithState):
    """:class:`DSAMultiAgentEnv` that also puts ``state()`` in every agent's infos (``state`` critic)."""

    def __init__(self, config: Optional[Dict[str, Any]] = None):
        super().__init__(make_parallel_env(dict(config or {})))
