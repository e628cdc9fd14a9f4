"""Stable-Baselines3 through SuperSuit (dsa_pettingzoo.integrations.sb3, the [sb3] extra):
PPO with parameter sharing trains on a small DSA system, repeatably, and its policy plays
the evaluation protocol of the baselines."""

from __future__ import annotations

import math

import numpy as np

import pytest
from conftest import doc_block

pytest.importorskip("stable_baselines3", reason="the [sb3] extra")
pytest.importorskip("supersuit", reason="the [sb3] extra")

import torch  # noqa: E402  (after the skips: the [sb3] extra brings torch)
from stable_baselines3 import PPO  # noqa: E402

from dsa_pettingzoo.evaluation import evaluate_policy  # noqa: E402
from dsa_pettingzoo.integrations.sb3 import SB3Policy, make_vec_env  # noqa: E402

pytestmark = pytest.mark.sb3

ENV = dict(setup="A", num_users=3, num_channels=2, horizon=20)


def train(seed: int = 0, steps: int = 480):
    """PPO on 2 copies x 3 users = 6 sub-envs; ``steps`` environment steps (user-slots)."""
    torch.set_num_threads(1)
    venv = make_vec_env(2, **ENV)
    model = PPO("MlpPolicy", venv, n_steps=20, batch_size=40, n_epochs=2, seed=seed)
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=steps)
    return model, before


def test_the_vector_env_has_one_sub_env_per_user_and_copy():
    venv = make_vec_env(2, seed=3, **ENV)
    assert venv.num_envs == 2 * ENV["num_users"]
    assert venv.observation_space.shape == (ENV["num_channels"] + 5,)
    assert venv.action_space.n == ENV["num_channels"] + 1
    obs = venv.reset()
    assert obs.shape == (6, ENV["num_channels"] + 5)
    dones = []
    for _ in range(ENV["horizon"]):
        obs, rewards, done, infos = venv.step(np.ones(6, dtype=np.int64))
        dones.append(done)
    # the episode ends for every user of both copies in the last slot, and is monitored
    assert not np.any(dones[:-1]) and np.all(dones[-1])
    assert all("episode" in info for info in infos)


def test_ppo_learns_and_repeats_with_its_seed():
    model, before = train()
    losses = {k: v for k, v in model.logger.name_to_value.items() if k.endswith("loss")}
    assert {"train/loss", "train/value_loss", "train/policy_gradient_loss"} <= set(losses)
    assert all(math.isfinite(float(v)) for v in losses.values())
    after = list(model.policy.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
    # the same seed gives the same run: the env copies are seeded through PPO(seed=...)
    again, _ = train()
    assert all(torch.equal(a, b) for a, b in zip(after, again.policy.parameters()))

    torch.manual_seed(0)  # SB3Policy samples with torch's generator
    stats = evaluate_policy(SB3Policy(model), episodes=4, seed=0, **ENV)
    assert stats.throughput.shape == (4, ENV["num_users"])
    assert np.all(np.isfinite(stats.reward)) and stats.reward.mean() > 0
    # greedy, the users of one shared model act alike in every slot: never an ACK
    greedy = evaluate_policy(SB3Policy(model, deterministic=True), episodes=4, seed=0, **ENV)
    assert greedy.successes.sum() == 0


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="num_vec_envs"):
        make_vec_env(0, **ENV)
    with pytest.raises(ValueError, match="deterministic"):
        SB3Policy(None, deterministic="yes")


def test_the_docs_example_runs(tmp_path, monkeypatch, capsys):
    """docs/frameworks.md's example, as written there."""
    example = doc_block("docs/frameworks.md", "dsa_pettingzoo.integrations.sb3")
    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    exec(compile(example, "docs/frameworks.md", "exec"), {})
