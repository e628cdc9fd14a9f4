"""IAGC-PPO on RLlib's new API stack, for any PettingZoo ParallelEnv (knows nothing of DSA).

Independent recurrent actors, one per agent, and one Global Critic that lives on the
learner only (``learner_only=True``: never shipped to env runners):

- ``modules``: :class:`IAGCActor` (Linear-ReLU layers, an LSTM, a linear head) and
  :class:`SharedCritic` (modes ``paper``: each agent's own history; ``centralized``:
  all agents' observations; ``state``: the env's ``state()``)
- ``connectors``: whole episodes -> train batch with reward normalisation and GAE
- ``learner``: :class:`IAGCTorchLearner` (clip loss per actor + one critic loss),
  :class:`PrunedIAGCTorchLearner` (with :mod:`pruning_callbacks`)
- ``stacked``: all actors' forward pass batched over agents (fast samplers)
- ``envs``: a PettingZoo ParallelEnv as an RLlib MultiAgentEnv, with ``state()`` in infos
- ``config``: :func:`iagc_ppo_config`, the whole PPOConfig

Submodules are imported on use, so ``import rllib_experiments.iagc`` stays light.
"""

from __future__ import annotations

import importlib

__all__ = [
    "CRITIC_ID",
    "IAGCActor",
    "IAGCTorchLearner",
    "PrunedIAGCTorchLearner",
    "SharedCritic",
    "iagc_ppo_config",
    "module_specs",
]

_HOME = {
    "CRITIC_ID": "modules",
    "IAGCActor": "modules",
    "SharedCritic": "modules",
    "IAGCTorchLearner": "learner",
    "PrunedIAGCTorchLearner": "learner",
    "iagc_ppo_config": "config",
    "module_specs": "config",
}


def __getattr__(name):
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
