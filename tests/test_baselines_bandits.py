"""Tests of the multi-player bandit baselines (musical_chairs_rss, mctopm, randtopm,
game_of_thrones): their rules by hand, hand-derived statistics, and parameter checks.

Decentralization is checked with the other baselines in tests/test_baselines.py. Every run
uses fixed seeds, so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from dsa_pettingzoo.baselines import (
    GameOfThronesPolicy,
    MCTopMPolicy,
    MusicalChairsRSSPolicy,
    RandTopMPolicy,
    make_policy,
)
from dsa_pettingzoo.baselines.bandit import (
    OwnRateStats,
    estimate_num_players,
    klucb_index,
    kl_bernoulli,
)
from dsa_pettingzoo.baselines.game_of_thrones import EXPLOIT, EXPLORE, GOT, got_schedule
from dsa_pettingzoo.baselines import study
from dsa_pettingzoo.batched import BatchedDSA
from dsa_pettingzoo.config import make_config


def play(policy, sim, seed):
    """One closed-loop batch; returns the actions of every slot [T, B, N]."""
    sim.reset(seed=seed)
    policy.reset(sim.config, sim.num_envs, np.random.default_rng(seed))
    actions = []
    for _ in range(sim.config.horizon):
        a = policy.act(None)
        _, _, _, _, info = sim.step(a)
        policy.update(a, info["feedback"], info["rates"])
        actions.append(a)
    return np.array(actions), info


@pytest.mark.parametrize(
    "build, match",
    [
        (
            lambda: MusicalChairsRSSPolicy(explore=0),
            "musical_chairs_rss explore must be an integer >= 1",
        ),
        (lambda: MusicalChairsRSSPolicy(explore=2.5), "explore"),
        (lambda: MusicalChairsRSSPolicy(num_players=0), "num_players must be an integer >= 1"),
        (lambda: MCTopMPolicy(index="ucb"), "mctopm index must be one of klucb, ucb1"),
        (lambda: RandTopMPolicy(num_players=-1), "randtopm num_players"),
        (lambda: GameOfThronesPolicy(epsilon=1.0), r"game_of_thrones epsilon must be in \(0, 1\)"),
        (lambda: GameOfThronesPolicy(epsilon=0.0), "game_of_thrones epsilon"),
        (lambda: GameOfThronesPolicy(got=0), "game_of_thrones got must be an integer >= 1"),
        (
            lambda: GameOfThronesPolicy(delta=-1),
            r"game_of_thrones delta must be a number in \[0, 10\]",
        ),
        (lambda: GameOfThronesPolicy(c=0), "game_of_thrones c"),
    ],
)
def test_bad_parameters_name_the_parameter(build, match):
    with pytest.raises(ValueError, match=match):
        build()


# ----------------------------------------------------------------------------- shared pieces
def test_player_estimate_by_hand():
    """Alone with probability (1 - 1/K)^(M-1): K = 5, M = 3 gives 0.64, so 64 ACKs and 36 NACKs
    give 1 + log(0.64)/log(0.8) = 3; never alone or never observed gives K."""
    acks = np.array([[64.0, 100.0, 0.0, 0.0]])
    nacks = np.array([[36.0, 0.0, 10.0, 0.0]])
    assert estimate_num_players(acks, nacks, 5).tolist() == [[3, 1, 5, 5]]


def test_klucb_index_solves_its_equation():
    mean, count = np.array([0.2, 0.5, 1.0, 0.3]), np.array([10.0, 40.0, 5.0, 0.0])
    g = klucb_index(mean, count, t=100)
    np.testing.assert_allclose(count[:2] * kl_bernoulli(mean[:2], g[:2]), np.log(100), rtol=1e-6)
    assert g[2] == 1.0 and g[3] == np.inf


def test_own_rate_stats_samples_by_hand():
    """ACK: the rate; PU-busy: 0; collision: the last ACK rate only with collision_samples."""
    for sensing, count, total in ((False, [2, 0], [4.0, 0.0]), (True, [3, 0], [8.0, 0.0])):
        s = OwnRateStats((1, 1), 2, collision_samples=sensing)
        s.update(np.array([[1]]), np.array([[-1]]), np.array([[0.0]]))  # no ACK yet: never a sample
        s.update(np.array([[1]]), np.array([[1]]), np.array([[4.0]]))
        s.update(np.array([[1]]), np.array([[-2]]), np.array([[0.0]]))
        s.update(np.array([[1]]), np.array([[-1]]), np.array([[0.0]]))
        assert s.count[0, 0].tolist() == count and s.total[0, 0].tolist() == total
        assert s.mean()[0, 0, 0] == pytest.approx(total[0] / count[0] / 4.0)


# ----------------------------------------------------------------------------- musical chairs
@pytest.mark.parametrize("num_users, num_channels", [(4, 6), (5, 5)])
def test_musical_chairs_rss_seats_everyone_alone_with_m_known(num_users, num_channels):
    """N <= K, M = N known: each user has N chairs and only N - 1 others can sit, so a free
    chair always remains; a searcher finds it in a slot with probability >= 1/N * (1 - 1/N)^(N-1)
    (about 0.08 at N = 5), so it is unseated after 80 slots with probability < 1e-2 per user,
    and in practice never (the others are seated early)."""
    B = 200
    sim = BatchedDSA(B, num_users=num_users, num_channels=num_channels, horizon=100)
    mc = MusicalChairsRSSPolicy(explore=20, num_players=num_users)
    _, info = play(mc, sim, seed=1)
    assert np.all(info["feedback"] == 1)
    assert all(len(set(s)) == num_users for s in mc.seat.tolist())


def test_musical_chairs_rss_estimates_m_and_seats_everyone():
    """N = 3, K = 5, T0 = 1000: the alone fraction 0.64 is estimated within about 0.015, so
    M_hat = 1 + round(2 +- 0.07) = 3 for every user; then all sit alone on distinct channels."""
    B = 50
    sim = BatchedDSA(B, num_users=3, num_channels=5, horizon=1100)
    mc = MusicalChairsRSSPolicy(explore=1000)
    _, info = play(mc, sim, seed=2)
    assert np.all(mc.m_hat == 3)
    assert np.all(info["feedback"] == 1)
    assert all(len(set(s)) == 3 for s in mc.seat.tolist())


def test_musical_chairs_rss_single_user_sits_on_its_best_channel():
    """N = 1, no PUs, T0 = 50: every channel is sampled with probability 1 - 5 * 0.8^50 > 0.9999,
    the user is always alone (M_hat = 1), so its one chair is argmax_k beta[k]."""
    B = 100
    sim = BatchedDSA(B, num_users=1, num_channels=5, horizon=60)
    actions, _ = play(MusicalChairsRSSPolicy(explore=50), sim, seed=3)
    best = sim.beta[:, 0].argmax(axis=-1) + 1
    assert np.all(actions[50:, :, 0] == best)


# ----------------------------------------------------------------------------- TopM
@pytest.mark.parametrize("cls", [MCTopMPolicy, RandTopMPolicy])
def test_topm_klucb_single_user_converges_to_best_channel(cls):
    """N = 1, no PUs: rates are deterministic, so after one sample per channel the best one
    has normalised mean 1 and kl-UCB index exactly 1, above every other channel's (a mean
    mu < 1 has index < 1). M_hat = {argmax index}: after the first slots, argmax_k beta[k]."""
    B = 100
    sim = BatchedDSA(B, num_users=1, num_channels=5, horizon=100)
    actions, _ = play(cls(index="klucb"), sim, seed=4)
    best = sim.beta[:, 0].argmax(axis=-1) + 1
    assert np.all(actions[50:, :, 0] == best)


@pytest.mark.parametrize("cls", [MCTopMPolicy, RandTopMPolicy])
def test_topm_ucb1_single_user_converges_to_best_channel(cls):
    """N = 1, SNRs 1, 3, 7, 15, 255: rates 1, 2, 3, 4, 8, normalised gaps Delta >= 0.5. UCB1
    plays channel k again only while Delta_k < sqrt(2 ln t / n_k), i.e. n_k < 2 ln t / Delta_k^2:
    at T = 1000 about 18 + 25 + 35 + 55 = 133 suboptimal slots in all, about 15 of them in the
    last 500. Bound: 90% of the last 500 slots on channel 5."""
    sim = BatchedDSA(
        50, num_users=1, num_channels=5, horizon=1000, snr=[[1.0, 3.0, 7.0, 15.0, 255.0]]
    )
    actions, _ = play(cls(index="ucb1"), sim, seed=4)
    assert np.mean(actions[500:, :, 0] == 5) > 0.9


def _topm(cls, arm, collided, succeeded, sitted, prev_index, best):
    policy = cls()
    policy.reset(make_config(num_users=1, num_channels=4), 1, np.random.default_rng(0))
    policy.arm = np.array([[arm]])
    policy.collided, policy.succeeded = np.array([[collided]]), np.array([[succeeded]])
    policy.sitted = np.array([[sitted]])
    policy.prev_index = np.array([[prev_index]], dtype=float)
    mask = np.zeros((1, 1, 4), dtype=bool)
    mask[0, 0, [k - 1 for k in best]] = True
    draws = {
        int(policy._next(mask, np.random.default_rng(s).random((1, 1, 4)))[0, 0]) for s in range(40)
    }
    return draws, bool(policy.sitted[0, 0])


def test_mctopm_rules_by_hand():
    prev = [0.9, 0.5, 0.7, 0.3]
    # arm 2 left M_hat = {1, 3, 4}: moves to a channel of M_hat whose previous index <= 0.5
    assert _topm(MCTopMPolicy, 2, False, True, True, prev, [1, 3, 4]) == ({4}, False)
    # collision while not sitted: uniform over M_hat
    assert _topm(MCTopMPolicy, 1, True, False, False, prev, [1, 3]) == ({1, 3}, False)
    # collision while sitted: stays, still sitted; an ACK sits
    assert _topm(MCTopMPolicy, 1, True, False, True, prev, [1, 3]) == ({1}, True)
    assert _topm(MCTopMPolicy, 3, False, True, False, prev, [1, 3]) == ({3}, True)
    # a PU-busy slot (neither collision nor ACK) does not sit
    assert _topm(MCTopMPolicy, 3, False, False, False, prev, [1, 3]) == ({3}, False)


def test_randtopm_rules_by_hand():
    prev = [0.9, 0.5, 0.7, 0.3]
    assert _topm(RandTopMPolicy, 1, True, False, True, prev, [1, 3])[0] == {1, 3}  # no chair
    assert _topm(RandTopMPolicy, 2, False, True, False, prev, [1, 3, 4])[0] == {4}
    assert _topm(RandTopMPolicy, 3, False, True, False, prev, [1, 3])[0] == {3}


def test_topm_m_is_min_of_n_and_k():
    for N, K, given, m in ((10, 5, None, 5), (3, 5, None, 3), (3, 5, 4, 4)):
        policy = MCTopMPolicy(num_players=given)
        policy.reset(make_config(num_users=N, num_channels=K), 1, np.random.default_rng(0))
        assert policy.m == m


# ----------------------------------------------------------------------------- Game of Thrones
def test_got_schedule_by_hand():
    """Epoch e: ceil(explore e^delta), ceil(got e^delta), ceil(exploit 2^(e-1)) slots; F counts
    in the second half of each GoT phase."""
    phase, counts, got_end = got_schedule(130, explore=3, got=4, exploit=2, delta=1.0)
    expected = [EXPLORE] * 3 + [GOT] * 4 + [EXPLOIT] * 2 + [EXPLORE] * 6 + [GOT] * 8 + [EXPLOIT] * 4
    assert phase[:27].tolist() == expected
    assert np.nonzero(counts[:27])[0].tolist() == [5, 6, 19, 20, 21, 22]
    assert np.nonzero(got_end[:27])[0].tolist() == [6, 22]
    phase, _, _ = got_schedule(100, 30, 30, 40, 1.0)  # the defaults fill one epoch of T = 100
    assert (phase == EXPLORE).sum() == 30 and (phase == GOT).sum() == 30 and phase[-1] == EXPLOIT


def test_got_becomes_content_with_the_papers_probability():
    """One user (always alone), K = 2, SNRs 15 and 3: after the exploration, utilities are
    u = [1, log2(4)/log2(16)] = [1, 0.5], u_max = 1. A discontent user plays a uniform channel and
    turns content with probability (u / u_max) eps^(u_max - u): 1 on channel 1, 0.5 * 0.25^0.5 =
    0.25 on channel 2."""
    B, eps = 4000, 0.25
    sim = BatchedDSA(B, num_users=1, num_channels=2, horizon=100, snr=[[15.0, 3.0]])
    policy = GameOfThronesPolicy(explore=20, got=30, exploit=50, epsilon=eps)
    sim.reset(seed=5)
    policy.reset(sim.config, B, np.random.default_rng(5))
    for _ in range(21):  # 20 exploration slots and the first GoT slot
        a = policy.act(None)
        _, _, _, _, info = sim.step(a)
        policy.update(a, info["feedback"], info["rates"])
    sampled = policy.stats.count[:, 0].min(axis=-1) > 0  # both channels seen (1 - 2 * 0.5^20)
    for channel, p in ((1, 1.0), (2, 0.5 * eps**0.5)):
        on = sampled & (a[:, 0] == channel)
        share = policy.content[on, 0].mean()
        assert abs(share - p) < 5 * np.sqrt(p * (1 - p) / on.sum()) + 1e-12, (channel, share)


def test_got_acceptance_uses_the_papers_u_max_exponent():
    """Bistritz and Leshem: a discontent user alone on a turns content with probability
    (u / u_max) eps^(u_max - u), u = mu[a], u_max = max_k mu[k]. With mu = [0.5, 0.25] (as with
    PUs at 50%) that is 1 on channel 1 and 0.5 * 0.25^0.25 = 0.354 on channel 2; the exponent
    is u_max - u = 0.25, not 1 - u / u_max = 0.5 (which gives 0.25)."""
    B, eps = 4000, 0.25
    policy = GameOfThronesPolicy(explore=20, got=30, exploit=50, epsilon=eps)
    policy.reset(make_config(num_users=1, num_channels=2), B, np.random.default_rng(11))
    policy.stats.count[:] = 10.0
    policy.stats.total[:] = [5.0, 2.5]
    policy.stats.max_rate[:] = 1.0
    policy.t = 20  # first GoT slot: the utilities are frozen, every user is discontent
    a = policy.act(None)
    policy.update(a, np.ones((B, 1), np.int8), np.ones((B, 1)))
    for channel, p in ((1, 1.0), (2, 0.5 * eps**0.25)):
        on = a[:, 0] == channel
        share = policy.content[on, 0].mean()
        assert abs(share - p) < 5 * np.sqrt(p * (1 - p) / on.sum()) + 1e-12, (channel, share, p)


def test_got_collision_makes_discontent_and_pu_busy_changes_nothing():
    policy = GameOfThronesPolicy()
    policy.reset(make_config(num_users=3, num_channels=3), 1, np.random.default_rng(0))
    policy.t = 30  # first GoT slot
    policy.act(None)
    policy.utility[:] = 1.0
    policy.content[:] = True
    policy.baseline[:] = [[1, 2, 3]]
    policy.update(np.array([[1, 2, 3]]), np.array([[-1, -2, 1]], np.int8), np.zeros((1, 3)))
    assert policy.content.tolist() == [[False, True, True]]


@pytest.mark.parametrize("name", ["musical_chairs_rss", "mctopm", "randtopm", "game_of_thrones"])
def test_bandits_beat_aloha_when_n_equals_k(name):
    """N = K = 5, no PUs, T = 100 (docs/baselines.md, tuning table): every bandit baseline is far
    above ALOHA (about 1050 there); margin 300, over 10 standard errors at 100 episodes."""
    from dsa_pettingzoo.evaluation import evaluate_policy

    env = dict(num_users=5, num_channels=5)
    aloha = evaluate_policy(make_policy("aloha"), 100, seed=6, **env).reward.mean()
    assert evaluate_policy(make_policy(name), 100, seed=6, **env).reward.mean() > aloha + 300


# ----------------------------------------------------------------------------- the study
def test_study_regret_is_zero_for_the_best_fixed_assignment_value():
    """Bernoulli setting: equal rates and pi_k = 1 - mu_k, so the best fixed assignment earns
    rate * (0.9 + 0.8 + ... + 0.4) = 3.9 * rate per slot."""
    env = dict(study.BERNOULLI_ENV, horizon=10)
    value = study.fixed_matching_value(env, [0, 1])
    np.testing.assert_allclose(value, 3.9 * make_config(**env).max_rate, rtol=1e-12)
    row = study.regret("mctopm", {}, env, episodes=3, seed=0)
    assert row["horizon"] == 10 and 0 < row["ratio_to_best_fixed"] < 1.5


def test_study_regret_curve_ends_at_the_regret_of_the_same_runs():
    """regret_curve plays evaluate_policy's rollout (same episode seeds, same policy randomness),
    so its last checkpoint is study.regret's number, and the regret of the figure's kl-UCB
    policies grows with t."""
    env = dict(study.BERNOULLI_ENV, horizon=60)
    rows = study.regret_curve(
        "mctopm", {"index": "klucb"}, env, episodes=3, seed=4, checkpoints=(20, 60)
    )
    assert [r["t"] for r in rows] == [20, 60]
    np.testing.assert_allclose(
        rows[-1]["regret"],
        study.regret("mctopm", {"index": "klucb"}, env, 3, 4)["regret"],
        rtol=1e-9,
    )
    assert set(study.FIGURE_REFERENCE) == {"mctopm", "randtopm"}
