"""Episode metrics of a DSA system: pure functions plus a small step-by-step accumulator.

All functions accept arrays with any leading batch dimensions ``...``. Per-user metrics have
shape ``[..., N]``, system metrics ``[...]``. Definitions (T = slots played, K channels, N users):

* successes / collisions / idle / pu_blocked: per user, the number of slots with feedback
  1 / -1 / 0 / -2. attempts = successes + collisions + pu_blocked (every non-idle action).
* throughput: per user, sum_t log2(1 + beta^n(t)) (its own achieved rates); system_throughput is
  the sum over users, the paper's episode reward unit (1/N) sum_t sum_n r_t^n under "sum_rate".
* channel_utilisation: successful transmissions / (T * K). PU-busy channel-slots COUNT in the
  denominator (a channel-slot taken by a primary user is a slot the secondary users did not use).
* free_channel_utilisation: successful transmissions / number of PU-free channel-slots
  (0 when there is none); equals channel_utilisation without primary users.
* collision_rate: collisions / attempts (0 without attempts); pu_blocked_rate: pu_blocked / attempts.
* idle_rate: idle user-slots / (T * N).
* jain_fairness: Jain's index of the users' throughputs, (sum x)^2 / (N sum x^2), in [1/N, 1];
  defined as 1 when every user has zero throughput (all equal).
"""

from __future__ import annotations

import numpy as np

from .physics import ACK, IDLE, NACK, PU_BLOCKED

PER_USER_KEYS = ("throughput", "successes", "collisions", "idle", "pu_blocked", "attempts")
SYSTEM_KEYS = (
    "system_throughput",
    "channel_utilisation",
    "free_channel_utilisation",
    "collision_rate",
    "pu_blocked_rate",
    "idle_rate",
    "jain_fairness",
)


def jain_index(x, axis: int = -1) -> np.ndarray:
    """Jain's fairness index (sum x)^2 / (n sum x^2) along ``axis``; 1 where all x are 0."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[axis]
    s1 = x.sum(axis=axis)
    s2 = (x * x).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        j = s1 * s1 / (n * s2)
    return np.where(s2 > 0, j, 1.0)


def _ratio(num, den):
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def summarize(
    successes,
    collisions,
    idle,
    pu_blocked,
    throughput,
    slots: int,
    num_channels: int,
    free_channel_slots,
) -> dict:
    """Build the metric dict from per-user counts [..., N] and the number of slots played."""
    attempts = successes + collisions + pu_blocked
    N = np.shape(successes)[-1]
    total_succ = np.sum(successes, axis=-1)
    return {
        "throughput": np.asarray(throughput, dtype=np.float64),
        "successes": successes,
        "collisions": collisions,
        "idle": idle,
        "pu_blocked": pu_blocked,
        "attempts": attempts,
        "system_throughput": np.sum(throughput, axis=-1),
        "channel_utilisation": _ratio(total_succ, slots * num_channels),
        "free_channel_utilisation": _ratio(total_succ, free_channel_slots),
        "collision_rate": _ratio(np.sum(collisions, axis=-1), np.sum(attempts, axis=-1)),
        "pu_blocked_rate": _ratio(np.sum(pu_blocked, axis=-1), np.sum(attempts, axis=-1)),
        "idle_rate": _ratio(np.sum(idle, axis=-1), slots * N),
        "jain_fairness": jain_index(throughput, axis=-1),
    }


def episode_summary(feedback, rates, pu_busy=None, num_channels: int | None = None) -> dict:
    """Metrics of played slots from feedback int [..., T, N], own rates [..., T, N] and PU
    occupancy bool [..., T, K] (or None without primary users; then give ``num_channels``)."""
    fb = np.asarray(feedback)
    T = fb.shape[-2]
    if pu_busy is not None:
        K = np.shape(pu_busy)[-1]
        free = T * K - np.sum(pu_busy, axis=(-2, -1))
    else:
        if num_channels is None:
            raise ValueError("num_channels is required when pu_busy is None")
        K = num_channels
        free = np.full(fb.shape[:-2], T * K)
    return summarize(
        successes=np.sum(fb == ACK, axis=-2),
        collisions=np.sum(fb == NACK, axis=-2),
        idle=np.sum(fb == IDLE, axis=-2),
        pu_blocked=np.sum(fb == PU_BLOCKED, axis=-2),
        throughput=np.sum(np.asarray(rates, dtype=np.float64), axis=-2),
        slots=T,
        num_channels=K,
        free_channel_slots=free,
    )


class EpisodeAccumulator:
    """Accumulates the metrics of :func:`episode_summary` one slot at a time.

    >>> acc = EpisodeAccumulator(num_users=N, num_channels=K, batch_shape=(B,))
    >>> acc.update(feedback, rates, pu_busy)   # feedback/rates [B, N], pu_busy [B, K] or None
    >>> acc.summary()                           # dict of arrays, see the module docstring
    """

    def __init__(self, num_users: int, num_channels: int, batch_shape: tuple = ()):
        self.num_users, self.num_channels = num_users, num_channels
        self.batch_shape = tuple(batch_shape)
        self.reset()

    def reset(self) -> None:
        """Forget everything (start of an episode)."""
        shape = self.batch_shape + (self.num_users,)
        self.counts = {
            k: np.zeros(shape, dtype=np.int64)
            for k in ("successes", "collisions", "idle", "pu_blocked")
        }
        self.throughput = np.zeros(shape)
        self.free_channel_slots = np.zeros(self.batch_shape, dtype=np.int64)
        self.slots = 0

    def update(self, feedback, rates, pu_busy=None) -> None:
        """Add one slot: feedback int [..., N], own rates [..., N], PU occupancy bool [..., K]."""
        fb = np.asarray(feedback)
        self.counts["successes"] += fb == ACK
        self.counts["collisions"] += fb == NACK
        self.counts["idle"] += fb == IDLE
        self.counts["pu_blocked"] += fb == PU_BLOCKED
        self.throughput += rates
        busy = 0 if pu_busy is None else np.sum(pu_busy, axis=-1)
        self.free_channel_slots += self.num_channels - busy
        self.slots += 1

    def summary(self) -> dict:
        """The metric dict (copies) of the slots added so far."""
        return summarize(
            **{k: v.copy() for k, v in self.counts.items()},
            throughput=self.throughput.copy(),
            slots=self.slots,
            num_channels=self.num_channels,
            free_channel_slots=self.free_channel_slots.copy(),
        )
