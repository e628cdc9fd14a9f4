"""rllib_experiments: IAGC multi-agent PPO on the DSA environment (RLlib new API stack).

Its layers are its folders, each importing only the ones before it:

* ``iagc/``: IAGC-PPO for any PettingZoo ParallelEnv (actor and shared-critic RLModules,
  the episode connector, the learner); knows nothing of DSA;
* ``dsa/``: the DSA plug-in (the environment wrapper, sampling on the batched simulator,
  actor files);
* ``run/``: one run folder (outputs, progress, checkpoints, random streams, background
  evaluation, provenance, export);
* the core, at the top: ``settings`` (Settings, presets), ``algorithm`` (Settings -> RLlib
  config), ``training`` (the one training loop), ``evaluation``;
* ``methods/``: the rows of Table I and their variants;
* ``studies/``: ``common/`` and one folder per study (table1, pruning, scale, benchmarks);
* ``cli/``: the commands, ``python -m rllib_experiments <command>``.

Nothing heavy is imported here: ``import rllib_experiments`` needs neither torch nor ray.
"""
