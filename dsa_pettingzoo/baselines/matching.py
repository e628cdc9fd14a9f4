"""Maximum-weight bipartite matching of users to channels (numpy only).

Used by the oracle: assign at most one user per free channel and at most one
channel per user so that the sum of the weights w[n, k] = log2(1 + beta[n, k])
is maximal.

Two exact solvers:

* :func:`subset_matching_table` (K small, default K <= 12): a dynamic programme
  over users and subsets of channels, vectorised over a batch of episodes. One
  pass gives the optimal assignment for *every* set of free channels, which
  suits the oracle: beta is fixed within an episode and only the PU-free set
  changes from slot to slot. Cost O(B * N * K * 2^K).
* :func:`hungarian` (any size): the shortest-augmenting-path Hungarian method
  (Kuhn-Munkres with potentials, Jonker-Volgenant style), O(n^2 m) for one
  n x m problem, used for large K.

Both treat weights as non-negative (rates are), so an optimal matching may be
taken of maximal cardinality min(N, #free channels).
"""

from __future__ import annotations

from itertools import product

import numpy as np

#: Largest K for which the oracle uses the subset dynamic programme.
MAX_SUBSET_CHANNELS = 12


def subset_matching_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Optimal assignments for every subset of available channels.

    Args:
        weights: float [B, N, K], non-negative.

    Returns:
        (actions, values): ``actions`` int64 [B, 2**K, N] where
        ``actions[b, F, n]`` is user n's channel in 1..K (0 = idle) in an
        optimal matching that uses only channels in the bit set F (bit k-1 set
        = channel k available); ``values`` float [B, 2**K] the optimal sums.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 3:
        raise ValueError(f"weights must have shape [B, N, K], got {w.shape}")
    B, N, K = w.shape
    M = 1 << K
    masks = np.arange(M)
    # dp[b, S]: best value of users seen so far using exactly the channel set S.
    dp = np.full((B, M), -np.inf)
    dp[:, 0] = 0.0
    choice = np.zeros(
        (N, B, M), dtype=np.int8
    )  # channel (1..K) user n took in dp's optimum, 0 idle
    for n in range(N):
        new = dp.copy()
        ch = np.zeros((B, M), dtype=np.int8)
        for k in range(K):
            with_k = masks[(masks >> k) & 1 == 1]
            cand = dp[:, with_k ^ (1 << k)] + w[:, n, k : k + 1]
            better = cand > new[:, with_k]
            new[:, with_k] = np.where(better, cand, new[:, with_k])
            ch[:, with_k] = np.where(better, k + 1, ch[:, with_k])
        dp = new
        choice[n] = ch
    # best over subsets: best[F] = max_{S subset of F} dp[S] (subset-max transform)
    best = dp.copy()
    arg = np.broadcast_to(masks, (B, M)).copy()
    for k in range(K):
        with_k = masks[(masks >> k) & 1 == 1]
        cand = best[:, with_k ^ (1 << k)]
        better = cand > best[:, with_k]
        best[:, with_k] = np.where(better, cand, best[:, with_k])
        arg[:, with_k] = np.where(better, arg[:, with_k ^ (1 << k)], arg[:, with_k])
    # backtrack every (b, F) at once
    actions = np.zeros((B, M, N), dtype=np.int64)
    S = arg
    for n in range(N - 1, -1, -1):
        c = np.take_along_axis(choice[n], S, axis=1).astype(np.int64)
        actions[:, :, n] = c
        S = np.where(c > 0, S ^ (1 << np.maximum(c - 1, 0)), S)
    return actions, best


def hungarian(weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Maximum-weight matching of one N x K weight matrix (non-negative weights).

    Returns (assignment, value): ``assignment`` int64 [N], user n's column
    index in 0..K-1 or -1 when unmatched; ``value`` the matched weight sum.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D matrix, got shape {w.shape}")
    n_rows, n_cols = w.shape
    if n_rows == 0 or n_cols == 0:
        return np.full(n_rows, -1, dtype=np.int64), 0.0
    transposed = n_rows > n_cols
    cost = -(w.T if transposed else w)  # rows <= cols, minimise cost
    n, m = cost.shape
    # 1-based potentials and matching as in the classical O(n^2 m) formulation
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    p = np.zeros(m + 1, dtype=np.int64)  # p[j]: row matched to column j (0 = none)
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            free = ~used[1:]
            cur = cost[i0 - 1] - u[i0] - v[1:]
            upd = free & (cur < minv[1:])
            minv[1:][upd] = cur[upd]
            way[1:][upd] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:  # augment along the alternating path
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    row_to_col = np.full(n, -1, dtype=np.int64)
    for j in range(1, m + 1):
        if p[j]:
            row_to_col[p[j] - 1] = j - 1
    if transposed:
        assignment = np.full(n_rows, -1, dtype=np.int64)
        for col_as_row, user in enumerate(row_to_col):
            assignment[user] = col_as_row
    else:
        assignment = row_to_col
    matched = assignment >= 0
    value = float(w[np.nonzero(matched)[0], assignment[matched]].sum())
    return assignment, value


def brute_force_matching(weights: np.ndarray) -> float:
    """Optimal value by enumerating every assignment (tests only; tiny N, K)."""
    w = np.asarray(weights, dtype=np.float64)
    N, K = w.shape
    best = 0.0
    for actions in product(range(K + 1), repeat=N):
        used = [a for a in actions if a > 0]
        if len(used) != len(set(used)):
            continue
        best = max(best, sum(w[n, a - 1] for n, a in enumerate(actions) if a > 0))
    return best
