"""Settings -> the RLlib algorithm config of one DSA experiment (IAGC-PPO, optional pruning).

:func:`build_algo_config` calls the environment-agnostic builder
:func:`rllib_experiments.iagc.config.iagc_ppo_config` with the DSA environment and, when
``settings.fast_sampling``, the batched DSA env runner
(:class:`~rllib_experiments.dsa.env_runner.BatchedDSAEnvRunner`); with a schedule other
than "none" it adds per-user magnitude pruning of the actors (:mod:`pruning_callbacks`;
the shared critic is never pruned, Remark 1).
"""

from __future__ import annotations

from typing import Any, Dict

from dsa_pettingzoo import make_config
from rllib_experiments.settings import Settings


def probe_env(settings: Settings) -> Dict[str, Any]:
    """Agent ids, spaces, state size and horizon of the configured environment."""
    # imports ray, torch: only when called
    from rllib_experiments.dsa.env import make_parallel_env
    from rllib_experiments.iagc.envs import probe_parallel_env

    info = probe_parallel_env(make_parallel_env, settings.env_kwargs())
    info["horizon"] = int(make_config(**settings.env_kwargs()).horizon)
    return info


def module_specs(settings: Settings, info: Dict[str, Any]):
    """The MultiRLModuleSpec of the settings: one actor per user, the shared critic."""
    # imports ray, torch: only when called
    from rllib_experiments.iagc.config import module_specs as iagc_specs

    return iagc_specs(
        info["agents"],
        info["obs_space"],
        info["act_space"],
        hidden_sizes=settings.hidden_sizes,
        lstm_size=settings.lstm_size,
        lstm_layers=settings.lstm_layers,
        critic_mode=settings.critic_mode,
        state_dim=info["state_dim"],
    )


#: Settings fields that are IAGC hyperparameters under the same name.
_IAGC_FIELDS = (
    "hidden_sizes",
    "lstm_size",
    "lstm_layers",
    "critic_mode",
    "actor_lr",
    "critic_lr",
    "gamma",
    "gae_lambda",
    "clip_eps",
    "entropy_coeff",
    "grad_clip",
    "num_epochs",
    "minibatch_episodes",
    "normalize_rewards",
    "standardize_advantages",
    "episodes_per_iteration",
    "num_env_runners",
    "num_learners",
    "learner_threads",
    "autocast_bf16",
    "learner_device",
    "seed",
)


def build_algo_config(settings: Settings):
    """PPOConfig (new API stack) of IAGC-PPO on the DSA environment with these settings."""
    # imports ray, scipy, torch: only when called
    from rllib_experiments.dsa.env import DSAMultiAgentEnv, DSAMultiAgentEnvWithState
    from rllib_experiments.dsa.env_runner import BatchedDSAEnvRunner
    from rllib_experiments.iagc.config import iagc_ppo_config

    settings.validate()
    info = probe_env(settings)
    # The batched runner builds states itself; RLlib's runner reads them from the env's infos.
    with_state = settings.critic_mode == "state" and not settings.fast_sampling
    config = iagc_ppo_config(
        DSAMultiAgentEnvWithState if with_state else DSAMultiAgentEnv,
        env_config=settings.env_kwargs(),
        horizon=info["horizon"],
        agents=info["agents"],
        obs_space=info["obs_space"],
        act_space=info["act_space"],
        state_dim=info["state_dim"],
        env_runner_cls=BatchedDSAEnvRunner if settings.fast_sampling else None,
        num_envs_per_env_runner=settings.envs_per_runner,
        **{name: getattr(settings, name) for name in _IAGC_FIELDS},
    )
    _wire_pruning(config, settings, info["agents"])
    return config


def pruning_config(settings: Settings, agents):
    """pruning_callbacks.PruningConfig of the settings (built and checked once by
    :meth:`Settings.validate <rllib_experiments.settings.Settings.validate>`), for the
    environment's actor ids ``agents``: one schedule per user, the critic never pruned."""
    config = settings.pruning_config()
    if list(config.modules) != list(agents):
        raise ValueError(
            f"the environment's agents {list(agents)} are not the users the settings "
            f"were validated for {config.modules}"
        )
    return config


def _wire_pruning(config, settings: Settings, agents) -> None:
    """Per-user magnitude pruning (pruning_callbacks) when a schedule is set."""
    if settings.schedule == "none":
        return
    # imports ray, scipy, torch: only when called
    from pruning_callbacks.rllib.callback import add_pruning
    from rllib_experiments.iagc.learner import PrunedIAGCTorchLearner

    config.learners(learner_class=PrunedIAGCTorchLearner)
    add_pruning(config, pruning_config(settings, agents))
