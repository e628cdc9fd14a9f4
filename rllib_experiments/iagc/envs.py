"""Any PettingZoo ParallelEnv as an RLlib MultiAgentEnv, optionally with its global state.

:class:`ParallelEnvWithState` is RLlib's ``ParallelPettingZooEnv`` plus one thing the
``state`` critic mode needs: after every ``reset`` and ``step`` it puts ``env.state()``
into every agent's infos under :data:`~rllib_experiments.iagc.modules.STATES`, so the
global state travels inside the episodes that RLlib's standard multi-agent runner builds.

:func:`register_parallel_env` registers a creator ``env_config -> ParallelEnv`` with
Ray Tune under a name (``config.environment(name, env_config=...)``).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
from ray.tune.registry import register_env

from rllib_experiments.iagc.modules import STATES


class ParallelEnvWithState(ParallelPettingZooEnv):
    """``ParallelPettingZooEnv`` that also reports ``state()`` in every agent's infos."""

    def __init__(self, env):
        if not callable(getattr(env, "state", None)):
            raise ValueError(
                f"{type(env).__name__} has no state(): the 'state' critic mode needs "
                "a ParallelEnv with a global state"
            )
        super().__init__(env)

    def _with_state(self, obs, infos):
        state = np.asarray(self.par_env.state(), np.float32)
        infos = dict(infos or {})
        for agent in obs:
            infos[agent] = {**(infos.get(agent) or {}), STATES: state}
        return infos

    def reset(self, *, seed=None, options=None):
        obs, infos = super().reset(seed=seed, options=options)
        return obs, self._with_state(obs, infos)

    def step(self, action_dict):
        obs, rewards, terminateds, truncateds, infos = super().step(action_dict)
        return obs, rewards, terminateds, truncateds, self._with_state(obs, infos)


def register_parallel_env(
    name: str, creator: Callable[[Dict[str, Any]], Any], *, with_state: bool = False
) -> str:
    """Register ``creator(env_config) -> ParallelEnv`` with Ray Tune as ``name``; returns ``name``."""
    wrapper = ParallelEnvWithState if with_state else ParallelPettingZooEnv
    register_env(name, lambda config: wrapper(creator(dict(config or {}))))
    return name


def probe_parallel_env(
    creator: Callable[[Dict[str, Any]], Any], env_config: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """Agents (``possible_agents``, in order), one agent's spaces and the state size of an env.

    Every agent must have the same observation and action space (one critic reads them all).
    """
    env = creator(dict(env_config or {}))
    try:
        agents = list(env.possible_agents)
        obs_space, act_space = env.observation_space(agents[0]), env.action_space(agents[0])
        for a in agents[1:]:
            if env.observation_space(a) != obs_space or env.action_space(a) != act_space:
                raise ValueError(
                    f"agent {a!r} has other spaces than {agents[0]!r}: IAGC needs "
                    "every agent to share one observation and one action space"
                )
        state_space = getattr(env, "state_space", None)
        state_dim = int(np.prod(state_space.shape)) if state_space is not None else None
    finally:
        env.close()
    return dict(agents=agents, obs_space=obs_space, act_space=act_space, state_dim=state_dim)
