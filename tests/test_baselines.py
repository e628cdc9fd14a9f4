"""Tests of dsa_pettingzoo.baselines: hand-derived expectations, oracle optimality, decentralization.

Statistical tolerances are 5 standard errors computed from the samples themselves (or from a
stated bound); every run uses fixed seeds, so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

import dsa_pettingzoo
from dsa_pettingzoo.baselines import (
    POLICIES,
    AlohaPolicy,
    MusicalChairsPolicy,
    OCAPolicy,
    aloha_expected_successes,
    make_policy,
    play_parallel_episode,
)
from dsa_pettingzoo.baselines import oracle as oracle_module
from dsa_pettingzoo.baselines.matching import brute_force_matching, hungarian, subset_matching_table
from dsa_pettingzoo.batched import BatchedDSA
from dsa_pettingzoo.config import make_config
from dsa_pettingzoo.evaluation import evaluate_policy, play_episodes

DECENTRALIZED = [
    "random",
    "aloha",
    "oca",
    "musical_chairs",
    "musical_chairs_rss",
    "mctopm",
    "randtopm",
    "game_of_thrones",
]
#: The decentralized policies whose actions depend on their feedback.
LEARNING = ["oca", "musical_chairs", "musical_chairs_rss", "mctopm", "randtopm", "game_of_thrones"]


def mean_rate(low: float, high: float) -> float:
    """E[log2(1 + beta)] for beta ~ U[low, high], from the antiderivative (1+x)(ln(1+x) - 1)."""
    F = lambda x: (1 + x) * (np.log1p(x) - 1) / np.log(2)  # noqa: E731
    return (F(high) - F(low)) / (high - low)


def successes_per_slot(stats) -> np.ndarray:
    """Per-episode mean number of ACKs per slot."""
    return stats.successes.sum(axis=1) / stats.horizon


# ----------------------------------------------------------------------------- registry, inputs
def test_registry_and_bad_parameters():
    assert set(POLICIES) == {"oracle", *DECENTRALIZED}
    with pytest.raises(ValueError, match="allowed"):
        make_policy("greedy")
    with pytest.raises(ValueError, match="aloha p"):
        AlohaPolicy(p=1.5)
    with pytest.raises(ValueError, match="oca eta"):
        OCAPolicy(eta=0.0)
    with pytest.raises(ValueError, match="oca epsilon"):
        OCAPolicy(epsilon=-0.1)
    with pytest.raises(ValueError, match="patience"):
        MusicalChairsPolicy(patience=0)
    with pytest.raises(ValueError, match="num_envs"):
        make_policy("aloha").reset(make_config(setup="A"), 0, np.random.default_rng(0))


@pytest.mark.parametrize("name", list(POLICIES))
def test_actions_have_shape_dtype_and_range(name):
    sim = BatchedDSA(6, num_users=4, num_channels=3, horizon=15, pu_prob=0.3)
    sim.reset(seed=0)
    policy = make_policy(name)
    policy.reset(sim.config, 6, np.random.default_rng(0))
    for _ in range(15):
        a = np.asarray(policy.act(sim if policy.privileged else None))
        assert a.shape == (6, 4) and a.dtype.kind == "i"
        assert a.min() >= 0 and a.max() <= 3
        _, _, _, _, info = sim.step(a)
        policy.update(a, info["feedback"], info["rates"])


# ----------------------------------------------------------------------------- ALOHA and random
@pytest.mark.parametrize(
    "num_users, num_channels, p, pu",
    [(10, 5, 0.5, None), (4, 3, 0.3, 0.25), (6, 2, 0.9, None)],
)
def test_aloha_expected_successes_per_slot(num_users, num_channels, p, pu):
    """E[successes/slot] = K * N * (p/K) * (1 - p/K)^(N-1) * (1 - pi): a channel carries a
    success when exactly one of the N users transmits on it (each does w.p. p/K) and no PU
    holds it.

    Episodes are iid, so the standard error of the mean is the spread of the per-episode
    means over sqrt(E). Tolerance: 5 of those.
    """
    episodes, horizon = 1000, 100
    stats = evaluate_policy(
        AlohaPolicy(p=p),
        episodes,
        seed=1,
        num_users=num_users,
        num_channels=num_channels,
        horizon=horizon,
        pu_prob=pu,
    )
    q = p / num_channels
    mu = num_channels * num_users * q * (1 - q) ** (num_users - 1) * (1 - (pu or 0.0))
    assert aloha_expected_successes(num_users, num_channels, p, pu or 0.0) == pytest.approx(
        mu, rel=1e-12
    )
    per_episode = successes_per_slot(stats)
    sem = per_episode.std(ddof=1) / np.sqrt(episodes)
    assert abs(per_episode.mean() - mu) < 5 * sem


def test_aloha_default_p_is_K_over_N():
    policy = AlohaPolicy()
    policy.reset(make_config(num_users=8, num_channels=2), 1, np.random.default_rng(0))
    assert policy.p == 0.25
    policy.reset(make_config(num_users=2, num_channels=8), 1, np.random.default_rng(0))
    assert policy.p == 1.0


@pytest.mark.parametrize("setup, pi", [("A", 0.0), ("B", 0.2)])
def test_aloha_half_episode_reward_matches_hand_derivation(setup, pi):
    """Setup A, p = 0.5: 5 * 0.9^9 successes per slot (= 1.9371) times E[log2(1 + U[30, 40])]
    (= 5.1653) times T = 100 slots = 1000.56 (the paper reports 993.77); setup B multiplies by
    1 - pi = 0.8: 800.45 (the paper reports 764.10). Success events are independent of the
    SNR values, so E[reward] = T * E[successes] * E[rate]. Tolerance: 5 standard errors."""
    expected = 100 * 5 * 0.9**9 * mean_rate(30.0, 40.0) * (1 - pi)
    assert expected == pytest.approx(1000.56 * (1 - pi), abs=0.01)  # the derivation itself
    stats = evaluate_policy(AlohaPolicy(p=0.5), 2000, seed=2, setup=setup)
    sem = stats.reward.std(ddof=1) / np.sqrt(len(stats.reward))
    assert abs(stats.reward.mean() - expected) < 5 * sem


def test_random_policy_expected_successes():
    """Uniform over 0..K: each user is on a given channel w.p. q = 1/(K+1), so
    E[successes/slot] = K * N * q * (1 - q)^(N-1) * (1 - pi); tolerance 5 standard errors of
    the per-episode means, as for ALOHA."""
    for kwargs, pi in [
        (dict(setup="A"), 0.0),
        (dict(num_users=3, num_channels=4, pu_prob=0.5), 0.5),
    ]:
        stats = evaluate_policy(make_policy("random"), 1000, seed=3, **kwargs)
        config = make_config(**kwargs)
        N, K = config.num_users, config.num_channels
        q = 1 / (K + 1)
        mu = K * N * q * (1 - q) ** (N - 1) * (1 - pi)
        per_episode = successes_per_slot(stats)
        assert abs(per_episode.mean() - mu) < 5 * per_episode.std(ddof=1) / np.sqrt(1000)


# ----------------------------------------------------------------------------- matching and oracle
def test_matching_solvers_equal_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(80):
        N, K = rng.integers(1, 5, size=2)
        w = rng.uniform(0, 6, size=(N, K)) * (rng.random((N, K)) < 0.8)  # some zero weights
        best = brute_force_matching(w)
        assignment, value = hungarian(w)
        assert value == pytest.approx(best, abs=1e-9)
        cols = assignment[assignment >= 0]
        assert len(set(cols.tolist())) == len(cols)  # one user per channel
        actions, values = subset_matching_table(w[None])
        for free_set in range(1 << K):
            free = [k for k in range(K) if free_set >> k & 1]
            assert values[0, free_set] == pytest.approx(
                brute_force_matching(w[:, free]) if free else 0.0, abs=1e-9
            )
            a = actions[0, free_set]
            used = a[a > 0]
            assert len(set(used.tolist())) == len(used)
            assert all(free_set >> (k - 1) & 1 for k in used)  # only free channels
            assert sum(w[n, k - 1] for n, k in enumerate(a) if k > 0) == pytest.approx(
                values[0, free_set]
            )


def test_oracle_equals_brute_force_every_slot():
    sim = BatchedDSA(5, num_users=3, num_channels=3, horizon=30, pu_prob=0.4)
    sim.reset(seed=11)
    oracle = make_policy("oracle")
    oracle.reset(sim.config, 5, np.random.default_rng(0))
    weights = np.log2(1 + sim.beta)
    for _ in range(30):
        free = ~sim.pu_busy_next
        a = oracle.act(sim)
        _, _, _, _, info = sim.step(a)
        assert not np.any(info["feedback"] < 0)  # never a collision nor a PU-blocked attempt
        for b in range(5):
            best = brute_force_matching(weights[b][:, free[b]]) if free[b].any() else 0.0
            assert info["rates"][b].sum() == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("num_channels", [4, 13])
def test_oracle_hungarian_path_equals_subset_path(monkeypatch, num_channels):
    kwargs = dict(num_users=3, num_channels=num_channels, horizon=8, pu_prob=0.3)
    seeds = [0, 1, 2]
    monkeypatch.setattr(oracle_module, "MAX_SUBSET_CHANNELS", 13)
    dp = play_episodes(
        make_policy("oracle"), BatchedDSA(3, **kwargs), seeds, np.random.default_rng(0)
    )
    monkeypatch.setattr(oracle_module, "MAX_SUBSET_CHANNELS", 0)
    hu = play_episodes(
        make_policy("oracle"), BatchedDSA(3, **kwargs), seeds, np.random.default_rng(0)
    )
    np.testing.assert_allclose(dp.reward, hu.reward, rtol=1e-12)


def test_oracle_upper_bounds_every_policy_on_the_same_episodes():
    oracle = evaluate_policy(make_policy("oracle"), 64, seed=4, setup="B")
    for name in DECENTRALIZED:
        stats = evaluate_policy(make_policy(name), 64, seed=4, setup="B")
        assert np.all(stats.reward <= oracle.reward + 1e-9), name


def test_oracle_needs_the_simulator():
    policy = make_policy("oracle")
    policy.reset(make_config(setup="A"), 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="simulator"):
        policy.act(None)


# ----------------------------------------------------------------------------- learning baselines
def test_oca_and_musical_chairs_beat_aloha_in_setup_a():
    """Measured on 1000 episodes (docs/baselines.md): ALOHA ~998, OCA ~1112, musical chairs ~2209.
    The margins (50 and 800) are over 10 standard errors of the differences at 400 episodes."""
    means = {
        name: evaluate_policy(make_policy(name), 400, seed=5, setup="A").reward.mean()
        for name in ("aloha", "oca", "musical_chairs")
    }
    assert means["oca"] > means["aloha"] + 50
    assert means["musical_chairs"] > means["aloha"] + 800


def test_oca_update_and_greedy_choice_by_hand():
    config = make_config(num_users=1, num_channels=3)
    policy = OCAPolicy(p_tx=1.0, epsilon=0.0, eta=0.1, theta0=0.5)
    policy.reset(config, 1, np.random.default_rng(0))
    a = np.array([[2]])
    policy.update(a, np.array([[1]], np.int8), np.array([[5.0]]))  # ACK on channel 2, rate 5
    np.testing.assert_allclose(policy.theta[0, 0], [0.5, 0.55, 0.5])
    # untried channels valued at the best rate seen (5): 0.5 * 5 < 0.55 * 5
    assert all(policy.act()[0, 0] == 2 for _ in range(5))
    policy.update(a, np.array([[-1]], np.int8), np.array([[0.0]]))  # collision: 0.55 -> 0.495
    assert policy.theta[0, 0, 1] == pytest.approx(0.495)
    assert {int(policy.act()[0, 0]) for _ in range(30)} == {1, 3}  # 2.5 > 2.475: leaves channel 2


def test_musical_chairs_rule_by_hand():
    config = make_config(num_users=2, num_channels=2)
    mc = MusicalChairsPolicy(backoff=0.5, q_min=0.1, patience=2)
    mc.reset(config, 1, np.random.default_rng(0))
    # user 0 ACK on channel 2 -> seated; user 1 collides on channel 1 -> remembers it
    mc.update(np.array([[2, 1]]), np.array([[1, -1]], np.int8), np.zeros((1, 2)))
    assert mc.chair.tolist() == [[2, 0]] and mc.collided[0, 1].tolist() == [True, False]
    a = mc.act()
    assert a[0, 0] == 2 and a[0, 1] == 2  # q = 1: user 1 tries the channel it has not collided on
    # a PU-blocked slot is not a strike; two consecutive collisions unseat user 0
    mc.update(np.array([[2, 2]]), np.array([[-2, -2]], np.int8), np.zeros((1, 2)))
    assert mc.strikes[0, 0] == 0 and mc.chair[0, 0] == 2
    mc.update(np.array([[2, 2]]), np.array([[-1, -1]], np.int8), np.zeros((1, 2)))
    assert mc.strikes[0, 0] == 1 and mc.collided[0, 1].all()
    mc.act()  # user 1 has collided on every channel: cleared, q halves
    assert mc.q[0, 1] == 0.5 and not mc.collided[0, 1].any()
    mc.update(np.array([[2, 0]]), np.array([[-1, 0]], np.int8), np.zeros((1, 2)))
    assert mc.chair[0, 0] == 0  # patience 2 reached


@pytest.mark.parametrize("num_users, num_channels", [(4, 6), (5, 5), (8, 8)])
def test_musical_chairs_converges_to_orthogonal_allocation(num_users, num_channels):
    """N <= K, no PUs: at the end every user is seated on its own channel and gets an ACK."""
    B, T = 200, 300
    sim = BatchedDSA(B, num_users=num_users, num_channels=num_channels, horizon=T)
    sim.reset(seed=6)
    mc = MusicalChairsPolicy()
    mc.reset(sim.config, B, np.random.default_rng(6))
    for _ in range(T):
        a = mc.act()
        _, _, _, _, info = sim.step(a)
        mc.update(a, info["feedback"], info["rates"])
    assert np.all(info["feedback"] == 1)
    assert all(len(set(chairs)) == num_users for chairs in mc.chair.tolist())


def test_musical_chairs_with_more_users_than_channels_seats_k_users():
    B = 200
    sim = BatchedDSA(B, setup="A")
    sim.reset(seed=7)
    mc = MusicalChairsPolicy()
    mc.reset(sim.config, B, np.random.default_rng(7))
    for _ in range(100):
        a = mc.act()
        _, _, _, _, info = sim.step(a)
        mc.update(a, info["feedback"], info["rates"])
    seated = (mc.chair > 0).sum(axis=1)
    distinct = np.array([len(set(c[c > 0].tolist())) for c in mc.chair])
    assert np.all(seated == distinct)  # never two users on one chair
    assert np.mean(seated == 5) > 0.95


# ----------------------------------------------------------------------------- decentralization
def test_only_the_oracle_is_privileged():
    assert [n for n, cls in POLICIES.items() if cls.privileged] == ["oracle"]


def _closed_loop(name, sim, seed):
    """Play one batch closed-loop; return the actions, feedback and rates of every slot."""
    sim.reset(seed=seed)
    policy = make_policy(name)
    policy.reset(sim.config, sim.num_envs, np.random.default_rng(seed))
    hist = []
    for _ in range(sim.config.horizon):
        a = policy.act(None)
        _, _, _, _, info = sim.step(a)
        policy.update(a, info["feedback"], info["rates"])
        hist.append((a.copy(), info["feedback"].copy(), info["rates"].copy()))
    return hist


def _open_loop(name, config, num_envs, seed, history):
    """Replay a recorded feedback/rate stream to a fresh policy (no simulator); return its actions."""
    policy = make_policy(name)
    policy.reset(config, num_envs, np.random.default_rng(seed))
    actions = []
    for _, fb, rates in history:
        a = policy.act(None)
        policy.update(a, fb, rates)
        actions.append(a.copy())
    return actions


@pytest.mark.parametrize("name", DECENTRALIZED)
def test_decentralized_policies_do_not_read_beta_or_pu_state(name):
    """A decentralized policy's actions are a function of its own random stream and the
    feedback/rates it was given: replaying the recorded stream without any simulator, under a
    config whose SNR matrix and PU probabilities differ, reproduces the actions exactly."""
    kwargs = dict(num_users=4, num_channels=3, horizon=40, pu_prob=0.3)
    sim = BatchedDSA(8, **kwargs)
    history = _closed_loop(name, sim, seed=8)
    other = make_config(
        num_users=4, num_channels=3, horizon=40, pu_prob=0.7, snr=np.full((4, 3), 1000.0)
    )
    replay = _open_loop(name, other, 8, 8, history)
    for (a, _, _), b in zip(history, replay):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", DECENTRALIZED)
def test_users_learn_only_from_their_own_history(name):
    """Flip user m's feedback (ACK <-> collision) in one slot: the other users' actions never
    change; for the learning policies user m's own later actions do change (non-vacuous)."""
    sim = BatchedDSA(16, num_users=4, num_channels=3, horizon=40)
    history = _closed_loop(name, sim, seed=9)
    m, t0 = 1, 3
    perturbed = [(a, fb.copy(), r.copy()) for a, fb, r in history]
    a0, fb0, r0 = perturbed[t0]
    sent = a0[:, m] > 0
    fb0[sent, m] = np.where(fb0[sent, m] == 1, -1, 1)
    r0[sent, m] = np.where(fb0[sent, m] == 1, 5.0, 0.0)
    replay = _open_loop(name, sim.config, 16, 9, perturbed)
    own_changed = False
    for (a, _, _), b in zip(history, replay):
        others = [n for n in range(4) if n != m]
        np.testing.assert_array_equal(a[:, others], b[:, others])
        own_changed |= bool(np.any(a[:, m] != b[:, m]))
    if name in LEARNING:
        assert sent.any() and own_changed


@pytest.mark.parametrize("name", list(POLICIES))
def test_parallel_env_adapter_matches_batched_rollout(name):
    env = dsa_pettingzoo.parallel_env(setup="B", horizon=30)
    via_env = play_parallel_episode(make_policy(name), env, seed=12, policy_seed=4)
    batched = play_episodes(
        make_policy(name), BatchedDSA(1, setup="B", horizon=30), [12], np.random.default_rng(4)
    )
    assert via_env == pytest.approx(batched.reward[0], rel=1e-12)
