"""DQN with full parameter sharing [8]: one recurrent Q-network for all users.

Why not RLlib's ``DQN`` class. RLlib 2.60's new-stack DQN does accept stateful
RLModules (``dqn.py`` asks ``module.is_stateful()`` and samples sequences of
``model_config["max_seq_len"]`` with ``burn_in_len`` from an EpisodeReplayBuffer),
but (1) it samples with the per-step ``MultiAgentEnvRunner`` (about 65 env
steps/s on a 2-core CPU, docs/iagc.md: a 1000-episode trial would take
~25 min instead of a few) and (2) it trains on fixed-length chunks with burn-in,
not on whole episodes from zero hidden states as the paper's bootstrapped
sequential updates [23]. So this row runs on the same RLlib new-stack loop as
the other rows (PPO's ``training_step`` only as the sample -> ``Learner.update``
-> weight-sync driver) with a custom Learner that does recurrent Q-learning:

* Q-network: the actors' body (dense ReLU layers, LSTM) with a linear head over
  the K+1 actions (an :class:`~rllib_experiments.iagc.modules.IAGCActor` whose
  "logits" are Q-values). Full parameter sharing: all users' modules are tied to
  one parameter set (:class:`SharedActorsMixin`, no masks).
* Acting (:class:`BoltzmannEnvRunner`, on the batched simulator), as in [8]:
  Boltzmann (softmax) sampling on Q mixed with uniform exploration,
  p(a) = (1 - eps) softmax(Q)(a) + eps / (K + 1), eps linear from 1.0 to 0.05
  over the first half of the training episodes (Q is on the normalised reward
  scale; the temperature is 1). Evaluation samples from softmax(Q) ("stochastic",
  the row's reward) and also takes argmax Q ("greedy"). Greedy acting with one
  shared network is degenerate in setup A: all users see the same first
  observation, so deterministic identical networks pick the same channel.
* Learning: a replay buffer of the last ``replay_episodes`` episodes, each
  stored as N user sequences; every iteration ``updates_per_iteration`` Adam
  steps on ``batch_sequences`` whole user sequences sampled uniformly, run from
  zero hidden states; double-DQN targets y_t = r_t + gamma Q_tgt(y_{t+1},
  argmax_a Q(y_{t+1}, a)), y_T = r_T (the horizon is terminal, as for GAE),
  Huber loss; target network copied every ``target_update`` iterations.
  Rewards are normalised as in the IAGC rows (running std of the discounted
  returns, held by the shared critic module, which is otherwise unused).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List

import numpy as np
import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.torch.torch_learner import TorchLearner

from rllib_experiments.algorithm import build_algo_config
from rllib_experiments.dsa.env_runner import BatchedDSAEnvRunner
from rllib_experiments.iagc.connectors import (
    IAGCEpisodesToBatch,
    discounted_returns,
    stack_episodes,
)
from rllib_experiments.iagc.learner import IAGCTorchLearner
from rllib_experiments.iagc.modules import CRITIC_ID, actor_ids
from rllib_experiments.iagc.stacked import StackedActors
from rllib_experiments.methods.shared_actors import SHARED_KEY, SharedActorsMixin

DRQN_KEY = "drqn"
DEFAULTS = dict(
    replay_episodes=200,
    batch_sequences=32,
    updates_per_iteration=1,
    target_update=10,
    eps_start=1.0,
    eps_end=0.05,
    eps_decay_episodes=500,
    double_q=True,
    huber_delta=1.0,
)


def double_q_targets(
    rewards: torch.Tensor,
    q_online: torch.Tensor,
    q_target: torch.Tensor,
    gamma: float,
    double_q: bool = True,
) -> torch.Tensor:
    """TD targets over whole sequences [M, T]: y_t = r_t + gamma Q_tgt(y_{t+1}, a*), y_T = r_T.

    a* = argmax_a Q_online(y_{t+1}, a) (double DQN) or argmax of Q_tgt itself.
    q_online, q_target: [M, T, A] values of the same sequences (t = 0..T-1).
    """
    if double_q:
        best = q_online.argmax(-1, keepdim=True)
        next_q = q_target.gather(-1, best)[..., 0]
    else:
        next_q = q_target.max(-1).values
    target = rewards.clone()
    target[:, :-1] += gamma * next_q[:, 1:]
    return target


class DRQNEpisodesToBatch(ConnectorV2):
    """Whole episodes -> {"obs" [B*N, T, d], "actions", "rewards" [B*N, T]} (normalised rewards)."""

    def __init__(
        self, input_observation_space=None, input_action_space=None, *, gamma: float, **kwargs
    ):
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.gamma = float(gamma)

    def __call__(self, *, rl_module, batch, episodes, **kwargs):
        critic = rl_module[CRITIC_ID].unwrapped()
        ids = actor_ids(rl_module)
        data = stack_episodes(episodes, ids)
        critic.update_return_stats(discounted_returns(data["rewards"], self.gamma))
        rewards = data["rewards"] / critic.return_std()
        b, n, t, d = data["obs"].shape
        batch[ids[0]] = {
            Columns.OBS: torch.from_numpy(data["obs"].reshape(b * n, t, d)),
            Columns.ACTIONS: torch.from_numpy(data["actions"].reshape(b * n, t)),
            Columns.REWARDS: torch.from_numpy(rewards.reshape(b * n, t).astype(np.float32)),
            Columns.SEQ_LENS: torch.full((b * n,), t, dtype=torch.int32),
        }
        return batch


class DRQNLearner(SharedActorsMixin, IAGCTorchLearner):
    """Recurrent double Q-learning over whole episodes, one Q-network shared by all users."""

    def build(self) -> None:
        super().build()
        opts = {**DEFAULTS, **(self.config.learner_config_dict.get(DRQN_KEY) or {})}
        self._drqn = opts
        pipe = self._learner_connector
        for c in list(pipe.connectors):
            if isinstance(c, IAGCEpisodesToBatch):
                pipe.remove(type(c).__name__)
        pipe.append(DRQNEpisodesToBatch(gamma=self.config.gamma))
        self._q_id = self._actor_ids[0]
        self._target = copy.deepcopy(self.module[self._q_id].unwrapped())
        self._replay: List[Dict[str, torch.Tensor]] = []
        self._iterations = 0
        self._rng = np.random.default_rng(int(self.config.learner_config_dict.get("seed", 0)))

    def _update(self, batch: Dict[str, Any]):
        new = batch[self._q_id]
        self._replay.append(
            {k: new[k].cpu() for k in (Columns.OBS, Columns.ACTIONS, Columns.REWARDS)}
        )
        capacity_seqs = self._drqn["replay_episodes"] * len(self._actor_ids)
        while (
            sum(len(x[Columns.OBS]) for x in self._replay) - len(self._replay[0][Columns.OBS])
            >= capacity_seqs
        ):
            self._replay.pop(0)
        obs = torch.cat([x[Columns.OBS] for x in self._replay])
        act = torch.cat([x[Columns.ACTIONS] for x in self._replay])
        rew = torch.cat([x[Columns.REWARDS] for x in self._replay])
        result = None
        for _ in range(int(self._drqn["updates_per_iteration"])):
            idx = torch.from_numpy(
                self._rng.choice(
                    len(obs), size=min(len(obs), self._drqn["batch_sequences"]), replace=False
                )
            )
            mb = {
                self._q_id: {
                    Columns.OBS: obs[idx],
                    Columns.ACTIONS: act[idx],
                    Columns.REWARDS: rew[idx],
                    Columns.SEQ_LENS: torch.full((len(idx),), obs.shape[1], dtype=torch.int32),
                }
            }
            result = TorchLearner._update(self, mb)
        self._iterations += 1
        if self._iterations % int(self._drqn["target_update"]) == 0:
            self._target.load_state_dict(self.module[self._q_id].unwrapped().state_dict())
        return result

    def compute_losses(self, *, fwd_out, batch):
        mid = self._q_id
        q = fwd_out[mid][Columns.ACTION_DIST_INPUTS]  # [M, T, A]
        b = batch[mid]
        actions, rewards = b[Columns.ACTIONS], b[Columns.REWARDS]
        q_taken = q.gather(-1, actions[..., None])[..., 0]
        with torch.no_grad():
            q_tgt = self._target._forward({Columns.OBS: b[Columns.OBS]})[Columns.ACTION_DIST_INPUTS]
            target = double_q_targets(
                rewards, q.detach(), q_tgt, self.config.gamma, bool(self._drqn["double_q"])
            )
        loss = torch.nn.functional.huber_loss(q_taken, target, delta=self._drqn["huber_delta"])
        self.metrics.log_dict({"td_loss": loss, "q_mean": q_taken.mean()}, key=mid, window=1)
        return {mid: loss}


class BoltzmannEnvRunner(BatchedDSAEnvRunner):
    """The fast batched env runner acting by eps-uniform + softmax(Q) on the shared Q-network."""

    def _play_round(self, mode: str):
        if self._sim is None:
            self._make_sim()
        opts = {**DEFAULTS, **(self.config.learner_config_dict.get(DRQN_KEY) or {})}
        seeds = None
        if not self._sim_seeded:
            seq = np.random.SeedSequence(
                [int(self.config.seed or 0), int(self.worker_index or 0), 7]
            )
            seeds = [int(s) for s in seq.generate_state(self.num_envs)]
            self._sim_seeded = True
            self._drqn_rng = np.random.default_rng([int(self.config.seed or 0), 7])
            self._drqn_gen = torch.Generator().manual_seed(int(self.config.seed or 0) + 7)
            self._drqn_episodes = 0
        frac = min(1.0, self._drqn_episodes / max(1, opts["eps_decay_episodes"]))
        eps = opts["eps_start"] + frac * (opts["eps_end"] - opts["eps_start"])
        if mode == "greedy":
            eps = 0.0
        actors = [self.module[aid].unwrapped() for aid in self._agent_ids]
        sim = self._sim
        obs = sim.reset(seeds=seeds) if seeds is not None else sim.reset()
        B, N, T = sim.num_envs, sim.num_users, sim.horizon
        A = sim.num_channels + 1
        out_obs = np.empty((B, T + 1, N, obs.shape[-1]), np.float32)
        actions = np.empty((B, T, N), np.int64)
        rewards = np.empty((B, T, N), np.float64)
        stacked = StackedActors(actors)
        state = None
        with torch.no_grad():
            for t in range(T):
                out_obs[:, t] = obs
                q, state = stacked.step(torch.from_numpy(obs).transpose(0, 1), state)
                if mode == "greedy":
                    a = q.argmax(-1).T.numpy()  # [B, N]
                else:  # Boltzmann sampling on Q
                    p = torch.softmax(q, -1).reshape(N * B, A)
                    a = torch.multinomial(p, 1, generator=self._drqn_gen).reshape(N, B).T.numpy()
                explore = self._drqn_rng.random((B, N)) < eps
                a = np.where(explore, self._drqn_rng.integers(A, size=(B, N)), a)
                actions[:, t] = a
                obs, reward, _, _, _ = sim.step(a)
                rewards[:, t] = reward
        out_obs[:, T] = obs
        self._drqn_episodes += B
        data = {
            "obs": out_obs,
            "actions": actions,
            "rewards": rewards,
            "logp": np.zeros((B, T, N), np.float32),
        }
        episodes = [self._to_episode(data, b) for b in range(B)]
        self._log_sampled(len(episodes), T)
        return episodes


def build_config(settings, **drqn_options):
    """PPOConfig used as the sampling/update driver of the DRQN row (see module doc)."""
    if settings.schedule != "none":
        raise ValueError("the DQN row is dense: settings.schedule must be 'none'")
    unknown = set(drqn_options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown DRQN option(s) {sorted(unknown)}; allowed: {sorted(DEFAULTS)}")
    opts = dict(DEFAULTS)
    opts["eps_decay_episodes"] = max(1, settings.iterations * settings.episodes_per_iteration // 2)
    opts.update(drqn_options)
    config = build_algo_config(settings)
    config.learners(
        learner_class=DRQNLearner,
        learner_config_dict={
            SHARED_KEY: {"sparsity": 0.0, "seed": settings.seed},
            DRQN_KEY: opts,
            "seed": settings.seed,
        },
    )
    config.env_runners(env_runner_cls=BoltzmannEnvRunner)
    return config
