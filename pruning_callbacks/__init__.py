"""Sparsity schedules, magnitude masks and RLlib glue for pruning recurrent actors.

Knows nothing of the environment. ``schedules`` and ``masks`` need only the standard
library / torch; the RLlib parts (``config.add_pruning``, ``learner``, ``callback``) are
imported lazily from their modules so that importing this package never needs ray.
See docs/pruning.md.
"""

from pruning_callbacks.schedules import SCHEDULES, SparsitySchedule, per_agent_schedules

__all__ = ["SCHEDULES", "SparsitySchedule", "per_agent_schedules"]
