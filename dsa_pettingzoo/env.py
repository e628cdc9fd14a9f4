"""The DSA PettingZoo ParallelEnv (a dict wrapper around ``BatchedDSA(num_envs=1)``)."""

from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Mapping

import numpy as np
from pettingzoo import ParallelEnv

from .batched import BatchedDSA
from .config import make_config
from .metrics import PER_USER_KEYS, SYSTEM_KEYS
from .naming import agent_ids
from .render import HumanRenderer, render_ansi, render_rgb


class InvalidActionError(ValueError):
    """An action dict that the environment refuses (nothing has changed when it is raised)."""


class DSAParallelEnv(ParallelEnv):
    """Distributed Dynamic Spectrum Access: N secondary users share K orthogonal channels.

    ## Description
    The system model of Section II of "harmonic annealing pruning for DSA": in every slot each
    user (agent) either stays idle or transmits on one channel, without knowing what the others
    do. A user alone on a channel that no primary user (PU) occupies gets an ACK and the rate
    log2(1 + beta[n, k]); two or more users on a channel collide and get nothing (NACK); a user
    on a PU-occupied channel gets nothing and observes -2. The SNR matrix beta is drawn at every
    reset and stays fixed for the episode; users never observe it directly.

    | Import             | `from dsa_pettingzoo import dsa_v0` (or `dsa_pettingzoo.parallel_env`) |
    |--------------------|-------------------------------------------------------------------------|
    | Actions            | Discrete                                                                |
    | Parallel API       | Yes (AEC through `dsa_pettingzoo.env()`)                                |
    | Agents             | `agents = ["user_0", ..., "user_{N-1}"]`                                |
    | Action shape       | (1,) integer, `Discrete(K + 1)`                                         |
    | Observation shape  | (K + 5,) or (K + 6,) float32, values in [0, 1]                          |
    | State shape        | (N(K+1) + 4N + N + 2K + NK + 1,) float32, values in [0, 1]              |

    ## Agents
    `user_0` ... `user_{N-1}`, all present for the whole episode.

    ## Action Space
    `Discrete(K + 1)`: 0 = stay idle, k = transmit on channel k (k = 1..K). Python ints and
    numpy integer scalars (or 0-d / size-1 integer arrays) are accepted.

    ## Observation Space
    The paper's y_t^n = [a_{t-1}^n, o_{t-1}^n] (eq. 2), one-hot encoded, `Box(0, 1, float32)`:

    | Index           | Meaning                                                        |
    |-----------------|----------------------------------------------------------------|
    | 0 .. K          | one-hot last action a_{t-1} (index 0 = idle)                    |
    | K+1 .. K+4      | one-hot last feedback o_{t-1} in (-2 PU, -1 NACK, 0 idle, 1 ACK) |
    | K+5 (optional)  | last own rate / log2(1 + beta_max), with `observation="last_action_feedback_rate"` |

    ## Rewards
    With rate_t^n = log2(1 + beta_{a_t^n}^n) 1{o_t^n = 1} and S_t^n = sum_{tau<=t} rate_tau^n:
    * `"sum_rate"` (default, the paper's): r_t^n = sum_m rate_t^m, identical for all users.
    * `"individual"`: r_t^n = rate_t^n.
    * `"proportional_fair"`: r_t^n = sum_m [ln(1 + S_t^m) - ln(1 + S_{t-1}^m)], identical for all
      users; the return is sum_m ln(1 + S_T^m), so starving users weigh most.
    * `"difference"`: r_t^n = G_t - G_t^{-n}, the sum rate minus the sum rate of the same slot
      with user n idle: rate_t^n if n is alone, -rate of the other user if n collides with
      exactly one, else 0 (a per-user training signal for the sum rate).

    ## State
    `state()` (float32, in `state_space`) for centralised critics: all users' one-hot last
    actions and feedback, normalised last rates, PU occupancy of the last slot and of the next
    slot (privileged), the normalised rate table log2(1 + beta) / log2(1 + beta_max), and t / T.

    ## Starting State
    beta[n, k] ~ U[snr_range] i.i.d. (or the fixed `snr` matrix); PU occupancy drawn for the
    whole episode (stationary start); the dummy observation a_0 = idle, o_0 = 0, rate 0.

    ## Episode End
    After `horizon` slots every agent is terminated (`terminations` True: the horizon T is part
    of the finite-horizon problem); `agents` becomes empty; the final infos hold the episode
    metrics. There is no other end condition.

    ## Arguments
    `dsa_pettingzoo.parallel_env(setup=None, num_users=10, num_channels=5, horizon=100,
    snr_range=(30, 40), snr=None, pu_prob=None, pu_model="iid", pu_mean_busy=None,
    reward="sum_rate", observation="last_action_feedback", render_mode=None)`; `max_cycles` is an
    alias of `horizon`. `setup="A"` / `"B"` are the paper's setups, `"C"` adds bursty
    heterogeneous Markov primary users; see docs/environment.md.

    ## Version History
    * v0: first release.
    """

    metadata = {
        "name": "dsa_v0",
        "render_modes": ["ansi", "rgb_array", "human"],
        "render_fps": 4,
        "is_parallelizable": True,
    }

    def __init__(self, **kwargs):
        self.config = make_config(**kwargs)
        c = self.config
        self.render_mode = c.render_mode
        self.simulator = BatchedDSA(1, config=c)
        self.possible_agents = agent_ids(c.num_users)
        self.agent_name_mapping = {a: n for n, a in enumerate(self.possible_agents)}
        self.agents: list[str] = []
        sim = self.simulator  # one space object per agent (each samples with its own generator)
        self.observation_spaces = {
            a: copy.deepcopy(sim.single_observation_space) for a in self.possible_agents
        }
        self.action_spaces = {
            a: copy.deepcopy(sim.single_action_space) for a in self.possible_agents
        }
        self.state_space = sim.state_space
        self._human = HumanRenderer(self.metadata["render_fps"])
        self._started = False

    # ------------------------------------------------------------------ spaces
    def observation_space(self, agent):
        """The (same, cached) observation space of ``agent``."""
        return self.observation_spaces[self._check_agent(agent)]

    def action_space(self, agent):
        """The (same, cached) action space of ``agent``: Discrete(K + 1)."""
        return self.action_spaces[self._check_agent(agent)]

    def _check_agent(self, agent):
        if agent not in self.agent_name_mapping:
            raise KeyError(
                f"unknown agent {agent!r}; agents are {self.possible_agents[0]} .. "
                f"{self.possible_agents[-1]}"
            )
        return agent

    @property
    def np_random(self) -> np.random.Generator:
        """The episode's random generator (set by ``reset(seed=...)``)."""
        if self.simulator._rngs is None:
            raise RuntimeError("call reset() first")
        return self.simulator._rngs[0]

    # ------------------------------------------------------------------ reset / step
    def reset(self, seed: int | None = None, options: dict | None = None):
        """Start an episode. ``seed`` seeds it (and later unseeded resets); ``options`` is unused."""
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
                raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
            obs = self.simulator.reset(seeds=[seed])
        else:
            obs = self.simulator.reset()
        self._started = True
        self.agents = self.possible_agents[:]
        observations = {a: obs[0, n] for n, a in enumerate(self.possible_agents)}
        infos = {a: {} for a in self.agents}
        if self.render_mode == "human":
            self.render()
        return observations, infos

    def _action_array(self, actions) -> np.ndarray:
        """Validate an action dict and return int [1, N]; raises before any state change."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if not self.agents:
            raise RuntimeError("the episode is over (all agents terminated); call reset()")
        if not isinstance(actions, Mapping):
            raise InvalidActionError(
                f"actions must be a dict {{agent: action}}, got {type(actions).__name__}"
            )
        unknown = [k for k in actions if k not in self.agent_name_mapping]
        if unknown:
            raise InvalidActionError(
                f"unknown agent key(s) {unknown}; agents are {self.agents[0]} .. {self.agents[-1]}"
            )
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise InvalidActionError(
                f"missing action(s) for {missing}: every live agent acts each slot (0 = idle)"
            )
        out = np.zeros((1, len(self.possible_agents)), dtype=np.intp)
        for agent, act in actions.items():
            out[0, self.agent_name_mapping[agent]] = self.check_action(agent, act)
        return out

    def check_action(self, agent: str, action) -> int:
        """``action`` of ``agent`` as an int in 0..K; InvalidActionError naming the agent otherwise."""
        K = self.config.num_channels
        if isinstance(action, np.ndarray) and action.size == 1 and action.dtype.kind in "iu":
            action = action.reshape(()).item()
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, numbers.Integral):
            raise InvalidActionError(
                f"action of {agent} must be an integer in 0..{K} "
                f"(0 idle, k channel k), got {action!r}"
            )
        if not 0 <= action <= K:
            raise InvalidActionError(
                f"action of {agent} must lie in 0..{K} (0 idle, k channel k), got {action}"
            )
        return int(action)

    def step(self, actions):
        """Play one slot; returns (observations, rewards, terminations, truncations, infos)."""
        a = self._action_array(actions)
        obs, rew, term, trunc, info = self.simulator.step(a)
        done = bool(term[0, 0])
        agents = self.agents
        observations = {ag: obs[0, n] for n, ag in enumerate(agents)}
        rewards = {ag: float(rew[0, n]) for n, ag in enumerate(agents)}
        terminations = {ag: bool(term[0, n]) for n, ag in enumerate(agents)}
        truncations = {ag: bool(trunc[0, n]) for n, ag in enumerate(agents)}
        fb, rates = info["feedback"][0], info["rates"][0]
        infos = {
            ag: {"feedback": int(fb[n]), "rate": float(rates[n])} for n, ag in enumerate(agents)
        }
        if done:
            ep = info["episode"]
            system = {k: float(ep[k][0]) for k in SYSTEM_KEYS}
            for n, ag in enumerate(agents):
                per_user = {
                    k: (float(ep[k][0, n]) if k == "throughput" else int(ep[k][0, n]))
                    for k in PER_USER_KEYS
                }
                infos[ag].update(per_user)
                infos[ag].update(system)
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    # ------------------------------------------------------------------ state / render
    def state(self) -> np.ndarray:
        """Global state float32 [state_dim] in ``state_space`` (see the class docstring)."""
        if not self._started:
            raise RuntimeError("call reset() before state()")
        return self.simulator.state()[0]

    def render(self):
        """Render per ``render_mode``: str ("ansi"), uint8 [H, W, 3] ("rgb_array"), None ("human")."""
        if self.render_mode is None:
            warnings.warn(
                "render() called without a render_mode; pass render_mode=... to the "
                "constructor (one of 'ansi', 'rgb_array', 'human')",
                stacklevel=2,
            )
            return None
        if not self._started:
            raise RuntimeError("call reset() before render()")
        c = self.config
        h = self.simulator.history
        acts, fb, busy = h["actions"][0], h["feedback"][0], h["pu_busy"][0]
        busy = busy if c.has_pu else None
        if self.render_mode == "ansi":
            return render_ansi(acts, fb, busy, c.num_channels, c.horizon)
        frame = render_rgb(acts, fb, busy, c.num_users, c.num_channels, c.horizon)
        if self.render_mode == "rgb_array":
            return frame
        self._human.show(frame)
        return None

    def close(self):
        """Close the human-mode window, if any."""
        self._human.close()


def parallel_env(**kwargs) -> DSAParallelEnv:
    """The DSA ParallelEnv; keyword arguments as in :func:`dsa_pettingzoo.config.make_config`."""
    return DSAParallelEnv(**kwargs)
