"""Musical chairs with back-off (after Rosenski, Shamir and Szlak, "Multi-player
bandits: a musical chairs approach", ICML 2016), adapted to N users that may
exceed K channels and to primary users.

Each user n is either *seated* on a channel (its "chair") or *searching*.
A searching user remembers the set X[n] of channels on which it collided since
it last cleared that set, and a transmission probability q[n] (q_0 = 1).

* Searching, each slot: if X[n] holds every channel, clear it and back off,
  q <- max(q_min, backoff * q). Then transmit with probability q on a channel
  drawn uniformly from the channels not in X[n], else stay idle.
  - ACK (alone on a free channel): sit on that channel; strikes = 0, X[n] cleared.
  - NACK (collision): add the channel to X[n] (someone is probably sitting there).
  - PU busy (-2) or idle: nothing changes (a PU's occupancy is transient).
* Seated: transmit on the chair every slot.
  - ACK: strikes = 0.
  - NACK: strikes += 1; after ``patience`` consecutive collisions the user
    leaves the chair and searches again (keeping its q).
  - PU busy (-2): nothing changes (a PU is not a competing secondary user:
    the seated user waits it out; with iid PUs it loses the fraction pi of its
    slots, with Markov PUs it waits through whole busy periods).

With N <= K and no PUs the users end seated on distinct channels (an
orthogonal allocation): a searcher avoids the chairs it has bumped into. With
N > K, K users end seated; every searcher finds all K channels taken, backs
off round after round down to q_min, and then probes about q_min times per
slot, costing the seated users about (N - K) * q_min collisions per slot.
The searchers are nearly starved (Jain's index near K/N). The rule never looks
at rates: it is not channel-aware.
"""

from __future__ import annotations

import numpy as np

from ..physics import ACK, NACK
from .base import BatchedPolicy, check_probability


class MusicalChairsPolicy(BatchedPolicy):
    """Sit on the first channel that gives an ACK; searchers avoid known chairs and back off."""

    name = "musical_chairs"

    def __init__(self, backoff: float = 0.25, q_min: float = 0.02, patience: int = 3):
        self.backoff = check_probability("musical_chairs backoff", backoff)
        self.q_min = check_probability("musical_chairs q_min", q_min)
        if isinstance(patience, bool) or int(patience) != patience or patience < 1:
            raise ValueError(f"musical_chairs patience must be an integer >= 1, got {patience!r}")
        self.patience = int(patience)

    def _reset(self) -> None:
        self.chair = np.zeros(self.shape, dtype=np.int64)  # 0: searching, else seated channel
        self.q = np.ones(self.shape)  # searching users' transmission probability
        self.strikes = np.zeros(self.shape, dtype=np.int64)  # consecutive collisions while seated
        self.collided = np.zeros(self.shape + (self.num_channels,), dtype=bool)  # X[n]

    def act(self, sim=None) -> np.ndarray:
        # Fixed-shape draws every slot (keeps users' randomness independent of others' histories).
        u = self.rng.random(self.shape)
        noise = self.rng.random(self.shape + (self.num_channels,))
        searching = self.chair == 0
        exhausted = searching & self.collided.all(axis=-1)
        self.collided[exhausted] = False
        self.q[exhausted] = np.maximum(self.q_min, self.backoff * self.q[exhausted])
        channel = np.where(self.collided, -1.0, noise).argmax(axis=-1) + 1  # uniform outside X[n]
        searching_action = np.where(u < self.q, channel, 0)
        return np.where(searching, searching_action, self.chair)

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
        self.collided[sit] = False
        b, n = np.nonzero(~seated & nack)
        self.collided[b, n, actions[b, n] - 1] = True
        # seated users
        self.strikes[seated & ack] = 0
        self.strikes[seated & nack] += 1
        leave = seated & (self.strikes >= self.patience)
        self.chair[leave] = 0
        self.strikes[leave] = 0
