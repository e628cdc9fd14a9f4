"""Musical chairs with back-off (after Rosenski, Shamir and Szlak, "Multi-player
bandits: a musical chairs approach", ICML 2016), adapted to N users that may
exceed K channels and to primary users.

Each user n is either *seated* on a channel (its "chair") or *searching*.

* Searching: transmit with probability q[n] (q_0 = 1) on a channel drawn
  uniformly from 1..K, else idle.
  - ACK (alone on a free channel): sit on that channel, strikes = 0.
  - NACK (collision): back off, q <- max(q_min, backoff * q).
  - PU busy (-2) or idle: nothing changes.
* Seated: transmit on the chair every slot.
  - ACK: strikes = 0.
  - NACK: strikes += 1; after ``patience`` consecutive collisions the user
    leaves the chair and searches again (keeping its current q).
  - PU busy (-2): nothing changes (a PU is not a competing secondary user:
    the seated user waits it out; with Markov PUs it waits through whole busy
    periods, with iid PUs it simply loses the fraction pi of its slots).

With N <= K and no PUs every user ends seated on its own channel (an
orthogonal allocation). With N > K, K users end seated and the others probe
with probability about q_min per slot, which costs the seated users
about (N - K) * q_min collisions per slot and keeps the searchers nearly starved.
The rule never looks at rates: it is not channel-aware.
"""

from __future__ import annotations

import numpy as np

from .base import ACK, NACK, BatchedPolicy, check_probability


class MusicalChairsPolicy(BatchedPolicy):
    """Sit on the first channel that gives an ACK; back off while searching."""

    name = "musical_chairs"

    def __init__(self, backoff: float = 0.5, q_min: float = 0.02, patience: int = 3):
        self.backoff = check_probability("musical_chairs backoff", backoff)
        self.q_min = check_probability("musical_chairs q_min", q_min)
        if isinstance(patience, bool) or int(patience) != patience or patience < 1:
            raise ValueError(f"musical_chairs patience must be an integer >= 1, got {patience!r}")
        self.patience = int(patience)

    def _reset(self) -> None:
        self.chair = np.zeros(self.shape, dtype=np.int64)  # 0: searching, else seated channel
        self.q = np.ones(self.shape)  # searching users' transmission probability
        self.strikes = np.zeros(self.shape, dtype=np.int64)  # consecutive collisions while seated

    def act(self, sim=None) -> np.ndarray:
        u = self.rng.random(self.shape)
        channel = self._random_channels()
        searching_action = np.where(u < self.q, channel, 0)
        return np.where(self.chair > 0, self.chair, searching_action)

    def update(self, actions, feedback, rates) -> None:
        actions = np.asarray(actions)
        feedback = np.asarray(feedback)
        seated = self.chair > 0
        ack = feedback == ACK
        nack = feedback == NACK
        # searching users
        sit = ~seated & ack
        self.chair[sit] = actions[sit]
        self.strikes[sit] = 0
        collided = ~seated & nack
        self.q[collided] = np.maximum(self.q_min, self.backoff * self.q[collided])
        # seated users
        self.strikes[seated & ack] = 0
        self.strikes[seated & nack] += 1
        leave = seated & (self.strikes >= self.patience)
        self.chair[leave] = 0
        self.strikes[leave] = 0
