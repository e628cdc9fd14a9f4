"""dsa_pettingzoo: multi-agent distributed Dynamic Spectrum Access as a PettingZoo environment.

Needs only numpy, gymnasium and pettingzoo (never torch or ray).
"""

from .batched import BatchedDSA
from .config import DSAConfig, make_config

__all__ = ["BatchedDSA", "DSAConfig", "make_config"]
