"""Episode metrics: hand-computed values, accumulator == batch function, env infos use them."""

import numpy as np
import pytest

from dsa_pettingzoo import BatchedDSA
from dsa_pettingzoo.metrics import EpisodeAccumulator, episode_summary, jain_index


def test_jain_index_hand_values():
    assert jain_index([1.0, 1.0, 1.0, 1.0]) == pytest.approx(1.0)
    assert jain_index([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)  # 1/N: one user takes all
    assert jain_index([1.0, 3.0]) == pytest.approx(16 / 20)  # (4)^2 / (2 * 10)
    assert jain_index([0.0, 0.0]) == 1.0  # all equal (zero)
    np.testing.assert_allclose(jain_index([[1, 1], [2, 0]], axis=-1), [1.0, 0.5])
    np.testing.assert_allclose(jain_index([[1, 2], [1, 0]], axis=0), [1.0, 0.5])


def test_episode_summary_hand_example():
    # T = 3 slots, N = 2 users, K = 2 channels
    fb = np.array([[1, -1], [-2, 0], [1, 1]])
    rates = np.array([[2.0, 0.0], [0.0, 0.0], [3.0, 5.0]])
    busy = np.array([[False, False], [True, False], [False, True]])
    m = episode_summary(fb, rates, busy)
    np.testing.assert_array_equal(m["successes"], [2, 1])
    np.testing.assert_array_equal(m["collisions"], [0, 1])
    np.testing.assert_array_equal(m["pu_blocked"], [1, 0])
    np.testing.assert_array_equal(m["idle"], [0, 1])
    np.testing.assert_array_equal(m["attempts"], [3, 2])
    np.testing.assert_array_equal(m["throughput"], [5.0, 5.0])
    assert m["system_throughput"] == 10.0
    assert m["channel_utilisation"] == pytest.approx(3 / 6)  # 3 ACKs over T*K = 6
    assert m["free_channel_utilisation"] == pytest.approx(3 / 4)  # 2 PU-busy channel-slots
    assert m["collision_rate"] == pytest.approx(1 / 5)
    assert m["pu_blocked_rate"] == pytest.approx(1 / 5)
    assert m["idle_rate"] == pytest.approx(1 / 6)
    assert m["jain_fairness"] == pytest.approx(1.0)
    # without PUs the two utilisations agree
    m2 = episode_summary(np.array([[1, 0]]), np.array([[1.0, 0.0]]), None, num_channels=4)
    assert m2["channel_utilisation"] == m2["free_channel_utilisation"] == 0.25
    assert m2["collision_rate"] == 0.0 and m2["jain_fairness"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="num_channels"):
        episode_summary(np.array([[1, 0]]), np.array([[1.0, 0.0]]))


def test_no_attempt_gives_zero_rates_not_nan():
    m = episode_summary(np.zeros((4, 3), int), np.zeros((4, 3)), np.ones((4, 2), bool))
    for k in ("collision_rate", "pu_blocked_rate", "free_channel_utilisation"):
        assert m[k] == 0.0
    assert m["idle_rate"] == 1.0 and m["jain_fairness"] == 1.0


def test_accumulator_equals_summary_on_simulated_episodes():
    sim = BatchedDSA(8, setup="B", horizon=30)
    sim.reset(seed=0)
    acc = EpisodeAccumulator(10, 5, batch_shape=(8,))
    rng = np.random.default_rng(0)
    done = False
    while not done:
        busy = sim.pu_busy_next
        _, _, term, trunc, info = sim.step(rng.integers(0, 6, (8, 10)))
        done = term.all()
        assert not trunc.any()
        acc.update(info["feedback"], info["rates"], busy)
    a, b = acc.summary(), info["episode"]
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-12, err_msg=k)
    acc.reset()
    assert acc.slots == 0 and not acc.throughput.any()


def test_utilisation_counts_pu_busy_slots_in_denominator():
    # every channel always PU-busy: nothing can succeed, both utilisations are 0
    sim = BatchedDSA(2, num_users=3, num_channels=2, horizon=5, pu_prob=1.0)
    sim.reset(seed=0)
    done = False
    while not done:
        _, _, term, _, info = sim.step(np.array([[1, 2, 0], [2, 2, 2]]))
        done = term.all()
    ep = info["episode"]
    np.testing.assert_array_equal(ep["channel_utilisation"], [0, 0])
    np.testing.assert_array_equal(ep["free_channel_utilisation"], [0, 0])
    np.testing.assert_array_equal(ep["pu_blocked_rate"], [1, 1])
    np.testing.assert_array_equal(ep["pu_blocked"], [[5, 5, 0], [5, 5, 5]])
