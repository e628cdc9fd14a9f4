"""Musical chairs as published: Rosenski, Shamir and Szlak, "Multi-Player Bandits - a Musical
Chairs Approach", ICML 2016, arXiv:1512.02866 (the MC algorithm for a fixed set of players).

Every user runs the same two phases, knowing only the exploration length T0:

1. **Exploration** (slots 0 .. T0-1): transmit on a uniformly random channel. Keep, per
   channel, the mean of the own non-collided samples (rate on ACK, 0 when a PU held the
   channel) and count how often the user was alone (ACK) and collided (NACK).
2. **Estimate M** at the end of exploration from the collision rate:
   M_hat = 1 + round(log(#ACK / (#ACK + #NACK)) / log(1 - 1/K)), since a user is alone
   with probability (1 - 1/K)^(M-1) when M users pick uniformly (``num_players`` given:
   M known instead). The chairs are the min(M_hat, K) channels with the best means.
3. **Musical chairs** (slot T0 on): transmit on a uniformly random chair until the first
   ACK, then sit on that channel for the rest of the episode.

A PU-busy slot (-2) hides whether the user was alone, so it counts neither as alone nor as
a collision and never seats a user. The paper assumes M <= K; with N > K users the K
chairs fill and the remaining N - K users keep drawing chairs, colliding with the seated
users forever (docs/baselines.md measures the cost). The rule that handles N > K by
backing off is :mod:`.musical_chairs`, our variant.
"""

from __future__ import annotations

import numpy as np

from ..physics import ACK, NACK
from .bandit import (
    OwnRateStats,
    check_int,
    check_optional_players,
    estimate_num_players,
    top_m,
    uniform_in,
)
from .base import BatchedPolicy


class MusicalChairsRSSPolicy(BatchedPolicy):
    """Uniform exploration for ``explore`` slots, then sit on the first top-M_hat chair that ACKs."""

    name = "musical_chairs_rss"

    def __init__(self, explore: int = 3, num_players: int | None = None):
        self.explore = check_int("musical_chairs_rss explore", explore, 1)
        self.num_players = check_optional_players("musical_chairs_rss num_players", num_players)

    def _reset(self) -> None:
        self.t = 0
        self.stats = OwnRateStats(self.shape, self.num_channels, collision_samples=False)
        self.acks = np.zeros(self.shape)
        self.nacks = np.zeros(self.shape)
        self.m_hat = np.zeros(self.shape, dtype=np.int64)  # set when exploration ends
        self.chairs = np.ones(self.shape + (self.num_channels,), dtype=bool)
        self.seat = np.zeros(self.shape, dtype=np.int64)  # 0: not seated

    def act(self, sim=None) -> np.ndarray:
        noise = self.rng.random(self.shape + (self.num_channels,))
        if self.t < self.explore:
            return noise.argmax(axis=-1) + 1
        return np.where(self.seat > 0, self.seat, uniform_in(self.chairs, noise))

    def _end_exploration(self) -> None:
        if self.num_players is None:
            self.m_hat = estimate_num_players(self.acks, self.nacks, self.num_channels)
        else:
            self.m_hat = np.full(self.shape, self.num_players, dtype=np.int64)
        # ties (e.g. unsampled channels) broken by a fixed per-user order
        ties = np.broadcast_to(np.arange(self.num_channels)[::-1], self.chairs.shape)
        self.chairs = top_m(self.stats.mean(), np.minimum(self.m_hat, self.num_channels), ties)

    def update(self, actions, feedback, rates) -> None:
        actions, feedback = np.asarray(actions), np.asarray(feedback)
        if self.t < self.explore:
            self.stats.update(actions, feedback, rates)
            self.acks += feedback == ACK
            self.nacks += feedback == NACK
            if self.t == self.explore - 1:
                self._end_exploration()
        else:
            sit = (self.seat == 0) & (feedback == ACK)
            self.seat[sit] = actions[sit]
        self.t += 1
