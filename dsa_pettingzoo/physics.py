"""Pure, vectorised physics of the DSA system (Section II of the paper).

Every function works on arrays with any leading batch dimensions ``...`` (for instance
``[B]`` episodes) followed by the user axis ``N`` and/or the channel axis ``K``. Nothing here
holds state or touches a global random generator: random draws take an explicit
``np.random.Generator``.

Conventions
-----------
* action a in {0, ..., K}: 0 = stay idle, k = transmit on channel k (1-based, as in the paper).
* feedback o in {-2, -1, 0, 1}: 0 idle, 1 ACK (alone on a PU-free channel), -1 NACK (two or more
  users on the channel), -2 the channel is occupied by a primary user (whatever the others do).
* beta[n, k-1] is the linear SNR of user n on channel k; the own rate is log2(1 + beta) on ACK.
"""

from __future__ import annotations

import functools

import numpy as np

PU_BLOCKED, NACK, IDLE, ACK = -2, -1, 0, 1
#: Feedback values in the order of their one-hot encoding.
FEEDBACK_VALUES = (PU_BLOCKED, NACK, IDLE, ACK)
NUM_FEEDBACK = len(FEEDBACK_VALUES)


# ----------------------------------------------------------------------------- collisions
# Inputs are assumed valid (actions in 0..K); the simulators validate before calling.
def _flat_index(a: np.ndarray, width: int) -> np.ndarray:
    """a [..., N] with values in 0..width-1 -> indices into a flattened [prod(...), width] array."""
    lead = a.shape[:-1]
    rows = np.arange(int(np.prod(lead, dtype=np.int64))).reshape(lead + (1,))
    return a + rows * width


def channel_load(actions: np.ndarray, num_channels: int) -> np.ndarray:
    """Number of users choosing each action value: int [..., K+1] (column 0 counts idle users)."""
    a = np.asarray(actions)
    width = num_channels + 1
    idx = _flat_index(a, width)
    M = int(np.prod(a.shape[:-1], dtype=np.int64))
    return np.bincount(idx.ravel(), minlength=M * width).reshape(a.shape[:-1] + (width,))


def feedback(actions: np.ndarray, pu_busy: np.ndarray | None, num_channels: int) -> np.ndarray:
    """Feedback o_t^n (Section II) for actions int [..., N] and PU occupancy bool [..., K] or None.

    o = 0 if a = 0; -2 if channel a is PU-occupied; 1 if user n is alone on channel a; else -1.
    Returns int8 [..., N].
    """
    a = np.asarray(actions)
    load = channel_load(a, num_channels)  # [..., K+1]
    code = np.where(load == 1, ACK, NACK).astype(np.int8)  # outcome of each channel
    if pu_busy is not None:
        code[..., 1:][np.asarray(pu_busy, dtype=bool)] = PU_BLOCKED
    code[..., 0] = IDLE
    return np.take(code.reshape(-1), _flat_index(a, num_channels + 1))


# ----------------------------------------------------------------------------- rates
def rate_table(beta: np.ndarray) -> np.ndarray:
    """log2(1 + beta) with a zero column for the idle action: float64 [..., N, K+1]."""
    beta = np.asarray(beta, dtype=np.float64)
    table = np.zeros(beta.shape[:-1] + (beta.shape[-1] + 1,))
    table[..., 1:] = np.log2(1.0 + beta)
    return table


def own_rates(actions: np.ndarray, fb: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Own achieved rate log2(1 + beta^n(t)) with beta^n(t) = beta_{a}^n 1{o = 1} (eq. 1): [..., N]."""
    a = np.asarray(actions)
    r = np.take(
        np.ascontiguousarray(table).reshape(-1), _flat_index(a[..., None], table.shape[-1])[..., 0]
    )
    return np.where(np.asarray(fb) == ACK, r, 0.0)


# ----------------------------------------------------------------------------- rewards
def reward_sum_rate(rates: np.ndarray) -> np.ndarray:
    """The paper's reward r_t^n = sum_m log2(1 + beta^m(t)), the same for every user: [..., N]."""
    total = rates.sum(axis=-1, keepdims=True)
    return np.broadcast_to(total, rates.shape).copy()


def reward_individual(rates: np.ndarray) -> np.ndarray:
    """r_t^n = log2(1 + beta^n(t)), each user its own rate: [..., N]."""
    return np.array(rates, dtype=np.float64, copy=True)


def reward_difference(
    actions: np.ndarray, fb: np.ndarray, table: np.ndarray, rates: np.ndarray
) -> np.ndarray:
    """Difference reward r_t^n = G_t - G_t^{-n}: user n's marginal contribution to the sum rate.

    G_t = sum_m rates_t^m and G_t^{-n} is the sum rate of the same slot with user n idle
    (Wolpert & Tumer 2002; Agogino & Tumer 2004). With collisions it has three cases:
    n alone on a free channel -> its own rate; n on a free channel with exactly one other
    user m -> -log2(1 + beta_a^m) (without n, m would have been alone); otherwise (idle,
    PU-blocked, or three or more on the channel) -> 0. G_t^{-n} does not depend on n's
    action, so any change of n's action changes r_t^n and G_t by the same amount.
    ``actions`` int [..., N], ``fb`` its feedback, ``table`` :func:`rate_table` [..., N, K+1],
    ``rates`` :func:`own_rates`; returns float64 [..., N].
    """
    a = np.asarray(actions)
    width = table.shape[-1]
    own = np.take(np.ascontiguousarray(table).reshape(-1), _flat_index(a[..., None], width)[..., 0])
    idx = _flat_index(a, width)
    M = int(np.prod(a.shape[:-1], dtype=np.int64))
    on_channel = np.bincount(idx.ravel(), weights=own.ravel(), minlength=M * width)
    load = np.bincount(idx.ravel(), minlength=M * width)
    partner = np.take(on_channel, idx) - own  # the other users' rates on n's channel
    pair = (np.asarray(fb) == NACK) & (np.take(load, idx) == 2)
    return np.asarray(rates, dtype=np.float64) - np.where(pair, partner, 0.0)


def reward_proportional_fair(rates: np.ndarray, throughput_before: np.ndarray):
    """Shared proportional-fairness reward; returns (rewards [..., N], throughput_after [..., N]).

    With S_t^m = sum_{tau <= t} rate_tau^m the cumulative throughput of user m,
    r_t^n = sum_m [ln(1 + S_t^m) - ln(1 + S_{t-1}^m)], so the episode return telescopes to
    sum_m ln(1 + S_T^m): the proportional-fairness utility of the users' throughputs. A unit of
    rate is worth about 1 / (1 + S^m) to user m, so starving users weigh most.
    """
    after = throughput_before + rates
    gain = (np.log1p(after) - np.log1p(throughput_before)).sum(axis=-1, keepdims=True)
    return np.broadcast_to(gain, rates.shape).copy(), after


# ----------------------------------------------------------------------------- primary users
def markov_transition_probs(pu_prob: np.ndarray, mean_busy: np.ndarray):
    """Transition probabilities (p_busy_to_free, p_free_to_busy) of the on/off PU chain, each [K].

    A busy run lasts Geometric(p_bf) slots, mean D = 1 / p_bf. The stationary occupancy
    p_fb / (p_fb + p_bf) equals pi when p_fb = pi / (D (1 - pi)) (needs D >= pi / (1 - pi)).
    pi = 1 gives an always-busy channel (p_bf = 0), pi = 0 a never-busy one.
    """
    pi = np.asarray(pu_prob, dtype=np.float64)
    D = np.asarray(mean_busy, dtype=np.float64)
    always = pi >= 1.0
    p_bf = np.where(always, 0.0, 1.0 / D)
    p_fb = np.where(always, 1.0, pi / (D * np.where(always, 1.0, 1.0 - pi)))
    return p_bf, np.clip(p_fb, 0.0, 1.0)


def pu_occupancy_iid(u: np.ndarray, pu_prob: np.ndarray) -> np.ndarray:
    """Occupancy bool [..., T, K] from uniforms u in [0, 1): busy = u < pi_k, independent per slot."""
    return u < np.asarray(pu_prob)


def pu_occupancy_markov(u: np.ndarray, pu_prob: np.ndarray, mean_busy: np.ndarray) -> np.ndarray:
    """Occupancy bool [..., T, K] of the stationary two-state chain driven by uniforms u [..., T, K].

    Slot 1 is drawn from the stationary law (busy = u < pi); afterwards a busy channel stays busy
    when u >= p_bf and a free channel becomes busy when u < p_fb.
    """
    p_bf, p_fb = markov_transition_probs(pu_prob, mean_busy)
    busy = np.empty(u.shape, dtype=bool)
    busy[..., 0, :] = u[..., 0, :] < np.asarray(pu_prob)
    for t in range(1, u.shape[-2]):
        busy[..., t, :] = np.where(busy[..., t - 1, :], u[..., t, :] >= p_bf, u[..., t, :] < p_fb)
    return busy


def pu_occupancy(u: np.ndarray, config) -> np.ndarray:
    """Occupancy bool [..., T, K] for a config's PU model from uniforms u [..., T, K]."""
    if config.pu_model == "markov":
        return pu_occupancy_markov(u, config.pu_prob_array, np.asarray(config.pu_mean_busy))
    return pu_occupancy_iid(u, config.pu_prob_array)


# ----------------------------------------------------------------------------- randomness of one episode
def draw_episode(rng: np.random.Generator, config):
    """All the randomness of one episode, drawn at reset with ONE call ``rng.random(n)``.

    Returns (beta float64 [N, K], u float64 [T, K] or None). The first N*K uniforms give
    beta = low + (high - low) * u, i.e. beta ~ U[snr_range] (skipped when a fixed ``snr`` matrix is
    configured); the next T*K uniforms drive the PU occupancy (only when primary users are
    simulated). The ParallelEnv and the batched simulator both call this, so a seed gives the
    same episode in both.
    """
    N, K, T = config.num_users, config.num_channels, config.horizon
    n_snr = N * K if config.snr is None else 0
    n_pu = T * K if config.has_pu else 0
    x = rng.random(n_snr + n_pu)
    if config.snr is None:
        low, high = config.snr_range
        beta = low + (high - low) * x[:n_snr].reshape(N, K)
    else:
        beta = config.snr_matrix.copy()
    u = x[n_snr:].reshape(T, K) if config.has_pu else None
    return beta, u


# ----------------------------------------------------------------------------- encodings
def observation_dim(num_channels: int, with_rate: bool) -> int:
    """Length of an observation: (K+1) one-hot action + 4 one-hot feedback (+1 rate)."""
    return num_channels + 1 + NUM_FEEDBACK + int(with_rate)


#: Largest K whose observations are gathered from a cached table of every (action, feedback)
#: code: for small K a row gather beats writing ones, but the table holds 4 (K+1) (K+5) floats,
#: O(K^2), so above this (1 MB) the ones are written directly, O(N K) whatever K.
MAX_TABLE_CHANNELS = 256


@functools.lru_cache(maxsize=64)
def _observation_table(num_channels: int, with_rate: bool) -> np.ndarray:
    """One-hot code of every (action, feedback) pair: row a * 4 + (o + 2), float32 [(K+1)*4, D]."""
    D = observation_dim(num_channels, with_rate)
    table = np.zeros((num_channels + 1, NUM_FEEDBACK, D), dtype=np.float32)
    for a in range(num_channels + 1):
        table[a, :, a] = 1.0
        for j in range(NUM_FEEDBACK):
            table[a, j, num_channels + 1 + j] = 1.0
    table.setflags(write=False)
    return table.reshape(-1, D)


def _ones_at(shape, width: int, *columns) -> np.ndarray:
    """float32 [*shape, width] of zeros with a 1 at each ``columns`` array's [*shape] entries."""
    out = np.zeros(tuple(shape) + (width,), dtype=np.float32)
    base = np.arange(0, out.size, width, dtype=np.intp).reshape(shape)
    flat = out.reshape(-1)
    for col in columns:
        flat[base + col] = 1.0
    return out


def encode_observation(
    last_action, last_feedback, last_rate_norm, num_channels: int, with_rate: bool
) -> np.ndarray:
    """y_t^n = [a_{t-1}^n, o_{t-1}^n] (eq. 2) as float32 [..., N, D] of one-hots (+ rate in [0, 1]).

    D = (K+1) one-hot action (index 0 idle) + 4 one-hot feedback in the order (-2, -1, 0, 1)
    (+ 1: the last own rate normalised into [0, 1], when ``with_rate``).
    """
    a, o = np.asarray(last_action), np.asarray(last_feedback)
    if num_channels <= MAX_TABLE_CHANNELS:
        code = a * NUM_FEEDBACK + (o + 2)
        obs = np.take(_observation_table(num_channels, with_rate), code, axis=0)
    else:  # feedback o = -2 .. 1 in columns K+1 .. K+4
        obs = _ones_at(
            a.shape,
            observation_dim(num_channels, with_rate),
            a,
            o.astype(np.intp) + (num_channels + 3),
        )
    if with_rate:
        obs[..., -1] = last_rate_norm
    return obs


def state_dim(num_users: int, num_channels: int) -> int:
    """Length of the global state (see :func:`encode_state`)."""
    N, K = num_users, num_channels
    return N * (K + 1) + N * NUM_FEEDBACK + N + 2 * K + N * K + 1


def encode_state(
    last_action,
    last_feedback,
    last_rate_norm,
    pu_busy_last,
    pu_busy_next,
    rate_norm,
    t_frac,
    num_channels: int,
) -> np.ndarray:
    """Global state for centralised critics, float32 [..., S] with every entry in [0, 1].

    Concatenation of: all users' one-hot last actions [N*(K+1)], one-hot last feedback [N*4],
    normalised last rates [N], PU occupancy of the last played slot [K] and of the next slot [K],
    normalised rate table log2(1 + beta) / max_rate [N*K], and the elapsed fraction t / T [1].
    """
    a = np.asarray(last_action)
    lead = a.shape[:-1]
    parts = [
        _ones_at(a.shape, num_channels + 1, a).reshape(lead + (-1,)),
        _ones_at(a.shape, NUM_FEEDBACK, np.asarray(last_feedback, dtype=np.intp) + 2).reshape(
            lead + (-1,)
        ),
        np.asarray(last_rate_norm, dtype=np.float32),
        np.asarray(pu_busy_last, dtype=np.float32),
        np.asarray(pu_busy_next, dtype=np.float32),
        np.asarray(rate_norm, dtype=np.float32).reshape(lead + (-1,)),
        np.broadcast_to(np.asarray(t_frac, dtype=np.float32), lead)[..., None],
    ]
    return np.concatenate(parts, axis=-1)
