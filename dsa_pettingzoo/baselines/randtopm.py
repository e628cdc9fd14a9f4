"""RandTopM (Besson and Kaufmann, "Multi-Player Bandits Revisited", ALT 2018, arXiv:1711.02317,
Algorithm 1). Shared machinery and indices: :mod:`.topm`.

With A = A^n(t), C = collision at t and M_hat = M_hat^n(t):

* C: A(t+1) ~ U(M_hat);
* else if A not in M_hat: A(t+1) ~ U(M_hat ∩ {k : g_k(t-1) <= g_A(t-1)});
* else: A(t+1) = A.

Unlike MCTopM a user never sits: every collision sends it to a new random channel of M_hat.
With N > K some pair collides on every channel in almost every slot, so the users keep
moving and rarely succeed (docs/baselines.md).
"""

from __future__ import annotations

import numpy as np

from .bandit import uniform_in
from .topm import TopMPolicy


class RandTopMPolicy(TopMPolicy):
    """Aim at a random channel of the estimated M best; move at random after every collision."""

    name = "randtopm"

    def _next(self, best, noise):
        own_in_best = np.take_along_axis(best, (self.arm - 1)[..., None], axis=-1)[..., 0]
        return np.where(
            self.collided,
            uniform_in(best, noise),
            np.where(own_in_best, self.arm, self._lower_previous(best, noise)),
        )
