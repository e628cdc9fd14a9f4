"""A fast multi-agent env runner for the DSA environment (RLlib new API stack).

RLlib's ``MultiAgentEnvRunner`` steps every sub-environment through per-agent
dicts, connector pipelines and episode bookkeeping at every slot, which costs
milliseconds per env step. :class:`BatchedDSAEnvRunner` keeps everything of
the standard runner (the RLModule, weight sync, metrics, checkpoints, the
ParallelPettingZooEnv used for spaces) but replaces the sampling loop: it
plays ``num_envs_per_env_runner`` whole episodes in lockstep on the batched
simulator :class:`dsa_pettingzoo.BatchedDSA` (the same dynamics as the
ParallelEnv, by the env package's contract), each actor acting on its B
episodes in one forward pass per slot (:func:`rllib_experiments.dsa.rollout.rollout`),
and only then builds the :class:`MultiAgentEpisode` objects the learner
expects (observations, actions, rewards, ``action_logp``).

Differences from the standard runner, by design: it always samples whole
episodes (the IAGC learner needs them); ``on_episode_*`` callbacks are not
called (``on_sample_end`` is); episodes carry ``action_logp`` but no
``action_dist_inputs`` or recurrent states (the learner re-runs the actors from
zero states). Episode seeds come from ``np.random.SeedSequence([seed,
worker_index, in_evaluation])``, so env runners never share episodes.
"""

from __future__ import annotations

import math
from typing import List

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.env.utils.infinite_lookback_buffer import InfiniteLookbackBuffer
from ray.rllib.utils.metrics import (
    NUM_AGENT_STEPS_SAMPLED,
    NUM_AGENT_STEPS_SAMPLED_LIFETIME,
    NUM_ENV_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_EPISODES,
    NUM_EPISODES_LIFETIME,
    NUM_MODULE_STEPS_SAMPLED,
    NUM_MODULE_STEPS_SAMPLED_LIFETIME,
)

from dsa_pettingzoo import BatchedDSA
from rllib_experiments.dsa.rollout import rollout
from rllib_experiments.iagc.modules import CRITIC_ID, STATES, actor_ids


class BatchedDSAEnvRunner(MultiAgentEnvRunner):
    """MultiAgentEnvRunner whose sampling runs on ``BatchedDSA`` (see module doc)."""

    def __init__(self, config, **kwargs):
        super().__init__(config=config, **kwargs)
        self._sim = None
        self._sim_seeded = False
        #: Seeds of the episodes of the last round when they were seeded (the first
        #: round), else None (later rounds continue each episode slot's RNG).
        self.last_round_seeds = None

    def _make_sim(self):
        self._sim = BatchedDSA(num_envs=self.num_envs, **dict(self.config.env_config))
        spec = self.config.rl_module_spec
        self._agent_ids = actor_ids(spec)
        critic = spec.rl_module_specs.get(CRITIC_ID)
        # The "state" critic reads the global state from the episodes' infos.
        self._with_states = critic is not None and critic.model_config.get("critic_mode") == "state"

    def get_random_state(self) -> dict:
        """Every random stream this runner samples with: its simulator's episode generators
        and torch's global generator of its process (the action draws)."""
        return {
            "sim": None if self._sim is None else self._sim.rng_state(),
            "seeded": self._sim_seeded,
            "torch": torch.get_rng_state(),
        }

    def set_random_state(self, state: dict) -> None:
        """Continue from :meth:`get_random_state`: the next rounds sample what they would have.
        A runner that had not sampled (``sim`` None: e.g. the local runner beside remote
        ones, which has no environments) gets no simulator either."""
        if state["sim"] is not None:
            if self._sim is None:
                self._make_sim()
            self._sim.set_rng_state(state["sim"])
        self._sim_seeded = bool(state["seeded"])
        torch.set_rng_state(state["torch"])

    def _sample(
        self,
        *,
        num_timesteps=None,
        num_episodes=None,
        explore=True,
        random_actions=False,
        force_reset=False,
    ) -> List[MultiAgentEpisode]:
        if self._sim is None:
            self._make_sim()
        per_round = self.num_envs
        if num_episodes is not None:
            rounds = math.ceil(num_episodes / per_round)
        else:
            rounds = math.ceil((num_timesteps or 1) / (per_round * self._sim.horizon))
        mode = "random" if random_actions else ("sample" if explore else "greedy")
        episodes = []
        for _ in range(max(1, rounds)):
            episodes.extend(self._play_round(mode))
        self._done_episodes_for_metrics.extend(episodes)
        return episodes

    def _play_round(self, mode: str) -> List[MultiAgentEpisode]:
        seeds = None
        if not self._sim_seeded:
            seq = np.random.SeedSequence(
                [
                    int(self.config.seed or 0),
                    int(self.worker_index or 0),
                    int(bool(self.config.in_evaluation)),
                ]
            )
            seeds = [int(s) for s in seq.generate_state(self.num_envs)]
            self._sim_seeded = True
        actors = [self.module[aid].unwrapped() for aid in self._agent_ids]
        for actor in actors:
            actor.eval()
        self.last_round_seeds = seeds
        data = rollout(actors, self._sim, mode=mode, seeds=seeds, with_states=self._with_states)
        episodes = [self._to_episode(data, b) for b in range(self.num_envs)]
        self._log_sampled(len(episodes), self._sim.horizon)
        return episodes

    def _to_episode(self, data, b: int) -> MultiAgentEpisode:
        """Episode ``b`` of a :func:`rollout` as the (numpy'd) ``MultiAgentEpisode`` the learner reads.

        Built per agent from the arrays (every user acts at every slot, so each agent's
        episode is its column of the data and its agent step is the env step), instead of
        through RLlib's constructor, which walks T per-slot dicts of N agents (57 ms per
        episode at N = 100). The result is the constructor's, field by field
        (tests/test_env_runner.py compares :meth:`MultiAgentEpisode.get_state` of both).
        """
        ids = self._agent_ids
        obs, act, rew, logp = (
            data["obs"][b],
            data["actions"][b],
            data["rewards"][b],
            data["logp"][b],
        )
        T = act.shape[0]
        if self._with_states:
            # One array per slot that every agent's info refers to: a view per agent would be
            # pickled once per agent when a remote runner ships the episode, N copies of the
            # O(N K) state per slot (430 MB per episode at N = 100, K = 50).
            slot_states = _slot_states(data, b)
            make_infos = lambda: [{STATES: s} for s in slot_states]
        else:
            make_infos = lambda: [{} for _ in range(T + 1)]
        episode = MultiAgentEpisode(
            terminateds=True,
            len_lookback_buffer=0,
            agent_to_module_mapping_fn=self.config.policy_mapping_fn,
        )
        episode.env_t = T
        for n, aid in enumerate(ids):
            episode.agent_episodes[aid] = SingleAgentEpisode(
                agent_id=aid,
                module_id=self.config.policy_mapping_fn(aid, episode),
                multi_agent_episode_id=episode.id_,
                observations=np.ascontiguousarray(obs[:, n]),
                infos=make_infos(),
                actions=np.ascontiguousarray(act[:, n]),
                rewards=rew[:, n].astype(np.float64),
                extra_model_outputs={Columns.ACTION_LOGP: np.ascontiguousarray(logp[:, n])},
                terminated=True,
                t_started=0,
                len_lookback_buffer=0,
            ).to_numpy()
            episode.env_t_to_agent_t[aid] = InfiniteLookbackBuffer(list(range(T + 1)))
            episode.agent_t_started[aid] = 0
        episode.validate()
        return episode

    def _log_sampled(self, num_episodes: int, horizon: int) -> None:
        steps = num_episodes * horizon
        self.num_env_steps_sampled_lifetime += steps
        m = self.metrics
        m.log_value(NUM_ENV_STEPS_SAMPLED, steps, reduce="sum")
        m.log_value(
            NUM_ENV_STEPS_SAMPLED_LIFETIME, steps, reduce="lifetime_sum", with_throughput=True
        )
        m.log_value(NUM_EPISODES, num_episodes, reduce="sum")
        m.log_value(NUM_EPISODES_LIFETIME, num_episodes, reduce="lifetime_sum")
        for aid in self._agent_ids:
            module_id = self.config.policy_mapping_fn(aid, None)
            m.log_value((NUM_AGENT_STEPS_SAMPLED, aid), steps, reduce="sum")
            m.log_value((NUM_AGENT_STEPS_SAMPLED_LIFETIME, aid), steps, reduce="lifetime_sum")
            m.log_value((NUM_MODULE_STEPS_SAMPLED, module_id), steps, reduce="sum")
            m.log_value(
                (NUM_MODULE_STEPS_SAMPLED_LIFETIME, module_id), steps, reduce="lifetime_sum"
            )


def _slot_states(data, b: int) -> list:
    """Episode ``b``'s global state at each of its T + 1 observations: one array per slot (the
    state after the last slot is the last state again)."""
    states = list(data["states"][b])
    states.append(states[-1])
    return states


def constructor_episode(
    data, b: int, agent_ids, mapping_fn, with_states: bool = False
) -> MultiAgentEpisode:
    """Episode ``b`` of a :func:`rollout` built by RLlib's public ``MultiAgentEpisode``
    constructor from per-slot agent dicts, then ``to_numpy()``.

    What :meth:`BatchedDSAEnvRunner._to_episode` built before it went per agent; kept as the
    reference that method is tested against (tests/test_env_runner.py) and timed against
    (docs/results/raw/benchmark_scale/episode_probe.py).
    """
    obs, act, rew, logp = data["obs"][b], data["actions"][b], data["rewards"][b], data["logp"][b]
    T = act.shape[0]
    done = {aid: True for aid in agent_ids}
    done["__all__"] = True
    infos = None
    if with_states:
        infos = [{aid: {STATES: s} for aid in agent_ids} for s in _slot_states(data, b)]
    return MultiAgentEpisode(
        observations=[dict(zip(agent_ids, obs[t])) for t in range(T + 1)],
        infos=infos,
        actions=[dict(zip(agent_ids, act[t].tolist())) for t in range(T)],
        rewards=[dict(zip(agent_ids, rew[t].tolist())) for t in range(T)],
        extra_model_outputs=[
            {aid: {Columns.ACTION_LOGP: logp[t, n]} for n, aid in enumerate(agent_ids)}
            for t in range(T)
        ],
        terminateds=done,
        len_lookback_buffer=0,
        agent_to_module_mapping_fn=mapping_fn,
    ).to_numpy()
