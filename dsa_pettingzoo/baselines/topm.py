"""The machinery MCTopM and RandTopM share (Besson and Kaufmann, "Multi-Player Bandits
Revisited", ALT 2018, arXiv:1711.02317): each user ranks the channels by an upper-confidence
index of its own rates and aims at one of its estimated M best channels.

User n keeps, per channel, the samples of :class:`~.bandit.OwnRateStats` with the sensing
samples of collisions (the paper learns on the sensing information, not on the successful
transmissions) and computes at slot t an index g[n, k](t), kl-UCB (default) or UCB1, on its
own rates normalised by the largest rate it has seen. M_hat^n(t) is the set of the
m = min(M, K) channels with the largest indices (ties broken at random); M is known, as in
the paper (default: the config's N). The first slot is a uniform channel; every slot after
that follows the subclass's rule (:meth:`TopMPolicy._next`).

A PU-busy slot (-2) hides the collision indicator: the rule then treats it as neither a
collision nor a success (no seat is taken, no reshuffle).
"""

from __future__ import annotations

import numpy as np

from .bandit import (
    INDICES,
    OwnRateStats,
    check_optional_players,
    klucb_index,
    top_m,
    ucb1_index,
    uniform_in,
)
from ..physics import ACK, NACK
from .base import BatchedPolicy


class TopMPolicy(BatchedPolicy):
    """Base class of :class:`~.mctopm.MCTopMPolicy` and :class:`~.randtopm.RandTopMPolicy`."""

    name = "topm"

    def __init__(self, index: str = "klucb", num_players: int | None = None):
        if index not in INDICES:
            raise ValueError(
                f"{self.name} index must be one of {', '.join(INDICES)}, got {index!r}"
            )
        self.index = index
        self.num_players = check_optional_players(f"{self.name} num_players", num_players)

    def _reset(self) -> None:
        self.t = 0
        self.stats = OwnRateStats(self.shape, self.num_channels, collision_samples=True)
        M = self.num_users if self.num_players is None else self.num_players
        self.m = min(M, self.num_channels)
        self.arm = np.zeros(self.shape, dtype=np.int64)  # A^n(t); 0 before the first slot
        self.collided = np.zeros(self.shape, dtype=bool)  # C^n(t)
        self.succeeded = np.zeros(self.shape, dtype=bool)  # ACK at t
        self.sitted = np.zeros(self.shape, dtype=bool)  # MCTopM's s^n(t)
        self.prev_index = np.full(self.shape + (self.num_channels,), np.inf)  # g(t-1)

    def indices(self) -> np.ndarray:
        """g[n, k](t) for every user, [B, N, K]."""
        mean, count = self.stats.mean(), self.stats.count
        if self.index == "klucb":
            return klucb_index(mean, count, self.t)
        return ucb1_index(mean, count, self.t)

    def act(self, sim=None) -> np.ndarray:
        K = self.num_channels
        tie_noise = self.rng.random(self.shape + (K,))
        pick_noise = self.rng.random(self.shape + (K,))
        g = self.indices()
        if self.t == 0:
            self.arm = pick_noise.argmax(axis=-1) + 1
        else:
            best = top_m(g, self.m, tie_noise)
            self.arm = self._next(best, pick_noise)
        self.prev_index = g
        return self.arm.copy()

    def _lower_previous(self, best: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """U(M_hat(t) ∩ {k : g_k(t-1) <= g_A(t-1)}), or U(M_hat(t)) if that set is empty."""
        own = np.take_along_axis(self.prev_index, (self.arm - 1)[..., None], axis=-1)
        allowed = best & (self.prev_index <= own)
        allowed = np.where(allowed.any(axis=-1, keepdims=True), allowed, best)
        return uniform_in(allowed, noise)

    def _next(self, best: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """A^n(t+1) from the estimated best set ``best`` [B, N, K] (bool)."""
        raise NotImplementedError

    def update(self, actions, feedback, rates) -> None:
        feedback = np.asarray(feedback)
        self.stats.update(actions, feedback, rates)
        self.collided = feedback == NACK
        self.succeeded = feedback == ACK
        self.t += 1
