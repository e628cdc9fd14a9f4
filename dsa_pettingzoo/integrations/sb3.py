"""Stable-Baselines3 on the DSA environment through SuperSuit, with parameter sharing.

>>> from stable_baselines3 import PPO
>>> from dsa_pettingzoo.evaluation import evaluate_policy
>>> from dsa_pettingzoo.integrations.sb3 import SB3Policy, make_vec_env
>>> venv = make_vec_env(num_vec_envs=4, seed=0, setup="A")   # 4 episodes x 10 users = 40
>>> model = PPO("MlpPolicy", venv, n_steps=100, seed=0).learn(40_000)
>>> evaluate_policy(SB3Policy(model), episodes=100, seed=0, setup="A").summary()

The path of PettingZoo's SB3 tutorials: ``supersuit.pettingzoo_env_to_vec_env_v1`` turns the
ParallelEnv's N users into N sub-environments of one vector env (same spaces for all
users, so one SB3 policy is every user's: parameter sharing, each user acting on its own
observation), and ``supersuit.concat_vec_envs_v1`` stacks ``num_vec_envs`` copies of it. The
episode's end (all users terminated after ``horizon`` slots) is a termination for every
sub-environment, and the copies reset by themselves. There is no global state on this path:
SB3's critic sees what the actor sees.

SB3's ``seed()`` (which ``PPO(seed=...)`` calls) is not implemented by SuperSuit's wrapper;
:class:`SeededVecEnv` adds it, so that a run is repeatable: the copies get the seeds
``seed, seed + 1, ...`` at the next reset and draw every later episode from their own
generators.

Needs the ``[sb3]`` extra (stable-baselines3, supersuit).
"""

from __future__ import annotations

import numpy as np
import supersuit
from stable_baselines3.common.vec_env import VecMonitor
from supersuit.vector.sb3_vector_wrapper import SB3VecEnvWrapper

from ..baselines.base import ObservationPolicy
from ..env import parallel_env


class SeededVecEnv(SB3VecEnvWrapper):
    """SuperSuit's SB3 vector env with SB3's ``seed()``: the seeds apply at the next reset."""

    def __init__(self, venv):
        super().__init__(venv)
        self._next_seed = None

    def seed(self, seed: int | None = None):
        self._next_seed = seed
        return [None if seed is None else seed + i for i in range(self.num_envs)]

    def reset(self, seed: int | None = None, options=None):
        if seed is None:
            seed, self._next_seed = self._next_seed, None
        # SuperSuit gives copy i the seed seed + i (and each of its users that episode)
        observations, self.reset_infos = self.venv.reset(seed=seed, options=options)
        return observations

    def get_attr(self, attr_name: str, indices=None):
        if attr_name == "render_mode":  # SuperSuit's ConcatVecEnv has no get_attr
            return [self.render_mode] * self.num_envs
        return super().get_attr(attr_name, indices)


def make_vec_env(
    num_vec_envs: int = 1, *, seed: int | None = None, monitor: bool = True, **env_kwargs
):
    """An SB3 VecEnv of ``num_vec_envs`` copies of the ParallelEnv, one sub-env per user.

    ``env_kwargs`` are the environment's keyword arguments (``setup``, ``num_users``, ...);
    ``num_envs`` of the result is ``num_vec_envs * num_users``. ``seed`` seeds the first reset
    (``PPO(seed=...)`` does too). ``monitor`` wraps it in SB3's ``VecMonitor``, so that
    ``rollout/ep_rew_mean`` is logged: each sub-env's return, which under the default
    ``reward="sum_rate"`` is the episode's sum rate (the paper's unit) for every user.
    """
    if isinstance(num_vec_envs, bool) or not isinstance(num_vec_envs, int) or num_vec_envs < 1:
        raise ValueError(f"num_vec_envs must be an integer >= 1, got {num_vec_envs!r}")
    env = parallel_env(**env_kwargs)
    markov = supersuit.pettingzoo_env_to_vec_env_v1(env)
    # num_cpus=0: the copies run in this process (SuperSuit's default for the gymnasium class)
    concat = supersuit.concat_vec_envs_v1(markov, num_vec_envs, num_cpus=0, base_class="gymnasium")
    venv = SeededVecEnv(concat)
    if seed is not None:
        venv.seed(seed)
    return VecMonitor(venv) if monitor else venv


class SB3Policy(ObservationPolicy):
    """A trained SB3 model as a batched policy of all users (for
    :func:`dsa_pettingzoo.evaluation.evaluate_policy`, the protocol of every baseline).

    Decentralised like the training: each user's observation goes through the one shared
    model, and actions are sampled from it (with torch's global generator, not the policy's
    ``rng``: seed torch for a repeatable evaluation). ``deterministic=True`` takes the most
    likely action instead, but users that share one model and see the same first observation
    then pick the same channel in every slot and always collide (reward 0).
    """

    name = "sb3"

    def __init__(self, model, deterministic: bool = False):
        if not isinstance(deterministic, bool):
            raise ValueError(f"deterministic must be true or false, got {deterministic!r}")
        self.model = model
        self.deterministic = deterministic

    def act(self, sim=None) -> np.ndarray:
        flat = self._obs.reshape(-1, self._obs.shape[-1])
        actions, _ = self.model.predict(flat, deterministic=self.deterministic)
        return np.asarray(actions, dtype=np.int64).reshape(self.shape)
