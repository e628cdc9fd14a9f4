"""Slotted ALOHA: transmit with probability p on a uniformly random channel.

Each slot, user n transmits with probability ``p`` (independently of everything
else) on a channel drawn uniformly from 1..K, and stays idle otherwise. With
no PUs the expected number of successful transmissions per slot is

    E[successes] = K * N * (p / K) * (1 - p / K) ** (N - 1),

and with iid PU occupancy pi on every channel it is that times (1 - pi).
"""

from __future__ import annotations

import numpy as np

from .base import BatchedPolicy, check_probability


def aloha_expected_successes(
    num_users: int, num_channels: int, p: float, pu_prob: float = 0.0
) -> float:
    """Expected successful transmissions per slot of slotted ALOHA (hand-derived)."""
    q = p / num_channels  # probability that a given user transmits on a given channel
    return num_channels * num_users * q * (1.0 - q) ** (num_users - 1) * (1.0 - pu_prob)


class AlohaPolicy(BatchedPolicy):
    """Slotted ALOHA with transmission probability ``p`` (default K/N, capped at 1)."""

    name = "aloha"

    def __init__(self, p: float | None = None):
        self.p_param = None if p is None else check_probability("aloha p", p)

    def _reset(self) -> None:
        self.p = (
            self.p_param
            if self.p_param is not None
            else min(1.0, self.num_channels / self.num_users)
        )

    def act(self, sim=None) -> np.ndarray:
        transmit = self.rng.random(self.shape) < self.p
        channels = self._random_channels()
        return np.where(transmit, channels, 0)
