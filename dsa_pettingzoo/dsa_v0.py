"""Versioned entry point of the DSA environment (PettingZoo convention): ``from dsa_pettingzoo import dsa_v0``.

``env()``: the AEC env with PettingZoo's order-enforcing wrapper; ``raw_env()``: the unwrapped
AEC env (:class:`~dsa_pettingzoo.aec.DSAAECEnv`); ``parallel_env()``: the ParallelEnv.
"""

from .aec import DSAAECEnv, env, raw_env
from .env import DSAParallelEnv, parallel_env

__all__ = ["DSAAECEnv", "DSAParallelEnv", "env", "parallel_env", "raw_env"]
