"""dsa_pettingzoo: multi-agent distributed Dynamic Spectrum Access as a PettingZoo environment.

Needs only numpy, gymnasium and pettingzoo (never torch or ray).

>>> import dsa_pettingzoo
>>> par = dsa_pettingzoo.parallel_env(setup="B")   # the ParallelEnv
>>> aec = dsa_pettingzoo.env(setup="A")            # the AEC version (raw_env: unwrapped)
>>> sim = dsa_pettingzoo.BatchedDSA(1024, setup="A")  # B episodes at once, numpy only
"""

from .aec import DSAAECEnv, env, raw_env
from .batched import BatchedDSA
from .config import SETUPS, ConfigError, DSAConfig, make_config
from .env import DSAParallelEnv, InvalidActionError, parallel_env
from .naming import agent_id, agent_ids, agent_index

__all__ = [
    "SETUPS",
    "BatchedDSA",
    "ConfigError",
    "DSAAECEnv",
    "DSAConfig",
    "DSAParallelEnv",
    "InvalidActionError",
    "agent_id",
    "agent_ids",
    "agent_index",
    "env",
    "make_config",
    "parallel_env",
    "raw_env",
]
