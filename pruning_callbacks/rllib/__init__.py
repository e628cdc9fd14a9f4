"""Pruning inside RLlib's new API stack: the settings, the Learner mixin, the callback.

- ``pruning_config``: ``PruningConfig``, the settings carried in
  ``learner_config_dict["pruning"]`` (needs neither torch nor ray)
- ``learner``: ``PruningLearnerMixin``, ``PrunedPPOTorchLearner``
- ``callback``: ``PruningCallback``, ``add_pruning``, ``finalize_pruning``, ``ship_weights``

Nothing is imported here, so that ``PruningConfig`` can be built without importing ray.
"""
