"""Opportunistic Channel-Aware (OCA) policy: each user learns, per channel, how
often it succeeds there and what rate it gets, and transmits where its
expected rate is highest.

The paper names an OCA benchmark without defining it; this is our definition
(docs/baselines.md). User n keeps, for every channel k:

* theta[n, k], an exponentially weighted success frequency, theta_0 = 0.5
  (a neutral prior), updated only when n transmits on k:
  theta <- theta + eta * (1{o = ACK} - theta)   (a collision or a PU-busy slot counts as failure);
* rate[n, k], the rate log2(1 + beta) it last achieved on k (beta is fixed
  within an episode, so one ACK reveals it); a channel without an ACK yet is
  valued at the best rate n has seen anywhere (1.0 before any ACK): optimism.

Each slot, with probability ``p_tx`` (default K/N, capped at 1) the user
transmits, otherwise it stays idle. When it transmits it explores with
probability ``epsilon`` (uniform channel) and otherwise picks
argmax_k theta[n, k] * rate[n, k] (ties broken uniformly at random).
"""

from __future__ import annotations

import numpy as np

from ..physics import ACK
from .base import BatchedPolicy, check_probability


class OCAPolicy(BatchedPolicy):
    """Per-user epsilon-greedy on the estimated expected rate theta * rate."""

    name = "oca"

    def __init__(
        self,
        p_tx: float | None = None,
        epsilon: float = 0.05,
        eta: float = 0.1,
        theta0: float = 0.5,
    ):
        self.p_tx_param = None if p_tx is None else check_probability("oca p_tx", p_tx)
        self.theta0 = check_probability("oca theta0", theta0)
        self.epsilon = check_probability("oca epsilon", epsilon)
        self.eta = check_probability("oca eta", eta, allow_zero=False)

    def _reset(self) -> None:
        B, N, K = self.num_envs, self.num_users, self.num_channels
        self.p_tx = self.p_tx_param if self.p_tx_param is not None else min(1.0, K / N)
        self.theta = np.full((B, N, K), self.theta0)  # success-frequency estimates
        self.rate = np.full((B, N, K), np.nan)  # last achieved rate per channel (nan: no ACK yet)

    def expected_rate(self) -> np.ndarray:
        """theta * rate with untried channels valued at the user's best seen rate, [B, N, K]."""
        best_seen = np.nanmax(
            np.where(np.isnan(self.rate), -np.inf, self.rate), axis=-1, keepdims=True
        )
        best_seen = np.where(np.isfinite(best_seen), best_seen, 1.0)
        rate = np.where(np.isnan(self.rate), best_seen, self.rate)
        return self.theta * rate

    def act(self, sim=None) -> np.ndarray:
        # Fixed-shape draws every slot (keeps users' randomness independent of others' histories).
        u_tx = self.rng.random(self.shape)
        u_explore = self.rng.random(self.shape)
        explore_channel = self._random_channels()
        tie_noise = self.rng.random(self.shape + (self.num_channels,))
        score = self.expected_rate()
        best = score.max(axis=-1, keepdims=True)
        # uniform among the (near-)maximisers
        candidates = np.where(score >= best - 1e-12 * np.abs(best), tie_noise, -1.0)
        greedy_channel = candidates.argmax(axis=-1) + 1
        channel = np.where(u_explore < self.epsilon, explore_channel, greedy_channel)
        return np.where(u_tx < self.p_tx, channel, 0)

    def update(self, actions, feedback, rates) -> None:
        actions = np.asarray(actions)
        b, n = np.nonzero(actions > 0)
        k = actions[b, n] - 1
        success = np.asarray(feedback)[b, n] == ACK
        self.theta[b, n, k] += self.eta * (success - self.theta[b, n, k])
        self.rate[b[success], n[success], k[success]] = np.asarray(rates)[b, n][success]
