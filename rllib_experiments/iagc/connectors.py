"""Learner connector of IAGC-PPO: whole episodes -> train batch with GAE.

:class:`IAGCEpisodesToBatch` is the ONLY piece of the learner connector
pipeline (RLlib's default learner pieces are switched off): it turns the
sampled multi-agent episodes into one train batch, vectorised in numpy:

1. Every episode must be complete and every user must have acted at every
   slot (DSA users all act each slot); arrays are stacked to
   [B episodes, N users, T slots].
2. Reward normalisation (III-b, "we have performed reward normalization"):
   the rewards are divided by the running standard deviation of the
   discounted returns G_t = r_t + gamma G_{t+1} of all user sequences seen so
   far (this batch included; with data-parallel learners, every replica's
   share of it). The statistics live in the shared critic's buffers, so they
   are checkpointed with it. Off with ``normalize_rewards=False``.
3. The shared critic (old parameters, no gradient) gives V for every user and
   slot ([B, N, T], mode ``paper`` or ``centralized``), from zero hidden
   states at the episode start.
4. GAE (eq. 8, Schulman et al. [25]) per user: delta_t = r_t + gamma V_{t+1}
   - V_t, A_t = sum_k (gamma lambda)^k delta_{t+k}. The end of an episode
   (slot T) is terminal: the problem is a finite-horizon sum, V_{T+1} = 0.
   The critic's target is the lambda-return R_t = A_t + V_t (the reward-to-go
   of eq. 9 when lambda = 1).
5. Optionally each user's advantages are standardised over its own batch
   (mean 0, std 1), as RLlib's PPO does.

Output batch (torch tensors, leading dim B = episodes):
``batch[user_n]`` = {OBS [B,T,d], ACTIONS [B,T], ACTION_LOGP [B,T],
ADVANTAGES [B,T], SEQ_LENS [B]}; ``batch[CRITIC_ID]`` = {OBS [B,N,T,d],
VALUE_TARGETS [B,N,T]}. Actor and critic inputs both start from zero hidden
states at slot 1 (bootstrapped sequential updates over whole episodes).
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import torch
import torch.distributed as dist
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing

from rllib_experiments.iagc.modules import CRITIC_ID, STATES, actor_ids, return_moments


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """G_t = r_t + gamma G_{t+1} along the last axis, G after the last slot = 0."""
    returns = np.empty_like(rewards, dtype=np.float64)
    running = np.zeros(rewards.shape[:-1], np.float64)
    for t in range(rewards.shape[-1] - 1, -1, -1):
        running = rewards[..., t] + gamma * running
        returns[..., t] = running
    return returns


def gae(rewards: np.ndarray, values: np.ndarray, gamma: float, lambda_: float) -> np.ndarray:
    """GAE advantages along the last axis (episode ends terminal: V after it is 0)."""
    advantages = np.empty_like(values, dtype=np.float64)
    running = np.zeros(values.shape[:-1], np.float64)
    next_value = np.zeros(values.shape[:-1], np.float64)
    for t in range(values.shape[-1] - 1, -1, -1):
        delta = rewards[..., t] + gamma * next_value - values[..., t]
        running = delta + gamma * lambda_ * running
        advantages[..., t] = running
        next_value = values[..., t]
    return advantages


def stack_episodes(
    episodes, agent_ids: List[str], with_states: bool = False
) -> Dict[str, np.ndarray]:
    """Stack complete multi-agent episodes into arrays [B, N, T(, d)].

    ``with_states``: also stack the global states the env wrapper put in the first
    agent's infos (key ``STATES``) into ``states`` [B, T, state_dim].
    Raises ValueError if an episode is not complete or a user missed a slot.
    """
    obs, actions, rewards, logp, states = [], [], [], [], []
    horizon = None
    for e in episodes:
        if not e.is_done:
            raise ValueError(
                "IAGC learns from whole episodes only: got an unfinished episode chunk. "
                "Use env_runners(batch_mode='complete_episodes')."
            )
        per_user = []
        for aid in agent_ids:
            sa = e.agent_episodes.get(aid)
            if sa is None:
                raise ValueError(f"episode {e.id_} has no data for user {aid!r}")
            n = len(sa)
            if horizon is None:
                horizon = n
            if n != horizon:
                raise ValueError(
                    f"every user must act at every slot of every episode: user {aid!r} "
                    f"has {n} steps, expected {horizon}"
                )
            per_user.append(sa)
        obs.append(
            [np.asarray(sa.get_observations(slice(0, horizon)), np.float32) for sa in per_user]
        )
        actions.append([np.asarray(sa.get_actions(), np.int64) for sa in per_user])
        rewards.append([np.asarray(sa.get_rewards(), np.float64) for sa in per_user])
        logp.append(
            [
                np.asarray(sa.get_extra_model_outputs(Columns.ACTION_LOGP), np.float32)
                for sa in per_user
            ]
        )
        if with_states:
            infos = per_user[0].get_infos(slice(0, horizon))
            if any(not isinstance(i, dict) or STATES not in i for i in infos):
                raise ValueError(
                    f"critic_mode 'state' needs the global state in every agent's infos under "
                    f"{STATES!r}: wrap the env with rllib_experiments.iagc.envs.ParallelEnvWithState"
                )
            states.append([np.asarray(i[STATES], np.float32) for i in infos])
    out = {
        "obs": np.asarray(obs, np.float32),  # [B, N, T, d]
        "actions": np.asarray(actions, np.int64),  # [B, N, T]
        "rewards": np.asarray(rewards, np.float64),  # [B, N, T]
        "logp": np.asarray(logp, np.float32),  # [B, N, T]
    }
    if with_states:
        out["states"] = np.asarray(states, np.float32)  # [B, T, state_dim]
    return out


def across_learners(value) -> list:
    """``value`` of every data-parallel learner replica, in rank order (``[value]`` alone).

    With ``num_learners >= 2`` each replica sees its share of the episodes; merging every
    replica's return statistics in the same order keeps the reward normalisation (and so
    the critic's targets) identical on all replicas.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return [value]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


class IAGCEpisodesToBatch(ConnectorV2):
    """Whole episodes -> IAGC train batch (critic values, GAE, reward normalisation).

    Args:
        gamma: discount factor (0.99 in the paper).
        lambda_: GAE lambda.
        normalize_rewards: divide rewards by the running std of discounted returns.
        standardize_advantages: standardise each user's advantages per batch.
    """

    def __init__(
        self,
        input_observation_space=None,
        input_action_space=None,
        *,
        gamma: float,
        lambda_: float,
        normalize_rewards: bool = True,
        standardize_advantages: bool = True,
        **kwargs,
    ):
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.gamma = float(gamma)
        self.lambda_ = float(lambda_)
        self.normalize_rewards = bool(normalize_rewards)
        self.standardize_advantages = bool(standardize_advantages)

    def __call__(
        self,
        *,
        rl_module,
        batch: Dict[str, Any],
        episodes,
        explore=None,
        shared_data=None,
        metrics=None,
        **kwargs,
    ):
        if CRITIC_ID not in rl_module:
            raise ValueError(f"IAGC needs the shared critic module {CRITIC_ID!r} in the learner")
        critic = rl_module[CRITIC_ID].unwrapped()
        agent_ids = actor_ids(rl_module)
        with_states = critic.critic_mode == "state"
        data = stack_episodes(episodes, agent_ids, with_states=with_states)
        rewards = data["rewards"]

        # Reward normalisation by the running std of discounted returns.
        if self.normalize_rewards:
            for moments in across_learners(return_moments(discounted_returns(rewards, self.gamma))):
                critic.merge_return_moments(*moments)
            rewards = rewards / critic.return_std()

        # Critic values from zero hidden states (old parameters).
        device = next(critic.parameters()).device
        obs_t = torch.from_numpy(data["obs"]).to(device)
        states_t = torch.from_numpy(data["states"]).to(device) if with_states else None
        with torch.no_grad():
            values = critic.compute_values(obs_t, states_t).double().cpu().numpy()  # [B, N, T]

        advantages = gae(rewards, values, self.gamma, self.lambda_)
        value_targets = advantages + values  # lambda-returns (eq. 9 targets)
        if self.standardize_advantages:
            mean = advantages.mean(axis=(0, 2), keepdims=True)
            std = np.maximum(advantages.std(axis=(0, 2), keepdims=True), 1e-4)
            advantages = (advantages - mean) / std

        num_episodes, _, horizon = values.shape
        seq_lens = torch.full((num_episodes,), horizon, dtype=torch.int32, device=device)

        def tensor(x, dtype=torch.float32):
            return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=device)

        for n, aid in enumerate(agent_ids):
            batch[aid] = {
                Columns.OBS: obs_t[:, n],
                Columns.ACTIONS: tensor(data["actions"][:, n], torch.int64),
                Columns.ACTION_LOGP: tensor(data["logp"][:, n]),
                Postprocessing.ADVANTAGES: tensor(advantages[:, n]),
                Columns.SEQ_LENS: seq_lens,
            }
            if shared_data is not None:
                shared_data[f"_zero_padded_for_mid={aid}"] = True
        batch[CRITIC_ID] = {
            Columns.OBS: obs_t,
            Postprocessing.VALUE_TARGETS: tensor(value_targets),
            Columns.SEQ_LENS: seq_lens,
        }
        if with_states:
            batch[CRITIC_ID][STATES] = states_t
        if shared_data is not None:
            shared_data[f"_zero_padded_for_mid={CRITIC_ID}"] = True
        return batch
