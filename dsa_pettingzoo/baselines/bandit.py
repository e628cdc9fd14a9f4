"""Shared pieces of the multi-player bandit baselines: each user's own sample statistics,
upper-confidence indices, the collision-rate estimate of the number of players, and
checks of their parameters.

Everything here is per user: arrays are [B, N, K] or [B, N], and column n depends only on
what user n played and observed.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..physics import ACK, NACK, PU_BLOCKED

#: The upper-confidence indices the TopM policies accept.
INDICES = ("klucb", "ucb1")


def check_int(name: str, value, minimum: int) -> int:
    """``value`` as int, or ValueError naming ``name`` unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_optional_players(name: str, value) -> int | None:
    """None (estimate or take N from the config) or an integer >= 1."""
    return None if value is None else check_int(name, value, 1)


def uniform_in(mask: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """A uniformly random True position of ``mask`` [..., K] per row, as a 1-based channel.

    ``noise`` is uniform [..., K] drawn by the caller (fixed shape, so one user's mask never
    changes another user's draw). A row without a True position gets a uniform channel.
    """
    empty = ~mask.any(axis=-1, keepdims=True)
    return np.where(mask | empty, noise, -1.0).argmax(axis=-1) + 1


def top_m(score: np.ndarray, m: np.ndarray | int, noise: np.ndarray) -> np.ndarray:
    """Mask [..., K] of the m highest scores of each row, ties broken by ``noise``."""
    order = np.lexsort((noise, score), axis=-1)[..., ::-1]  # best first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(score.shape[-1]), axis=-1)
    return rank < np.asarray(m)[..., None]


class OwnRateStats:
    """Per-user, per-channel samples of the user's own normalised rate.

    A sample of channel k is the rate the user got there: its rate on ACK, 0 when a PU held
    the channel (-2). A collision (-1) is a sample only with ``collision_samples=True``: the
    channel was then free of PUs, and since beta is fixed within an episode the user would
    have earned its last ACK rate on k (the sensing information of Besson and Kaufmann); it
    is skipped while the user has no ACK on k yet. Rates are normalised into [0, 1] by the
    largest rate the user has itself observed so far (no knowledge of the SNR range).
    """

    def __init__(self, shape: tuple[int, int], num_channels: int, collision_samples: bool):
        self.count = np.zeros(shape + (num_channels,))
        self.total = np.zeros(shape + (num_channels,))  # sum of raw rates
        self.last_rate = np.full(shape + (num_channels,), np.nan)
        self.max_rate = np.zeros(shape)
        self.collision_samples = collision_samples

    def update(self, actions, feedback, rates, where: np.ndarray | None = None) -> None:
        """Add the slot's samples (``where`` [B, N]: only these users learn this slot)."""
        actions, feedback, rates = np.asarray(actions), np.asarray(feedback), np.asarray(rates)
        sent = actions > 0 if where is None else (actions > 0) & where
        b, n = np.nonzero(sent)
        k = actions[b, n] - 1
        fb, r = feedback[b, n], rates[b, n].astype(np.float64)
        value = np.where(fb == ACK, r, 0.0)
        sample = (fb == ACK) | (fb == PU_BLOCKED)
        if self.collision_samples:
            known = self.last_rate[b, n, k]
            sensed = (fb == NACK) & ~np.isnan(known)
            value = np.where(sensed, np.nan_to_num(known), value)
            sample |= sensed
        self.count[b, n, k] += sample
        self.total[b, n, k] += np.where(sample, value, 0.0)
        ack = fb == ACK
        self.last_rate[b[ack], n[ack], k[ack]] = r[ack]
        np.maximum.at(self.max_rate, (b[ack], n[ack]), r[ack])

    def mean(self) -> np.ndarray:
        """Normalised empirical means [B, N, K] in [0, 1] (0 where no sample yet)."""
        scale = np.where(self.max_rate > 0, self.max_rate, 1.0)[..., None]
        return np.divide(
            self.total, self.count * scale, out=np.zeros_like(self.total), where=self.count > 0
        )


def kl_bernoulli(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """kl(p, q) = p log(p/q) + (1-p) log((1-p)/(1-q)), clipped away from 0 and 1."""
    eps = 1e-12
    p = np.clip(p, eps, 1 - eps)
    q = np.clip(q, eps, 1 - eps)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def klucb_index(mean: np.ndarray, count: np.ndarray, t: int, iterations: int = 30) -> np.ndarray:
    """kl-UCB: max{q in [mean, 1] : count * kl(mean, q) <= log t}; +inf where count = 0.

    The exploration level log(t) is the one Besson and Kaufmann use (f(t) = log t). Solved
    by bisection (``iterations`` halvings: error 2^-30).
    """
    level = np.log(max(t, 1))
    low, high = mean.copy(), np.ones_like(mean)
    safe = np.maximum(count, 1.0)
    for _ in range(iterations):
        mid = 0.5 * (low + high)
        ok = safe * kl_bernoulli(mean, mid) <= level
        low = np.where(ok, mid, low)
        high = np.where(ok, high, mid)
    return np.where(count > 0, low, np.inf)


def ucb1_index(mean: np.ndarray, count: np.ndarray, t: int) -> np.ndarray:
    """UCB1: mean + sqrt(2 log t / count); +inf where count = 0."""
    bonus = np.sqrt(2.0 * np.log(max(t, 1)) / np.maximum(count, 1.0))
    return np.where(count > 0, mean + bonus, np.inf)


def estimate_num_players(acks: np.ndarray, nacks: np.ndarray, num_channels: int) -> np.ndarray:
    """Rosenski, Shamir and Szlak's estimate of the number of players M from a uniform exploration.

    When M players each pick one of K channels uniformly, a given player is alone with
    probability (1 - 1/K)^(M-1), so M = 1 + log(alone fraction) / log(1 - 1/K), rounded.
    The alone fraction is counted only over slots where the collision indicator was seen (ACK
    or NACK; a PU-busy slot hides it). No such slot: K. Never alone: K (at least K users).
    Returns int [B, N] >= 1 (not capped at K).
    """
    if num_channels == 1:
        return np.where(nacks > 0, 2, 1).astype(np.int64)
    seen = acks + nacks
    frac = np.divide(acks, seen, out=np.ones_like(acks, dtype=np.float64), where=seen > 0)
    with np.errstate(divide="ignore"):
        m = 1.0 + np.log(frac) / np.log(1.0 - 1.0 / num_channels)
    m = np.where((seen == 0) | ~np.isfinite(m), num_channels, np.rint(m))
    return np.maximum(m, 1).astype(np.int64)
