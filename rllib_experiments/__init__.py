"""rllib_experiments: IAGC multi-agent PPO on the DSA environment (RLlib new API stack).

Modules: ``config`` (Settings, presets, build_algo_config), ``modules`` (actor and shared
critic RLModules), ``connectors`` (whole episodes -> GAE train batch), ``learner``
(IAGCTorchLearner), ``evaluation`` (evaluate_actors on the batched simulator).
Nothing heavy is imported here: ``import rllib_experiments`` needs neither torch nor ray.
"""
