"""The common batched interface of the baseline policies.

A baseline drives ``B`` independent episodes of ``N`` users at once (the batched
simulator, :class:`dsa_pettingzoo.batched.BatchedDSA`). One episode is played as::

    policy.reset(config, num_envs=B, rng=np.random.default_rng(seed))
    for t in range(config.horizon):
        actions = policy.act(sim if policy.privileged else None)   # int [B, N] in 0..K
        obs, rewards, terminations, truncations, info = sim.step(actions)
        policy.update(actions, info["feedback"], info["rates"])

Decentralized policies (every baseline except the oracle) learn only from each
user's own history: its own actions, its own feedback o in {-2, -1, 0, 1}
(PU-occupied, collision, idle, ACK) and its own achieved rate. Column ``n`` of
their state depends only on column ``n`` of what ``update`` received, and every
call to ``act`` draws random numbers of a fixed shape, so changing user ``m``'s
history never changes user ``n``'s actions (tests/test_baselines.py checks both).
They are never handed the simulator (``act`` gets ``None``). Only a policy with
``privileged = True`` (the oracle) receives the simulator and may read
``sim.beta`` and ``sim.pu_busy_next``.
"""

from __future__ import annotations

import numpy as np

from .. import physics


class BatchedPolicy:
    """Base class: a policy for all users of ``B`` episodes played in lockstep.

    Subclasses set ``name``, override :meth:`_reset` (allocate per-user state),
    :meth:`act` and, if they learn, :meth:`update`.
    """

    #: Registry name (``dsa-evaluate --policy NAME``).
    name = "base"
    #: True only for policies allowed to read the simulator's hidden state.
    privileged = False

    def reset(self, config, num_envs: int, rng: np.random.Generator) -> None:
        """Start new episodes: ``config`` is the DSAConfig, ``num_envs`` the batch size B."""
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.config = config
        self.num_users = int(config.num_users)  # N
        self.num_channels = int(config.num_channels)  # K
        self.num_envs = int(num_envs)  # B
        self.rng = rng
        self._reset()

    def _reset(self) -> None:
        """Allocate the per-user state (shape [B, N, ...]); nothing by default."""

    def act(self, sim=None) -> np.ndarray:
        """Return the actions int64 [B, N] in 0..K for the next slot."""
        raise NotImplementedError

    def update(self, actions: np.ndarray, feedback: np.ndarray, rates: np.ndarray) -> None:
        """Learn from the slot just played (all arrays [B, N]); nothing by default."""

    # -- helpers ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(B, N)."""
        return (self.num_envs, self.num_users)

    def _random_channels(self) -> np.ndarray:
        """Uniform channels in 1..K, int64 [B, N]."""
        return self.rng.integers(1, self.num_channels + 1, size=self.shape)


class ObservationPolicy(BatchedPolicy):
    """A policy that acts on the environment's observations y_t^n = [a_{t-1}^n, o_{t-1}^n] (eq. 2).

    Each user's observation is rebuilt from its own action, feedback and rate with the
    environment's encoder (:func:`dsa_pettingzoo.physics.encode_observation`), exactly as the
    environment hands it: ``self._obs`` is float32 [B, N, D] after :meth:`reset` and each
    :meth:`update`. Subclasses implement :meth:`act` on it.
    """

    def _reset(self) -> None:
        c = self.config
        self._with_rate = c.observation == "last_action_feedback_rate"
        self._max_rate = c.max_rate
        zeros = np.zeros(self.shape, dtype=np.intp)  # a_0 = idle, o_0 = 0: the env's first y
        self._obs = physics.encode_observation(
            zeros, zeros, np.zeros(self.shape), self.num_channels, self._with_rate
        )

    def update(self, actions, feedback, rates) -> None:
        self._obs = physics.encode_observation(
            np.asarray(actions),
            np.asarray(feedback),
            np.asarray(rates) / self._max_rate,
            self.num_channels,
            self._with_rate,
        )


def check_probability(name: str, value: float, *, allow_zero: bool = True) -> float:
    """Return ``value`` as float, or raise ValueError naming ``name`` if not a probability."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from None
    low_ok = v >= 0.0 if allow_zero else v > 0.0
    if not (low_ok and v <= 1.0):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return v
