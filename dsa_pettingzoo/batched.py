"""BatchedDSA: B independent DSA episodes stepped at once with numpy (the fast core).

The PettingZoo :class:`~dsa_pettingzoo.env.DSAParallelEnv` is a dict wrapper around a
``BatchedDSA(num_envs=1)``, so both give the same trajectories for the same seeds by
construction (and ``tests/test_batched.py`` checks it).

Randomness: every episode b owns a ``np.random.Generator``. ``reset(seeds=[s_0, ...])`` builds
episode b's generator as ``np.random.default_rng(s_b)``, exactly as ``parallel_env().reset(seed=s_b)``
does; ``reset(seed=s)`` means ``seeds=[s, s+1, ..., s+B-1]``; ``reset()`` continues each
episode's own generator (fresh OS entropy the very first time). All randomness of an episode
(the SNR matrix and the T x K uniforms behind the PU occupancy) is drawn at reset by
:func:`dsa_pettingzoo.physics.draw_episode`, so ``step`` is fully vectorised.
"""

from __future__ import annotations

import numbers
import os

import numpy as np
from gymnasium import spaces

from . import physics
from .config import DSAConfig, make_config
from .metrics import episode_summary
from .rewards import REWARDS, Slot


def _check_seed(name: str, s) -> int:
    if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {s!r}")
    return int(s)


class BatchedDSA:
    """B synchronous episodes of the DSA system (all in lockstep, same config).

    Args:
        num_envs: B, the number of episodes stepped together.
        **env_kwargs: the same keyword arguments (and presets) as ``dsa_pettingzoo.parallel_env``.

    Attributes:
        config: the validated :class:`~dsa_pettingzoo.config.DSAConfig`.
        t: slots already played in the current episodes.
        beta: float64 [B, N, K] linear SNR of the current episodes (privileged).
        pu_busy_next: bool [B, K] PU occupancy of the slot the next ``step`` resolves
            (privileged; all False without primary users or once the episode is over).
        pu_occupancy: bool [B, T, K] PU occupancy of every slot of the episodes (privileged).
        obs_dim / state_dim: lengths of one user's observation and of the global state.
        single_observation_space: ``Box(0, 1, (obs_dim,), float32)``, one user's observation.
        single_action_space: ``Discrete(K + 1)``, one user's action.
        observation_space / action_space: the batched spaces, ``Box`` [B, N, obs_dim] and
            ``MultiDiscrete`` [B, N] of K + 1 actions.
        state_space: ``Box(0, 1, (state_dim,), float32)``, one episode's global state.

    Episode end: all B episodes end together after ``horizon`` slots, and ``step`` then reports
    ``terminations`` True for every user (``truncations`` stay False). The horizon T is part of
    the problem being solved, not a time limit cut into a longer one: the objective is the
    T-slot sum of rates, the global state carries t / T, and nothing of the episode is left to
    bootstrap from. This is the same convention as the ParallelEnv's ``terminations``.
    """

    def __init__(self, num_envs: int, **env_kwargs):
        if isinstance(num_envs, bool) or not isinstance(num_envs, numbers.Integral) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        self.num_envs = int(num_envs)
        cfg = env_kwargs.pop("config", None)
        if cfg is not None:
            if env_kwargs:
                raise ValueError("give either config=DSAConfig or keyword arguments, not both")
            if not isinstance(cfg, DSAConfig):
                raise ValueError(f"config must be a DSAConfig, got {type(cfg).__name__}")
            self.config = cfg
        else:
            self.config = make_config(**env_kwargs)
        c = self.config
        self.num_users, self.num_channels, self.horizon = c.num_users, c.num_channels, c.horizon
        self.with_rate = c.observation == "last_action_feedback_rate"
        self.obs_dim = physics.observation_dim(c.num_channels, self.with_rate)
        self.state_dim = physics.state_dim(c.num_users, c.num_channels)
        self._max_rate = c.max_rate
        self._check_memory()  # before the first array of num_envs rows (the action space's)
        self.single_observation_space = spaces.Box(0.0, 1.0, (self.obs_dim,), np.float32)
        self.single_action_space = spaces.Discrete(c.num_channels + 1)
        self.observation_space = spaces.Box(
            0.0, 1.0, (self.num_envs, c.num_users, self.obs_dim), np.float32
        )
        self.action_space = spaces.MultiDiscrete(
            np.full((self.num_envs, c.num_users), c.num_channels + 1)
        )
        self.state_space = spaces.Box(0.0, 1.0, (self.state_dim,), np.float32)
        self._rngs: list[np.random.Generator] | None = None
        self.t = 0

    def episode_bytes(self) -> int:
        """Bytes that ``reset`` allocates for one episode (its history buffers and draws)."""
        N, K, T = self.num_users, self.num_channels, self.horizon
        action_bytes = 2 if K < np.iinfo(np.int16).max else 4
        history = T * N * (action_bytes + 1 + 8) + (T + 1) * K  # actions, feedback, rates, PU
        draws = 8 * (N * K + (T * K if self.config.has_pu else 0))
        # rate table and its norm, the last slot, throughput, the action space's nvec
        per_step = 8 * N * (K + 1) * 2 + 8 * N * 7
        return history + 2 * draws + per_step

    def _check_memory(self) -> None:
        """Refuse a batch whose buffers cannot fit in this machine's memory (before allocating)."""
        need = self.num_envs * self.episode_bytes()
        try:
            have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):  # no sysconf (Windows): no check
            return
        if need > have:
            raise ValueError(
                f"num_envs={self.num_envs} would need about {need / 2**30:.1f} GiB for its "
                f"episodes ({self.episode_bytes()} bytes each), more than this machine's "
                f"{have / 2**30:.1f} GiB of memory; use fewer environments"
            )

    def _require_reset(self, what: str) -> None:
        if self._rngs is None:
            raise RuntimeError(f"call reset() before {what}")

    # ------------------------------------------------------------------ reset
    def _make_rngs(self, seed, seeds) -> list[np.random.Generator]:
        B = self.num_envs
        if seed is not None and seeds is not None:
            raise ValueError("give seed or seeds, not both")
        if seeds is not None:
            seeds = list(seeds)
            if len(seeds) != B:
                raise ValueError(f"seeds must hold num_envs={B} seeds, got {len(seeds)}")
            return [np.random.default_rng(_check_seed("seeds[i]", s)) for s in seeds]
        if seed is not None:
            s = _check_seed("seed", seed)
            return [np.random.default_rng(s + b) for b in range(B)]
        if self._rngs is None:
            return [np.random.default_rng(ss) for ss in np.random.SeedSequence().spawn(B)]
        return self._rngs

    def rng_state(self) -> list | None:
        """Every episode's generator state (None before the first reset).

        All randomness of an episode is drawn at reset, so this is exactly what the next
        ``reset()`` (without seeds) continues from: :meth:`set_rng_state` in a new simulator
        makes it draw the same episodes.
        """
        return None if self._rngs is None else [rng.bit_generator.state for rng in self._rngs]

    def set_rng_state(self, state: list | None) -> None:
        """Continue the episodes' generators from a :meth:`rng_state` of a simulator of the same B."""
        if state is None:
            self._rngs = None
            return
        if len(state) != self.num_envs:
            raise ValueError(
                f"rng state of {len(state)} episodes for a simulator of num_envs={self.num_envs}"
            )
        rngs = []
        for s in state:
            bit_generator = getattr(np.random, s["bit_generator"])()
            bit_generator.state = s
            rngs.append(np.random.Generator(bit_generator))
        self._rngs = rngs

    def reset(self, seed: int | None = None, seeds=None) -> np.ndarray:
        """Start B new episodes; returns the first observations float32 [B, N, obs_dim]."""
        self._rngs = self._make_rngs(seed, seeds)
        c, B, N, K, T = self.config, self.num_envs, self.num_users, self.num_channels, self.horizon
        draws = [physics.draw_episode(rng, c) for rng in self._rngs]
        self.beta = np.stack([d[0] for d in draws])
        self._table = physics.rate_table(self.beta)  # [B, N, K+1]
        self._rate_norm = self._table[..., 1:] / self._max_rate
        # time-major buffers [T, B, ...]: the slot written by step() is contiguous
        self._busy = np.zeros((T + 1, B, K), dtype=bool)  # row T: after the end
        if c.has_pu:
            u = np.stack([d[1] for d in draws], axis=1)  # [T, B, K]
            self._busy[:T] = physics.pu_occupancy(np.moveaxis(u, 0, 1), c).transpose(1, 0, 2)
        adt = np.int16 if K < np.iinfo(np.int16).max else np.int32
        self._a_hist = np.zeros((T, B, N), dtype=adt)
        self._o_hist = np.zeros((T, B, N), dtype=np.int8)
        self._r_hist = np.zeros((T, B, N))
        self._last_a = np.zeros((B, N), dtype=np.intp)  # a_0 = idle
        self._last_o = np.zeros((B, N), dtype=np.int8)  # o_0 = 0 (dummy)
        self._last_r = np.zeros((B, N))
        self._throughput = np.zeros((B, N))
        self.t = 0
        return self._observe()

    # ------------------------------------------------------------------ step
    def validate_actions(self, actions) -> np.ndarray:
        """Check actions (int [B, N] in 0..K) and return them as intp; ValueError otherwise."""
        B, N, K = self.num_envs, self.num_users, self.num_channels
        a = np.asarray(actions)
        if a.shape != (B, N):
            raise ValueError(
                f"actions must have shape (num_envs, num_users) = ({B}, {N}), got {a.shape}"
            )
        if a.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be integers in 0..{K} (0 idle, k channel k), got dtype {a.dtype}"
            )
        bad = (a < 0) | (a > K)
        if bad.any():
            b, n = np.argwhere(bad)[0]
            raise ValueError(
                f"actions must lie in 0..{K} (0 idle, k channel k); actions[{b}, {n}] = {a[b, n]}"
            )
        return a.astype(np.intp)  # a copy: the caller may reuse its buffer

    def step(self, actions):
        """Play one slot in every episode.

        Returns ``(obs, rewards, terminations, truncations, infos)`` as Gymnasium's vector API,
        with one entry per user: obs float32 [B, N, obs_dim], rewards float64 [B, N],
        terminations bool [B, N] (all True after slot T, see the class docstring),
        truncations bool [B, N] (always False) and infos a dict of arrays: infos["feedback"]
        int8 [B, N], infos["rates"] float64 [B, N] (own achieved rates), infos["actions"] int
        [B, N]; after slot T, infos["episode"] holds the episode metrics of
        :func:`dsa_pettingzoo.metrics.episode_summary` (arrays with leading dimension B).
        """
        self._require_reset("step()")
        if self.t >= self.horizon:
            raise RuntimeError(f"the episodes are over (horizon={self.horizon}); call reset()")
        a = self.validate_actions(actions)
        t, c, K = self.t, self.config, self.num_channels
        busy = self._busy[t] if c.has_pu else None
        fb = physics.feedback(a, busy, K)
        rates = physics.own_rates(a, fb, self._table)
        rewards, self._throughput = REWARDS[c.reward](
            rates, self._throughput, Slot(a, fb, self._table)
        )
        self._a_hist[t] = a
        self._o_hist[t] = fb
        self._r_hist[t] = rates
        self._last_a, self._last_o, self._last_r = a, fb, rates
        self.t = t + 1
        done = self.t == self.horizon
        info = {"feedback": fb.copy(), "rates": rates.copy(), "actions": a.copy()}
        if done:
            info["episode"] = self.episode_metrics()
        terminations = np.full((self.num_envs, self.num_users), done)
        truncations = np.zeros((self.num_envs, self.num_users), dtype=bool)
        return self._observe(), rewards, terminations, truncations, info

    # ------------------------------------------------------------------ views
    def _observe(self) -> np.ndarray:
        return physics.encode_observation(
            self._last_a,
            self._last_o,
            self._last_r / self._max_rate,
            self.num_channels,
            self.with_rate,
        )

    def state(self) -> np.ndarray:
        """Global states float32 [B, state_dim] (layout: :func:`physics.encode_state`)."""
        self._require_reset("state()")
        t = self.t
        last = self._busy[t - 1] if t > 0 else np.zeros_like(self._busy[0])
        return physics.encode_state(
            self._last_a,
            self._last_o,
            self._last_r / self._max_rate,
            last,
            self._busy[t],
            self._rate_norm,
            t / self.horizon,
            self.num_channels,
        )

    def episode_metrics(self) -> dict:
        """Metrics of the slots played so far (see :mod:`dsa_pettingzoo.metrics`), leading dim B."""
        self._require_reset("episode_metrics()")
        h = self.history
        return episode_summary(
            h["feedback"],
            h["rates"],
            h["pu_busy"] if self.config.has_pu else None,
            self.num_channels,
        )

    @property
    def pu_busy_next(self) -> np.ndarray:
        """bool [B, K]: PU occupancy of the slot the next step() resolves (privileged)."""
        self._require_reset("pu_busy_next")
        return self._busy[self.t].copy()

    @property
    def pu_occupancy(self) -> np.ndarray:
        """bool [B, T, K]: PU occupancy of every slot of the current episodes (privileged)."""
        self._require_reset("pu_occupancy")
        return self._busy[: self.horizon].transpose(1, 0, 2).copy()

    @property
    def history(self) -> dict:
        """Played slots so far (read-only views): actions, feedback, rates [B, t, N], pu_busy [B, t, K]."""
        self._require_reset("history")
        t = self.t
        views = {
            "actions": self._a_hist[:t],
            "feedback": self._o_hist[:t],
            "rates": self._r_hist[:t],
            "pu_busy": self._busy[:t],
        }
        out = {}
        for k, v in views.items():
            v = v.transpose(1, 0, 2)
            v.flags.writeable = False
            out[k] = v
        return out
