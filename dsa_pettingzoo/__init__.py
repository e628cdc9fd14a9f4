"""dsa_pettingzoo: multi-agent distributed Dynamic Spectrum Access as a PettingZoo environment.

Needs only numpy, gymnasium and pettingzoo (never torch or ray).

>>> import dsa_pettingzoo
>>> par = dsa_pettingzoo.parallel_env(setup="B")   # the ParallelEnv
>>> aec = dsa_pettingzoo.env(setup="A")            # the AEC version
>>> sim = dsa_pettingzoo.BatchedDSA(1024, setup="A")  # B episodes at once, numpy only
"""

from .batched import BatchedDSA
from .config import DSAConfig, make_config
from .env import DSAParallelEnv, InvalidActionError, env, parallel_env, raw_env

__all__ = ["BatchedDSA", "DSAConfig", "DSAParallelEnv", "InvalidActionError", "env", "make_config",
           "parallel_env", "raw_env"]
