"""Versioned entry point of the DSA environment (PettingZoo convention): ``from dsa_pettingzoo import dsa_v0``."""

from .env import DSAParallelEnv, env, parallel_env, raw_env

__all__ = ["DSAParallelEnv", "env", "parallel_env", "raw_env"]
