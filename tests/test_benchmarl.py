"""BenchMARL on TorchRL (dsa_pettingzoo.integrations.benchmarl, the [benchmarl] extra): the
DSA task gives TorchRL specs that check out, with the global state, and MAPPO (MLP) and IPPO
(GRU, recurrent) train on a small DSA system with BenchMARL's own configs."""

from __future__ import annotations

import math
import pickle


import pytest
from conftest import doc_block

pytest.importorskip("benchmarl", reason="the [benchmarl] extra")

import torch  # noqa: E402  (after the skip: the [benchmarl] extra brings torch)
from benchmarl.algorithms import IppoConfig, MappoConfig  # noqa: E402
from benchmarl.experiment import Callback, Experiment, ExperimentConfig  # noqa: E402
from benchmarl.models import GruConfig, MlpConfig  # noqa: E402
from torchrl.envs.utils import check_env_specs  # noqa: E402

from dsa_pettingzoo import SETUPS, ConfigError  # noqa: E402
from dsa_pettingzoo.integrations.benchmarl import GROUP, DSATask  # noqa: E402
from dsa_pettingzoo.physics import state_dim  # noqa: E402

pytestmark = pytest.mark.benchmarl

ENV = dict(num_users=3, num_channels=2, horizon=20)


class Losses(Callback):
    """Every loss of every training step."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_end(self, training_td, group):
        self.seen.append({k: float(v.mean()) for k, v in training_td.items() if "loss" in k})


def run(algorithm, model, tmp_path, frames: int = 400):
    """``frames`` environment steps (slots) of 2 parallel episodes, 2 updates."""
    torch.set_num_threads(1)
    config = ExperimentConfig.get_from_yaml()
    config.max_n_frames = frames
    config.on_policy_collected_frames_per_batch = frames // 2
    config.on_policy_n_envs_per_worker = 2
    config.on_policy_n_minibatch_iters = 2
    config.on_policy_minibatch_size = 50
    config.evaluation = False
    config.render = False
    config.loggers = []
    config.create_json = False
    config.save_folder = str(tmp_path)
    losses = Losses()
    experiment = Experiment(
        task=DSATask.A.get_task(ENV),
        algorithm_config=algorithm,
        model_config=model,
        critic_model_config=MlpConfig.get_from_yaml(),
        seed=0,
        config=config,
        callbacks=[losses],
    )
    before = [p.detach().clone() for p in experiment.policy.parameters()]
    experiment.run()
    assert experiment.total_frames == frames
    assert losses.seen and all(
        {"loss_objective", "loss_critic"} <= set(step) and all(map(math.isfinite, step.values()))
        for step in losses.seen
    )
    after = list(experiment.policy.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
    return experiment


def test_the_tasks_are_the_setups_and_their_envs_check_out():
    assert tuple(DSATask.__members__) == SETUPS
    task = DSATask.B.get_task(ENV)
    assert task.config == {"setup": "B", **ENV}
    assert pickle.loads(pickle.dumps(task)) == task
    env = task.get_env_fun(num_envs=1, continuous_actions=False, seed=0, device="cpu")()
    check_env_specs(env)
    assert task.group_map(env) == {GROUP: ["user_0", "user_1", "user_2"]}
    assert task.max_steps(env) == ENV["horizon"]
    assert task.state_spec(env)["state"].shape == (state_dim(3, 2),)
    assert task.observation_spec(env)[GROUP, "observation"].shape == (3, 2 + 5)
    assert task.action_mask_spec(env) is None
    rollout = env.rollout(ENV["horizon"])
    assert rollout["next", "done"][-1].all() and not rollout["next", "done"][:-1].any()
    assert rollout["next", GROUP, "reward"].shape == (ENV["horizon"], 3, 1)


def test_a_bad_environment_argument_fails_when_the_task_is_made():
    with pytest.raises(ConfigError, match="num_users") as err:
        DSATask.A.get_task({"num_users": 0})
    assert err.value.argument == "num_users"
    with pytest.raises(ValueError, match="no yaml"):
        DSATask.A.get_from_yaml("somewhere.yaml")


def test_mappo_with_the_global_state_trains(tmp_path):
    experiment = run(MappoConfig.get_from_yaml(), MlpConfig.get_from_yaml(), tmp_path)
    # the centralised critic reads the state
    assert experiment.algorithm.state_spec is not None


def test_recurrent_ippo_trains(tmp_path):
    run(IppoConfig.get_from_yaml(), GruConfig.get_from_yaml(), tmp_path)


def test_the_docs_example_runs(tmp_path, monkeypatch, capsys):
    """docs/frameworks.md's example, as written there."""
    example = doc_block("docs/frameworks.md", "dsa_pettingzoo.integrations.benchmarl")
    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    exec(compile(example, "docs/frameworks.md", "exec"), {})
