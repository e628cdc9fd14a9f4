"""BenchMARL's arms of the frameworks study: train one (arm, seed), evaluate it as a baseline.

An arm is a BenchMARL algorithm with a model for its actors (:data:`ARMS`); critics are MLPs.
:func:`run_trial` trains it for a number of *episodes* (BenchMARL counts frames, one per slot:
episodes x horizon frames, collected ``episodes_per_batch`` episodes at a time) and evaluates
the greedy policy with :func:`dsa_pettingzoo.evaluation.evaluate_policy` on the episodes of
:data:`~dsa_pettingzoo.evaluation.EVAL_SEED`, beside the oracle on the same episodes, the
protocol of Table I's rows. :class:`BenchMARLPolicy` plays a trained BenchMARL policy (MLP or
recurrent) as a batched policy of all users.

The budget of IAGC-PPO (Table I): 1000 episodes of setup A, evaluated on 100 episodes
(:data:`rllib_experiments.studies.common.budgets.PAPER`); the budget `full` of :mod:`.plan` is it.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any, Dict

import numpy as np
import torch
from benchmarl.algorithms import IppoConfig, MappoConfig
from benchmarl.experiment import Experiment, ExperimentConfig
from benchmarl.models import GruConfig, MlpConfig
from tensordict import TensorDict
from torchrl.envs.utils import ExplorationType, set_exploration_type

from dsa_pettingzoo import make_config
from dsa_pettingzoo.baselines import make_policy
from dsa_pettingzoo.baselines.base import ObservationPolicy
from dsa_pettingzoo.evaluation import EVAL_SEED, evaluate_policy, oracle_ratios
from dsa_pettingzoo.integrations.benchmarl import GROUP, DSATask
from rllib_experiments.studies.frameworks.plan import ARM_NAMES, BUDGETS  # noqa: F401 (re-exported)

#: arm -> (BenchMARL algorithm config class, actor model config class); the names: ARM_NAMES
ARMS = {
    "mappo_mlp": (MappoConfig, MlpConfig),
    "mappo_gru": (MappoConfig, GruConfig),
    "ippo_mlp": (IppoConfig, MlpConfig),
    "ippo_gru": (IppoConfig, GruConfig),
}
assert tuple(ARMS) == ARM_NAMES


def experiment_config(budget: Dict[str, Any], horizon: int, save_folder: str) -> ExperimentConfig:
    """BenchMARL's default experiment config with the budget's frames; no logging, no video."""
    config = ExperimentConfig.get_from_yaml()
    per_batch = budget["episodes_per_batch"]
    if budget["episodes"] % per_batch:
        raise ValueError(
            f"episodes ({budget['episodes']}) must be a multiple of episodes_per_batch "
            f"({per_batch})"
        )
    config.max_n_frames = budget["episodes"] * horizon
    config.on_policy_collected_frames_per_batch = per_batch * horizon
    config.on_policy_n_envs_per_worker = per_batch
    # BenchMARL's minibatch (400 frames) cannot exceed a batch: a smaller batch is one minibatch
    config.on_policy_minibatch_size = min(config.on_policy_minibatch_size, per_batch * horizon)
    # independent actors, as IAGC-PPO's (and as the paper's): N users sharing one actor see the
    # same first observation, so greedy shared actors all pick the same channel and collide
    config.share_policy_params = False
    config.evaluation = False
    config.render = False
    config.loggers = []
    config.create_json = False
    config.checkpoint_at_end = False
    config.save_folder = save_folder
    return config


def _as_tuple(key) -> tuple:
    return key if isinstance(key, tuple) else (key,)


class BenchMARLPolicy(ObservationPolicy):
    """A trained BenchMARL policy of the one group as a batched policy of all users.

    The actor reads each user's observation (rebuilt as the environment hands it); a recurrent
    actor also reads its hidden state, kept here per episode of the batch and zeroed at reset
    (``is_init``), as BenchMARL's own transforms do in training. Greedy by default
    (TorchRL's deterministic exploration type), as Table I's evaluation.
    """

    name = "benchmarl"

    def __init__(self, experiment: Experiment, greedy: bool = True):
        self.policy = experiment.policy
        self.greedy = greedy
        spec = experiment.test_env.observation_spec
        # the recurrent state keys: what the actor reads besides observations and is_init
        self._hidden = {
            key: spec[key]
            for key in self.policy.in_keys
            if key not in ((GROUP, "observation"), "is_init")
        }

    def _reset(self) -> None:
        super()._reset()
        B = self.num_envs
        self._state = {
            key: spec.zero().expand(B, *spec.shape) for key, spec in self._hidden.items()
        }
        self._is_init = torch.ones(B, 1, dtype=torch.bool)

    def act(self, sim=None) -> np.ndarray:
        B = self.num_envs
        td = TensorDict({(GROUP, "observation"): torch.from_numpy(self._obs)}, batch_size=[B])
        for key, value in self._state.items():
            td[key] = value
        td["is_init"] = self._is_init
        kind = ExplorationType.DETERMINISTIC if self.greedy else ExplorationType.RANDOM
        with torch.no_grad(), set_exploration_type(kind):
            out = self.policy(td)
        # the actor writes each recurrent state's next value under "next"
        self._state = {key: out.get(("next",) + _as_tuple(key)) for key in self._state}
        self._is_init = torch.zeros(B, 1, dtype=torch.bool)
        return out[GROUP, "action"].numpy().astype(np.int64)


def run_trial(arm: str, seed: int, budget: Dict[str, Any]) -> Dict[str, Any]:
    """Train ``arm`` with ``seed`` under ``budget``; its record: evaluation, oracle ratio, times."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; allowed: {', '.join(ARMS)}")
    algorithm, model = ARMS[arm]
    env = dict(budget["env"])
    task = DSATask[env.pop("setup")].get_task(env)
    horizon = make_config(**task.config).horizon
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as folder:
        experiment = Experiment(
            task=task,
            algorithm_config=algorithm.get_from_yaml(),
            model_config=model.get_from_yaml(),
            critic_model_config=MlpConfig.get_from_yaml(),
            seed=seed,
            config=experiment_config(budget, horizon, folder),
        )
        start = time.perf_counter()
        experiment.run()
        train_s = time.perf_counter() - start
    env_kwargs = task.config
    episodes = budget["eval_episodes"]
    stats = evaluate_policy(BenchMARLPolicy(experiment), episodes, seed=EVAL_SEED, **env_kwargs)
    oracle = evaluate_policy(make_policy("oracle"), episodes, seed=EVAL_SEED, **env_kwargs)
    return {
        "arm": arm,
        "seed": seed,
        "budget": budget["name"],
        "env": env_kwargs,
        "train_episodes": budget["episodes"],
        "frames": experiment.total_frames,
        "train_wall_s": train_s,
        **stats.summary(),
        **oracle_ratios(stats, oracle),
    }
