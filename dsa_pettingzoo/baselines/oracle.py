"""Oracle upper bound: a central planner that knows beta and each slot's PU state.

Each slot it assigns at most one user per PU-free channel (and one channel per
user) so that the sum rate sum_n log2(1 + beta[n, a_n]) is maximal: a
maximum-weight bipartite matching with weights w[n, k] = log2(1 + beta[n, k])
over the free channels. No collisions ever happen, so its sum rate upper-bounds
every policy on the same episodes, slot by slot (with positive weights it
fills min(N, #free) channels).

This is the only privileged policy: it reads ``sim.beta`` [B, N, K] and
``sim.pu_busy_next`` [B, K]. Since beta is fixed within an episode, for
K <= MAX_SUBSET_CHANNELS it solves once per episode the optimum for every set
of free channels (:func:`subset_matching_table`); for larger K it runs the
Hungarian method per slot, with a cache per (episode, free set).
"""

from __future__ import annotations

import numpy as np

from .base import BatchedPolicy
from .matching import MAX_SUBSET_CHANNELS, hungarian, subset_matching_table


class OraclePolicy(BatchedPolicy):
    """Max-weight matching of users to PU-free channels, per slot."""

    name = "oracle"
    privileged = True

    def _reset(self) -> None:
        self._beta = None  # beta the tables were built for
        self._table = None
        self._cache: dict = {}

    def _prepare(self, beta: np.ndarray) -> None:
        if self._beta is not None and np.array_equal(beta, self._beta):
            return
        self._beta = np.array(beta, dtype=np.float64, copy=True)
        self._weights = np.log2(1.0 + self._beta)  # rates, eq. of the objective OP
        self._cache = {}
        if self.num_channels <= MAX_SUBSET_CHANNELS:
            self._table, _ = subset_matching_table(self._weights)

    def act(self, sim=None) -> np.ndarray:
        if sim is None:
            raise ValueError(
                "the oracle needs the simulator: act(sim) with sim.beta and sim.pu_busy_next"
            )
        beta = np.asarray(sim.beta)
        busy = np.asarray(sim.pu_busy_next, dtype=bool).reshape(self.num_envs, self.num_channels)
        self._prepare(beta)
        free = ~busy
        if self._table is not None:
            free_set = (free.astype(np.int64) << np.arange(self.num_channels)).sum(axis=1)
            return self._table[np.arange(self.num_envs), free_set]
        actions = np.zeros(self.shape, dtype=np.int64)
        for b in range(self.num_envs):
            key = (b, free[b].tobytes())
            if key not in self._cache:
                cols = np.flatnonzero(free[b])
                assignment, _ = hungarian(self._weights[b][:, cols])
                act = np.zeros(self.num_users, dtype=np.int64)
                act[assignment >= 0] = cols[assignment[assignment >= 0]] + 1
                self._cache[key] = act
            actions[b] = self._cache[key]
        return actions
