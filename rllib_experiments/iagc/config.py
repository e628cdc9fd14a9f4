"""An RLlib PPOConfig (new API stack) for IAGC-PPO on any PettingZoo ParallelEnv.

IAGC-PPO: one recurrent actor per agent (no parameter sharing), one critic shared by
all agents that lives on the learner only, PPO's clip objective per actor, the
critic's least-squares loss summed over agents, GAE over whole episodes.

>>> from mpe2 import simple_spread_v3
>>> from rllib_experiments.iagc import iagc_ppo_config
>>> config = iagc_ppo_config(lambda cfg: simple_spread_v3.parallel_env(**cfg),
...                          env_config={"max_cycles": 25}, horizon=25, critic_mode="state")
>>> algo = config.build_algo(); algo.train()

Requirements on the environment: every agent acts at every step until the episode
ends, episodes have the same length (``horizon``), and all agents share one
observation space (a flat Box) and one Discrete action space. The ``state``
critic mode also needs ``state()`` and ``state_space``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Union

import numpy as np
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from rllib_experiments.iagc.envs import probe_parallel_env, register_parallel_env
from rllib_experiments.iagc.modules import (
    CRITIC_ID,
    CRITIC_MODES,
    IAGCActor,
    SharedCritic,
    policy_mapping_fn,
)

#: Default hyperparameters (the paper's values where it gives them).
DEFAULTS: Dict[str, Any] = dict(
    hidden_sizes=(128, 128),
    lstm_size=128,
    lstm_layers=1,
    critic_mode="paper",
    actor_lr=1e-4,
    critic_lr=5e-5,
    gamma=0.99,
    gae_lambda=0.95,
    clip_eps=0.2,
    entropy_coeff=0.0,
    grad_clip=None,
    num_epochs=4,
    minibatch_episodes=None,
    normalize_rewards=True,
    standardize_advantages=True,
    episodes_per_iteration=1,
    num_env_runners=0,
    num_envs_per_env_runner=1,
    num_learners=0,
    learner_threads=1,
    autocast_bf16=False,
    learner_device="cpu",
    seed=0,
)


def module_specs(
    agents: Sequence[str],
    obs_space,
    act_space,
    *,
    hidden_sizes,
    lstm_size: int,
    lstm_layers: int,
    critic_mode: str,
    state_dim: Optional[int] = None,
):
    """MultiRLModuleSpec: one IAGCActor per agent (in ``agents`` order) and the learner-only critic."""
    if critic_mode not in CRITIC_MODES:
        raise ValueError(f"critic_mode must be one of {CRITIC_MODES}, got {critic_mode!r}")
    net = dict(
        hidden_sizes=list(hidden_sizes), lstm_size=int(lstm_size), lstm_layers=int(lstm_layers)
    )
    # A dict built from a list: modules are built (and their initial weights drawn) in the
    # agents' order, so runs never depend on PYTHONHASHSEED.
    specs = {
        aid: RLModuleSpec(
            module_class=IAGCActor,
            observation_space=obs_space,
            action_space=act_space,
            model_config=dict(net),
        )
        for aid in agents
    }
    specs[CRITIC_ID] = RLModuleSpec(
        module_class=SharedCritic,
        observation_space=obs_space,
        action_space=act_space,
        learner_only=True,
        model_config=dict(
            net,
            critic_mode=critic_mode,
            num_users=len(agents),
            obs_dim=int(np.prod(obs_space.shape)),
            state_dim=state_dim,
        ),
    )
    return MultiRLModuleSpec(rl_module_specs=specs)


def iagc_ppo_config(
    env: Union[str, type, Callable[[Dict[str, Any]], Any]],
    *,
    env_config: Optional[Dict[str, Any]] = None,
    horizon: int,
    agents: Optional[Sequence[str]] = None,
    obs_space=None,
    act_space=None,
    state_dim: Optional[int] = None,
    env_runner_cls=None,
    learner_class=None,
    **hyperparameters,
):
    """PPOConfig of IAGC-PPO.

    Args:
        env: a callable ``env_config -> PettingZoo ParallelEnv`` (wrapped and registered
            here; with ``critic_mode="state"`` its ``state()`` reaches the critic), or an
            RLlib MultiAgentEnv class / registered name (then give ``agents``,
            ``obs_space``, ``act_space``, and ``state_dim`` for the ``state`` mode).
        env_config: keyword arguments of the environment.
        horizon: steps per episode (sets the train batch: ``episodes_per_iteration`` episodes).
        env_runner_cls: an env runner class (default RLlib's MultiAgentEnvRunner).
        learner_class: default :class:`~rllib_experiments.iagc.learner.IAGCTorchLearner`.
        **hyperparameters: any key of :data:`DEFAULTS` (unknown keys are an error).
    """
    # imports scipy: only when called
    from rllib_experiments.iagc.learner import IAGCTorchLearner

    unknown = sorted(set(hyperparameters) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown IAGC hyperparameter(s) {unknown}; allowed: {sorted(DEFAULTS)}")
    h = {**DEFAULTS, **hyperparameters}
    if h["learner_device"] not in ("cpu", "cuda"):
        raise ValueError(f"learner_device must be 'cpu' or 'cuda', got {h['learner_device']!r}")
    if h["learner_device"] == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "learner_device 'cuda': torch sees no CUDA device on this machine "
            f"(torch {torch.__version__}, torch.cuda.is_available() is False)"
        )
    env_config = dict(env_config or {})
    if callable(env) and not isinstance(env, (str, type)):
        info = probe_parallel_env(env, env_config)
        agents = agents or info["agents"]
        obs_space = obs_space or info["obs_space"]
        act_space = act_space or info["act_space"]
        state_dim = state_dim or info["state_dim"]
        env = register_parallel_env(
            f"iagc_{getattr(env, '__name__', 'env')}_{id(env):x}",
            env,
            with_state=h["critic_mode"] == "state",
        )
    if agents is None or obs_space is None or act_space is None:
        raise ValueError(
            "give agents, obs_space and act_space with an env class or name "
            "(they are probed only from a ParallelEnv creator)"
        )
    per_learner = h["episodes_per_iteration"] // max(1, h["num_learners"]) * int(horizon)
    config = (
        PPOConfig()
        .environment(env, env_config=env_config)
        # IAGCTorchLearner checks the gradients' finiteness itself, once per step.
        .framework("torch", torch_skip_nan_gradients=True)
        .env_runners(
            num_env_runners=h["num_env_runners"],
            num_envs_per_env_runner=h["num_envs_per_env_runner"],
            batch_mode="complete_episodes",
            rollout_fragment_length="auto",
            **({"env_runner_cls": env_runner_cls} if env_runner_cls is not None else {}),
        )
        .multi_agent(policies=list(agents), policy_mapping_fn=policy_mapping_fn)
        .rl_module(
            rl_module_spec=module_specs(
                agents,
                obs_space,
                act_space,
                hidden_sizes=h["hidden_sizes"],
                lstm_size=h["lstm_size"],
                lstm_layers=h["lstm_layers"],
                critic_mode=h["critic_mode"],
                state_dim=state_dim,
            )
        )
        .learners(
            learner_class=learner_class or IAGCTorchLearner,
            num_learners=h["num_learners"],
            num_gpus_per_learner=1 if h["learner_device"] == "cuda" else 0,
            add_default_connectors_to_learner_pipeline=False,
            learner_config_dict=dict(
                critic_lr=h["critic_lr"],
                iagc_num_epochs=h["num_epochs"],
                iagc_minibatch_episodes=h["minibatch_episodes"],
                iagc_shuffle=True,
                normalize_rewards=h["normalize_rewards"],
                standardize_advantages=h["standardize_advantages"],
                iagc_autocast_bf16=h["autocast_bf16"],
                iagc_learner_threads=h["learner_threads"],
            ),
        )
        .training(
            lr=h["actor_lr"],
            gamma=h["gamma"],
            lambda_=h["gae_lambda"],
            clip_param=h["clip_eps"],
            entropy_coeff=h["entropy_coeff"],
            use_kl_loss=False,
            kl_coeff=0.0,
            grad_clip=h["grad_clip"],
            grad_clip_by="global_norm",
            # Each of num_learners replicas updates on its share of the iteration's episodes.
            # The learner makes its own minibatches of whole episodes and ignores RLlib's
            # minibatch_size, which is set only because sharding episodes over >= 2
            # learners divides by it.
            train_batch_size_per_learner=per_learner,
            num_epochs=1,
            minibatch_size=per_learner,
            shuffle_batch_per_epoch=False,
        )
        .debugging(seed=h["seed"])
        .reporting(metrics_num_episodes_for_smoothing=h["episodes_per_iteration"])
    )
    return config
