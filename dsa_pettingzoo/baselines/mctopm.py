"""MCTopM (Besson and Kaufmann, "Multi-Player Bandits Revisited", ALT 2018, arXiv:1711.02317,
Algorithm 2): RandTopM with a chair. Shared machinery and indices: :mod:`.topm`.

With A = A^n(t), C = collision at t, s = "sitted" and M_hat = M_hat^n(t):

* A not in M_hat: A(t+1) ~ U(M_hat ∩ {k : g_k(t-1) <= g_A(t-1)}), s = False;
* else if C and not s: A(t+1) ~ U(M_hat), s = False;
* else: A(t+1) = A, and s = True after an ACK (a sitted user ignores collisions).

A PU-busy slot leaves s unchanged. With N >= K every channel is in M_hat (m = K), so a
user that is alone once sits for good, and users beyond the K sitted ones keep drawing
channels and colliding with them (the paper assumes M <= K).
"""

from __future__ import annotations

import numpy as np

from .bandit import uniform_in
from .topm import TopMPolicy


class MCTopMPolicy(TopMPolicy):
    """Aim at a random channel of the estimated M best; sit once alone there."""

    name = "mctopm"

    def _next(self, best, noise):
        own_in_best = np.take_along_axis(best, (self.arm - 1)[..., None], axis=-1)[..., 0]
        leave = ~own_in_best
        reshuffle = own_in_best & self.collided & ~self.sitted
        arm = np.where(
            leave,
            self._lower_previous(best, noise),
            np.where(reshuffle, uniform_in(best, noise), self.arm),
        )
        self.sitted = np.where(leave | reshuffle, False, self.sitted | self.succeeded)
        return arm
