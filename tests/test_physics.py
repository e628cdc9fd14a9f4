"""Pure physics: hand-checked examples, property tests of the step rule, statistics of draws.

Statistical tolerances: every check compares a sample mean with its hand-derived value and
allows 5 standard errors (a false failure has probability < 1e-6 under the normal
approximation; the seeds are fixed anyway, so the tests are deterministic).
"""

import math

import numpy as np

import dsa_pettingzoo
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsa_pettingzoo import BatchedDSA, make_config
from dsa_pettingzoo import physics as ph


def naive_step(actions, busy, beta):
    """Section II, one user at a time: the reference the vectorised code must match."""
    o, r = [], []
    for n, a in enumerate(actions):
        if a == 0:
            o.append(0), r.append(0.0)
        elif busy is not None and busy[a - 1]:
            o.append(-2), r.append(0.0)
        elif sum(1 for b in actions if b == a) == 1:
            o.append(1), r.append(math.log2(1 + beta[n][a - 1]))
        else:
            o.append(-1), r.append(0.0)
    return o, r


def mean_log_rate(low, high):
    """E[log2(1 + beta)] for beta ~ U[low, high] (integral of log2(1+x) = ((1+x)ln(1+x) - x)/ln 2)."""
    F = lambda x: ((1 + x) * math.log(1 + x) - (1 + x)) / math.log(2)  # noqa: E731
    return (F(high) - F(low)) / (high - low)


# ----------------------------------------------------------------------------- hand examples
def test_feedback_hand_example():
    # K = 3; users 0,1 collide on ch 1; user 2 alone on ch 2; user 3 idle; user 4 on PU channel 3
    a = np.array([1, 1, 2, 0, 3])
    busy = np.array([False, False, True])
    np.testing.assert_array_equal(ph.feedback(a, busy, 3), [-1, -1, 1, 0, -2])
    # without PUs, user 4 is alone on channel 3
    np.testing.assert_array_equal(ph.feedback(a, None, 3), [-1, -1, 1, 0, 1])
    # two users on a PU channel both see -2 (whatever the others do)
    np.testing.assert_array_equal(ph.feedback(np.array([3, 3]), busy, 3), [-2, -2])
    assert ph.feedback(a, busy, 3).dtype == np.int8


def test_channel_load_counts_idle_in_column_zero():
    a = np.array([[1, 1, 2, 0, 3], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(ph.channel_load(a, 3), [[1, 2, 1, 1], [5, 0, 0, 0]])


def test_rates_and_rewards_hand_example():
    beta = np.array([[3.0, 7.0], [15.0, 1.0], [31.0, 63.0]])  # log2(1+b): 2,3 / 4,1 / 5,6
    table = ph.rate_table(beta)
    np.testing.assert_array_equal(table, [[0, 2, 3], [0, 4, 1], [0, 5, 6]])
    a = np.array([2, 1, 2])  # users 0 and 2 collide on ch 2; user 1 alone on ch 1
    fb = ph.feedback(a, None, 2)
    rates = ph.own_rates(a, fb, table)
    np.testing.assert_array_equal(rates, [0.0, 4.0, 0.0])
    np.testing.assert_array_equal(ph.reward_sum_rate(rates), [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(ph.reward_individual(rates), [0.0, 4.0, 0.0])
    r, after = ph.reward_proportional_fair(rates, np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(r, [math.log(5.0)] * 3)  # only user 1: ln(1+4) - ln(1+0)
    np.testing.assert_array_equal(after, [1.0, 4.0, 2.0])


def test_difference_reward_hand_example():
    # log2(1+b): user 0 -> 2, 3; user 1 -> 4, 1; user 2 -> 5, 6; user 3 -> 1, 1 (K = 2)
    table = ph.rate_table(np.array([[3.0, 7.0], [15.0, 1.0], [31.0, 63.0], [1.0, 1.0]]))
    a = np.array([2, 1, 2, 0])  # users 0 and 2 collide on ch 2, user 1 alone on ch 1, 3 idles
    fb = ph.feedback(a, None, 2)
    d = ph.reward_difference(a, fb, table, ph.own_rates(a, fb, table))
    np.testing.assert_array_equal(
        d, [-6.0, 4.0, -3.0, 0.0]
    )  # without 0, user 2 gets 6; without 2, 0 gets 3
    a = np.array([1, 1, 1, 2])  # three on ch 1: removing one leaves a collision; 3 alone on ch 2
    fb = ph.feedback(a, None, 2)
    np.testing.assert_array_equal(
        ph.reward_difference(a, fb, table, ph.own_rates(a, fb, table)), [0, 0, 0, 1]
    )
    a = np.array(
        [2, 1, 2, 0]
    )  # channel 2 taken by a PU: nobody there succeeds with or without the other
    fb = ph.feedback(a, np.array([False, True]), 2)
    np.testing.assert_array_equal(
        ph.reward_difference(a, fb, table, ph.own_rates(a, fb, table)), [0, 4, 0, 0]
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**32 - 1), st.booleans())
def test_difference_reward_is_the_sum_rate_minus_the_sum_rate_without_the_user(n, k, seed, with_pu):
    """r^n = G(a) - G(a with user n idle), computed by brute force, in a batch of 3 slots."""
    rng = np.random.default_rng(seed)
    table = ph.rate_table(rng.uniform(0.1, 50.0, size=(3, n, k)))
    a = rng.integers(0, k + 1, size=(3, n))
    busy = rng.random((3, k)) < 0.3 if with_pu else None

    def sum_rate(actions):
        fb = ph.feedback(actions, busy, k)
        return ph.own_rates(actions, fb, table).sum(-1)

    fb = ph.feedback(a, busy, k)
    got = ph.reward_difference(a, fb, table, ph.own_rates(a, fb, table))
    for user in range(n):
        without = a.copy()
        without[:, user] = 0
        np.testing.assert_allclose(got[:, user], sum_rate(a) - sum_rate(without), atol=1e-12)


def test_proportional_fair_return_telescopes():
    rng = np.random.default_rng(0)
    rates = rng.uniform(0, 6, size=(50, 4)) * (rng.random((50, 4)) < 0.3)
    S = np.zeros(4)
    total = 0.0
    for t in range(50):
        r, S = ph.reward_proportional_fair(rates[t], S)
        total += r[0]
    assert total == pytest.approx(np.log1p(rates.sum(0)).sum(), rel=1e-12)


def test_reward_registry():
    from dsa_pettingzoo.config import REWARDS as NAMES
    from dsa_pettingzoo.rewards import REWARDS

    from dsa_pettingzoo.rewards import Slot

    rates = np.array([[1.0, 2.0]])
    before = np.array([[3.0, 0.0]])
    slot = Slot(
        np.array([[1, 2]]), np.array([[1, 1]], np.int8), np.array([[[0, 1.0, 5], [0, 4, 2.0]]])
    )
    assert NAMES is REWARDS
    assert tuple(REWARDS) == ("sum_rate", "individual", "proportional_fair", "difference")
    for name, fn in REWARDS.items():
        r, after = fn(rates, before, slot)
        np.testing.assert_array_equal(after, before + rates)
    np.testing.assert_array_equal(REWARDS["sum_rate"](rates, before, slot)[0], [[3.0, 3.0]])
    np.testing.assert_array_equal(REWARDS["individual"](rates, before, slot)[0], [[1.0, 2.0]])
    gain = np.log(5 / 4) + np.log(3 / 1)  # ln(1 + S_t) - ln(1 + S_{t-1}) summed over users
    np.testing.assert_allclose(REWARDS["proportional_fair"](rates, before, slot)[0], [[gain, gain]])
    np.testing.assert_array_equal(
        REWARDS["difference"](rates, before, slot)[0], [[1.0, 2.0]]
    )  # both alone
    with pytest.raises(ValueError, match="reward"):
        dsa_pettingzoo.make_config(reward="nope")


def test_observation_encoding():
    obs = ph.encode_observation(np.array([0, 2]), np.array([0, -2]), np.array([0.0, 0.5]), 3, True)
    assert obs.dtype == np.float32 and obs.shape == (2, 9)
    #                  a: 0  1  2  3 | o: -2 -1  0  1 | rate
    np.testing.assert_array_equal(obs[0], [1, 0, 0, 0, 0, 0, 1, 0, 0])
    np.testing.assert_array_equal(obs[1], [0, 0, 1, 0, 1, 0, 0, 0, 0.5])
    assert ph.encode_observation(np.array([1]), np.array([1]), None, 3, False).shape == (1, 8)


@pytest.mark.parametrize("K", [1, 5, 40])
def test_encodings_without_the_table_are_equal(K, monkeypatch):
    """Above MAX_TABLE_CHANNELS the one-hots are written directly (no O(K^2) table): same arrays."""
    rng = np.random.default_rng(K)
    a, o = rng.integers(0, K + 1, (3, 6)), rng.integers(-2, 2, (3, 6)).astype(np.int8)
    rate = rng.random((3, 6))
    with_table = [ph.encode_observation(a, o, rate, K, w) for w in (False, True)]
    state = ph.encode_state(
        a,
        o,
        rate,
        rng.random((3, K)) < 0.5,
        rng.random((3, K)) < 0.5,
        rng.random((3, 6, K)),
        0.25,
        K,
    )
    monkeypatch.setattr(ph, "MAX_TABLE_CHANNELS", 0)
    for w, expected in zip((False, True), with_table):
        np.testing.assert_array_equal(ph.encode_observation(a, o, rate, K, w), expected)
    np.testing.assert_array_equal(
        state[:, : 6 * (K + 1)].reshape(3, 6, K + 1), with_table[0][..., : K + 1]
    )  # the state's one-hot actions


# ----------------------------------------------------------------------------- properties
@st.composite
def slots(draw):
    B = draw(st.integers(1, 3))
    N = draw(st.integers(1, 7))
    K = draw(st.integers(1, 5))
    actions = np.array(
        draw(st.lists(st.lists(st.integers(0, K), min_size=N, max_size=N), min_size=B, max_size=B))
    )
    busy = np.array(
        draw(st.lists(st.lists(st.booleans(), min_size=K, max_size=K), min_size=B, max_size=B))
    )
    beta = np.array(
        draw(
            st.lists(
                st.lists(
                    st.lists(st.floats(0.01, 1000.0), min_size=K, max_size=K),
                    min_size=N,
                    max_size=N,
                ),
                min_size=B,
                max_size=B,
            )
        )
    )
    use_pu = draw(st.booleans())
    return actions, (busy if use_pu else None), beta, K


@settings(max_examples=150, deadline=None)
@given(slots())
def test_step_rule_matches_reference_and_invariants(case):
    actions, busy, beta, K = case
    fb = ph.feedback(actions, busy, K)
    rates = ph.own_rates(actions, fb, ph.rate_table(beta))
    for b in range(actions.shape[0]):
        o_ref, r_ref = naive_step(list(actions[b]), None if busy is None else busy[b], beta[b])
        np.testing.assert_array_equal(fb[b], o_ref)
        np.testing.assert_allclose(rates[b], r_ref, rtol=1e-12)
        free = K if busy is None else int((~busy[b]).sum())
        acks = actions[b][fb[b] == 1]
        # successes never exceed the free channels, and each ACK is alone on a free channel
        assert len(acks) <= free and len(set(acks.tolist())) == len(acks)
        for n in np.flatnonzero(fb[b] == 1):
            k = actions[b, n]
            assert (actions[b] == k).sum() == 1 and (busy is None or not busy[b, k - 1])
        # idle <=> 0 feedback; rate > 0 <=> ACK
        assert np.all((fb[b] == 0) == (actions[b] == 0))
        assert np.all((rates[b] > 0) == (fb[b] == 1))
    # the sum-rate reward equals the sum of the own rates, for every user
    np.testing.assert_allclose(
        ph.reward_sum_rate(rates), rates.sum(-1, keepdims=True) + 0 * rates, rtol=1e-12
    )


@settings(max_examples=50, deadline=None)
@given(st.floats(0.0, 0.95), st.floats(1.0, 50.0))
def test_markov_chain_has_the_requested_stationary_law(pi, D):
    D = max(D, pi / (1 - pi))
    p_bf, p_fb = ph.markov_transition_probs(np.array([pi]), np.array([D]))
    assert 0 <= p_fb[0] <= 1 and p_bf[0] == pytest.approx(1 / D)
    if pi > 0:
        assert p_fb[0] / (p_fb[0] + p_bf[0]) == pytest.approx(pi, rel=1e-9)


# ----------------------------------------------------------------------------- statistics
def test_draw_episode_order_and_snr_range():
    cfg = make_config(setup="B")
    beta, u = ph.draw_episode(np.random.default_rng(5), cfg)
    x = np.random.default_rng(5).random(50 + 500)
    np.testing.assert_array_equal(beta, 30 + 10 * x[:50].reshape(10, 5))
    np.testing.assert_array_equal(u, x[50:].reshape(100, 5))
    fixed = make_config(num_users=2, num_channels=2, snr=[[1.0, 2.0], [3.0, 4.0]])
    beta, u = ph.draw_episode(np.random.default_rng(0), fixed)
    assert u is None and beta.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_snr_draw_is_uniform_on_the_range():
    sim = BatchedDSA(400, setup="A")
    sim.reset(seed=1)
    b = sim.beta.ravel()  # 20000 draws of U[30, 40]
    assert b.min() >= 30 and b.max() <= 40
    se = (10 / math.sqrt(12)) / math.sqrt(b.size)
    assert abs(b.mean() - 35) < 5 * se


def test_iid_pu_busy_fraction_is_pi():
    pi = np.array([0.0, 0.2, 0.5, 1.0])
    sim = BatchedDSA(200, num_channels=4, num_users=2, pu_prob=pi)
    sim.reset(seed=2)
    occ = sim.pu_occupancy  # [B, T, K]; n = 20000 Bernoulli(pi_k) per channel
    frac = occ.mean(axis=(0, 1))
    n = occ.shape[0] * occ.shape[1]
    tol = 5 * np.sqrt(pi * (1 - pi) / n)  # binomial standard error
    assert np.all(np.abs(frac - pi) <= tol)  # exact for pi = 0 and 1
    # independence over slots: P(busy at 2s and 2s+1) = pi^2 (disjoint pairs are independent)
    pairs = occ[:, 0::2, 2] & occ[:, 1::2, 2]
    assert abs(pairs.mean() - 0.25) < 5 * math.sqrt(0.25 * 0.75 / pairs.size)


def _runs(x, value):
    """Lengths of complete runs of ``value`` in a 1-d bool array (runs touching an end dropped)."""
    d = np.diff(np.concatenate([[False], x == value, [False]]).astype(int))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    keep = (starts > 0) & (ends < len(x))
    return (ends - starts)[keep]


def test_markov_occupancy_and_mean_run_lengths():
    pi, D = 0.3, 4.0
    sim = BatchedDSA(
        40, num_users=2, num_channels=2, horizon=2000, pu_prob=pi, pu_model="markov", pu_mean_busy=D
    )
    sim.reset(seed=3)
    occ = sim.pu_occupancy
    # stationary occupancy: episodes (x channels) are independent, so use their spread
    per_ep = occ.mean(axis=1).ravel()
    assert abs(per_ep.mean() - pi) < 5 * per_ep.std(ddof=1) / math.sqrt(per_ep.size)
    # busy runs are Geometric(1/D) (mean D), free runs Geometric(p_fb) (mean D (1 - pi) / pi);
    # runs cut by an episode end are dropped (bias ~ D / T = 0.2 %, far below the tolerance)
    busy_runs = np.concatenate([_runs(occ[b, :, k], True) for b in range(40) for k in range(2)])
    free_runs = np.concatenate([_runs(occ[b, :, k], False) for b in range(40) for k in range(2)])
    for runs, mean in ((busy_runs, D), (free_runs, D * (1 - pi) / pi)):
        assert abs(runs.mean() - mean) < 5 * runs.std(ddof=1) / math.sqrt(runs.size)
    # the first slot is drawn from the stationary law (80 Bernoulli(pi) draws), not "free"
    first = occ[:, 0, :].ravel()
    assert abs(first.mean() - pi) < 5 * math.sqrt(pi * (1 - pi) / first.size)


def test_markov_matches_iid_when_memoryless():
    # D = 1 / (1 - pi) gives p_bf = 1 - pi and p_fb = pi: the chain is i.i.d. Bernoulli(pi)
    pi = 0.25
    p_bf, p_fb = ph.markov_transition_probs(np.array([pi]), np.array([1 / (1 - pi)]))
    assert p_bf[0] == pytest.approx(1 - pi) and p_fb[0] == pytest.approx(pi)


def test_mean_rate_under_uniform_actions():
    # Uniform actions over {0..K}: P(ACK) = (K/(K+1))^N (choose a channel, nobody else on it),
    # times (1 - pi) with i.i.d. PUs; E[rate | ACK] = E[log2(1 + beta)], beta ~ U[30, 40].
    # Expected episode system throughput = T * N * P(ACK) * E[log2(1 + beta)].
    N, K, T, B = 10, 5, 100, 1000
    for pi, setup in ((0.0, "A"), (0.2, "B")):
        sim = BatchedDSA(B, setup=setup)
        sim.reset(seed=4)
        rng = np.random.default_rng(40)
        done = False
        while not done:
            _, _, term, _, info = sim.step(rng.integers(0, K + 1, size=(B, N)))
            done = term.all()
        ep = info["episode"]["system_throughput"]
        expected = T * N * (K / (K + 1)) ** N * (1 - pi) * mean_log_rate(30, 40)
        assert abs(ep.mean() - expected) < 5 * ep.std(ddof=1) / math.sqrt(B)


def test_aloha_sanity_figure():
    # Slotted ALOHA, p = 0.5 on a uniform channel: expected successes per slot
    # K (N p/K) (1 - p/K)^(N-1); the paper reports 993.77 (setup A) and 764.10 (setup B).
    N, K, T, B, p = 10, 5, 100, 1000, 0.5
    succ = K * (N * p / K) * (1 - p / K) ** (N - 1)
    for pi, setup in ((0.0, "A"), (0.2, "B")):
        sim = BatchedDSA(B, setup=setup)
        sim.reset(seed=6)
        rng = np.random.default_rng(60)
        done = False
        while not done:
            tx = rng.random((B, N)) < p
            _, _, term, _, info = sim.step(np.where(tx, rng.integers(1, K + 1, (B, N)), 0))
            done = term.all()
        ep = info["episode"]["system_throughput"]
        expected = T * succ * (1 - pi) * mean_log_rate(30, 40)  # ~1001 (A), ~801 (B)
        assert abs(ep.mean() - expected) < 5 * ep.std(ddof=1) / math.sqrt(B)


# ----------------------------------------------------------------------------- env step
# Fixed SNR (no draw), no PUs. log2(1 + beta): user 0 -> 2, 3; user 1 -> 4, 1; user 2 -> 5, 6.
STEP_SNR = [[3.0, 7.0], [15.0, 1.0], [31.0, 63.0]]
STEP_ACTIONS = [(1, 2, 0), (2, 2, 1), (1, 1, 1), (2, 0, 1)]
# own rates per slot: both alone (2, 1); users 0 and 1 collide, user 2 alone on ch 1 (5);
# all three collide; user 0 alone on ch 2 (3), user 2 alone on ch 1 (5)
STEP_RATES = [(2, 1, 0), (0, 0, 5), (0, 0, 0), (3, 0, 5)]
# accumulated throughput S_t: (2, 1, 0), (2, 1, 5), (2, 1, 5), (5, 1, 10)
STEP_REWARDS = {
    "sum_rate": [(3,) * 3, (5,) * 3, (0,) * 3, (8,) * 3],  # sum_n r_n, the same for every user
    "individual": STEP_RATES,
    # alone: own rate; a pair's users get minus the other's rate (slot 1: users 0 and 1 on ch 2);
    # three on one channel: 0
    "difference": [(2, 1, 0), (-1, -3, 5), (0, 0, 0), (3, 0, 5)],
    # sum_n ln(1 + S_t,n) - ln(1 + S_t-1,n), the same for every user
    "proportional_fair": [
        (math.log(3) + math.log(2),) * 3,
        (math.log(6),) * 3,
        (0.0,) * 3,
        (math.log(6 / 3) + math.log(11 / 6),) * 3,
    ],
}


@pytest.mark.parametrize("reward", sorted(STEP_REWARDS))
def test_env_step_rewards_follow_their_formulas(reward):
    env = dsa_pettingzoo.parallel_env(
        num_users=3, num_channels=2, horizon=4, snr=STEP_SNR, pu_prob=None, reward=reward
    )
    env.reset(seed=0)
    agents = list(env.agents)
    for t, actions in enumerate(STEP_ACTIONS):
        _, rewards, _, _, infos = env.step(dict(zip(agents, actions)))
        np.testing.assert_allclose(
            [rewards[a] for a in agents],
            STEP_REWARDS[reward][t],
            rtol=1e-12,
            atol=1e-12,
            err_msg=f"slot {t}",
        )
        assert [infos[a]["rate"] for a in agents] == list(STEP_RATES[t])
    assert not env.agents
    assert [infos[a]["throughput"] for a in agents] == [5.0, 1.0, 10.0]
