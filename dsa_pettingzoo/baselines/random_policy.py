"""Uniform random policy: every user picks a_t^n uniformly in {0, 1, ..., K} each slot."""

from __future__ import annotations

import numpy as np

from .base import BatchedPolicy


class RandomPolicy(BatchedPolicy):
    """a_t^n ~ Uniform{0, ..., K}, independently over users and slots (idle included)."""

    name = "random"

    def act(self, sim=None) -> np.ndarray:
        return self.rng.integers(0, self.num_channels + 1, size=self.shape)
