"""Game of Thrones (GoT): Bistritz and Leshem, "Distributed Multi-Player Bandits - a Game of
Thrones Approach", NeurIPS 2018, arXiv:1810.11162. It is built for heterogeneous rewards: each
user has its own expected reward on each channel, and the target is the assignment that
maximises their sum (the oracle's matching when the rates are log2(1 + beta[n, k])).

Time is cut into epochs e = 1, 2, ...; epoch e has three phases:

1. **Exploration**, ceil(explore * e^delta) slots: a uniformly random channel each slot. User n
   averages its own non-collided samples (rate on ACK, 0 on PU-busy) into mu[n, k] over all
   exploration slots so far, in units of its largest own rate (so mu is in [0, 1]).
2. **GoT dynamics**, ceil(got * e^delta) slots. Each user has a baseline channel b and a mood,
   content (C) or discontent (D); every user starts the phase discontent.
   - Content: play b with probability 1 - epsilon^c, else a uniformly random other channel.
     Discontent: a uniformly random channel.
   - Utility u = mu[n, a] if alone, 0 on a collision; u_max = max_k mu[n, k].
   - A content user that played b and was alone stays content on b. Any other case moves
     to baseline a, content with probability (u / u_max) * epsilon^(u_max - u), discontent
     otherwise (the paper's rule; the same formula is in the GoT player of Wang, Leshem et al.'s
     public MP-MAB code).
   - A PU-busy slot hides the collision indicator and leaves the state unchanged.
   - In the second half of the phase, F[n, k] counts the slots where the user was content
     with baseline k.
3. **Exploitation**, ceil(exploit * 2^(e-1)) slots: play argmax_k F[n, k] of this epoch (no
   content slot: the last baseline).

The paper sets c >= N, a known bound on the number of players; our default is the config's
N. It assumes N <= K: with N > K some user is always in a collision, nobody stays content
for long, and the exploitation choices collide (docs/baselines.md).
"""

from __future__ import annotations

import math

import numpy as np

from ..physics import ACK, PU_BLOCKED
from .bandit import OwnRateStats, check_int, check_optional_players
from .base import BatchedPolicy, check_probability

EXPLORE, GOT, EXPLOIT = 0, 1, 2


def got_schedule(horizon: int, explore: int, got: int, exploit: int, delta: float):
    """Per slot: the phase (EXPLORE, GOT, EXPLOIT), whether F counts, and the last slot of a
    GoT phase (the exploitation arm is chosen after it). Three int/bool arrays [horizon]."""
    phase = np.empty(horizon, dtype=np.int64)
    counts = np.zeros(horizon, dtype=bool)
    got_end = np.zeros(horizon, dtype=bool)
    t, epoch = 0, 1
    while t < horizon:
        lengths = (
            math.ceil(explore * epoch**delta),
            math.ceil(got * epoch**delta),
            math.ceil(exploit * 2 ** (epoch - 1)),
        )
        for kind, length in zip((EXPLORE, GOT, EXPLOIT), lengths):
            end = min(t + length, horizon)
            phase[t:end] = kind
            if kind == GOT and length > 0:
                counts[t + length // 2 : end] = True
                if t + length - 1 < horizon:
                    got_end[t + length - 1] = True
            t = end
        epoch += 1
    return phase, counts, got_end


class GameOfThronesPolicy(BatchedPolicy):
    """Explore, then GoT content/discontent dynamics, then exploit the most-content channel."""

    name = "game_of_thrones"

    def __init__(
        self,
        explore: int = 30,
        got: int = 30,
        exploit: int = 40,
        delta: float = 1.0,
        epsilon: float = 0.1,
        c: int | None = None,
    ):
        self.explore = check_int("game_of_thrones explore", explore, 1)
        self.got = check_int("game_of_thrones got", got, 1)
        self.exploit = check_int("game_of_thrones exploit", exploit, 1)
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 <= delta <= 10:
            raise ValueError(f"game_of_thrones delta must be a number in [0, 10], got {delta!r}")
        self.delta = float(delta)
        self.epsilon = check_probability("game_of_thrones epsilon", epsilon, allow_zero=False)
        if self.epsilon >= 1.0:
            raise ValueError(f"game_of_thrones epsilon must be in (0, 1), got {epsilon!r}")
        self.c = check_optional_players("game_of_thrones c", c)

    def _reset(self) -> None:
        shape, K = self.shape, self.num_channels
        self.t = 0
        self.phase, self.counts, self.got_end = got_schedule(
            self.config.horizon, self.explore, self.got, self.exploit, self.delta
        )
        self.stats = OwnRateStats(shape, K, collision_samples=False)
        self.utility = np.zeros(shape + (K,))  # mu, frozen when a GoT phase starts
        self.utility_max = np.zeros(shape)  # u_max = max_k mu
        self.baseline = np.zeros(shape, dtype=np.int64)
        self.content = np.zeros(shape, dtype=bool)
        self.content_count = np.zeros(shape + (K,))  # F
        self.exploit_arm = np.zeros(shape, dtype=np.int64)
        self.c_value = self.num_users if self.c is None else self.c

    def _start_got(self) -> None:
        self.utility = self.stats.mean()
        self.utility_max = self.utility.max(axis=-1)
        self.content[:] = False
        self.content_count[:] = 0.0

    def act(self, sim=None) -> np.ndarray:
        K = self.num_channels
        noise = self.rng.random(self.shape + (K,))
        u = self.rng.random(self.shape)
        uniform = noise.argmax(axis=-1) + 1
        phase = self.phase[self.t]
        if phase == EXPLORE:
            return uniform
        if phase == EXPLOIT:
            return self.exploit_arm.copy()
        if self.t == 0 or self.phase[self.t - 1] != GOT:
            self._start_got()
            self.baseline = uniform
        # a content user leaves its baseline w.p. epsilon^c, to a uniform other channel
        others = np.ones(self.shape + (K,), dtype=bool)
        np.put_along_axis(others, (self.baseline - 1)[..., None], False, axis=-1)
        other = np.where(others, noise, -1.0).argmax(axis=-1) + 1 if K > 1 else self.baseline
        content_action = np.where(u < self.epsilon**self.c_value, other, self.baseline)
        return np.where(self.content, content_action, uniform)

    def update(self, actions, feedback, rates) -> None:
        actions, feedback = np.asarray(actions), np.asarray(feedback)
        phase = self.phase[self.t]
        if phase == EXPLORE:
            self.stats.update(actions, feedback, rates)
        elif phase == GOT:
            self._got_transition(actions, feedback)
            if self.counts[self.t]:
                b, n = np.nonzero(self.content)
                self.content_count[b, n, self.baseline[b, n] - 1] += 1
            if self.got_end[self.t]:
                F = self.content_count
                arm = F.argmax(axis=-1) + 1
                self.exploit_arm = np.where(F.max(axis=-1) > 0, arm, self.baseline)
        self.t += 1

    def _got_transition(self, actions, feedback) -> None:
        known = feedback != PU_BLOCKED
        alone = feedback == ACK
        util = np.take_along_axis(self.utility, (actions - 1)[..., None], axis=-1)[..., 0]
        util = np.where(alone, util, 0.0)
        keep = self.content & (actions == self.baseline) & alone
        top = self.utility_max
        ratio = np.divide(util, top, out=np.zeros_like(util), where=top > 0)
        accept_p = ratio * self.epsilon ** (top - util)
        draw = self.rng.random(self.shape)
        move = known & ~keep
        self.baseline = np.where(move, actions, self.baseline)
        self.content = np.where(move, draw < accept_p, self.content)
