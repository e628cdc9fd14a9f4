"""Sparsity schedules, magnitude masks and RLlib glue for pruning recurrent actors.

Knows nothing of the environment. Modules, in import order (each imports only those
above it; see docs/pruning.md):

- ``schedules``: registry of schedules (eqs. 10-14 in ``schedules.equations``), CLI;
  needs neither torch nor ray
- ``mask_options``: the masks' choices (modes, rankings), without torch
- ``masks``: ``MagnitudePruner`` (plain torch, any ``nn.Module``)
- ``rllib.pruning_config``: ``PruningConfig`` (settings of ``learner_config_dict["pruning"]``)
- ``rllib.learner``: ``PruningLearnerMixin``, ``PrunedPPOTorchLearner``
- ``rllib.callback``: ``PruningCallback``, ``add_pruning``, ``finalize_pruning``, ``ship_weights``

``python -m pruning_callbacks schedules ...`` is the command line (``__main__``).

The names below are re-exported lazily (module ``__getattr__``): ``import
pruning_callbacks`` and ``pruning_callbacks.schedules`` must not pull in torch or ray,
which only the masks and the RLlib glue need.
"""

import importlib

_EXPORTS = {
    "pruning_callbacks.schedules": (
        "SCHEDULES",
        "Schedule",
        "ScheduleError",
        "make_schedule",
        "per_agent_schedules",
        "register_schedule",
        "schedule_parameters",
    ),
    "pruning_callbacks.masks": ("MagnitudePruner",),
    "pruning_callbacks.rllib.pruning_config": ("PruningConfig",),
    "pruning_callbacks.rllib.learner": ("PruningLearnerMixin", "PrunedPPOTorchLearner"),
    "pruning_callbacks.rllib.callback": (
        "PruningCallback",
        "add_pruning",
        "finalize_pruning",
        "ship_weights",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
