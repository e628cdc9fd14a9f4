"""Sparsity schedules, magnitude masks and RLlib glue for pruning recurrent actors.

Knows nothing of the environment. Modules (see docs/pruning.md):

- ``schedules``: eqs. (10)-(14) as pure functions, ``SparsitySchedule``, CLI
- ``plot_schedules``: Fig. 1
- ``masks``: ``MagnitudePruner`` (plain torch, any ``nn.Module``)
- ``config``: ``PruningConfig``, ``add_pruning`` (RLlib algorithm config)
- ``learner``: ``PruningLearnerMixin``, ``PrunedPPOTorchLearner``
- ``callback``: ``PruningCallback``, ``finalize_pruning``

Nothing is imported here, so ``python -m pruning_callbacks.schedules`` runs cleanly and
importing the package needs neither torch nor ray.
"""
