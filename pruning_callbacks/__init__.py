"""Sparsity schedules, magnitude masks and RLlib glue for pruning recurrent actors.

Knows nothing of the environment. Modules, in import order (each imports only those
above it; see docs/pruning.md):

- ``schedules``: registry of schedules (eqs. 10-14 in ``schedules.equations``), CLI;
  needs neither torch nor ray
- ``plot_schedules``: Fig. 1
- ``masks``: ``MagnitudePruner`` (plain torch, any ``nn.Module``)
- ``config``: ``PruningConfig`` (settings of ``learner_config_dict["pruning"]``)
- ``learner``: ``PruningLearnerMixin``, ``PrunedPPOTorchLearner``
- ``callback``: ``PruningCallback``, ``add_pruning``, ``finalize_pruning``, ``ship_weights``

Nothing is imported here, so importing the package needs neither torch nor ray.
"""
