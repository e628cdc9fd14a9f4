"""BatchedDSA: the same trajectories as the ParallelEnv for the same seeds, and its contract."""

import pickle

import numpy as np
import pytest

from dsa_pettingzoo import BatchedDSA, parallel_env
from dsa_pettingzoo.metrics import PER_USER_KEYS, SYSTEM_KEYS

CONFIGS = {
    "A": dict(setup="A", horizon=15),
    "B": dict(setup="B", horizon=15),
    "markov": dict(setup="B", horizon=15, pu_model="markov", pu_mean_busy=3,
                   reward="individual", observation="last_action_feedback_rate"),
    "fair_het_pu": dict(num_users=4, num_channels=3, horizon=12, pu_prob=[0.0, 0.5, 1.0],
                        reward="proportional_fair"),
    "fixed_snr": dict(num_users=3, num_channels=2, horizon=9, snr=[[1, 2], [3, 4], [5, 6]],
                      pu_prob=0.3, observation="last_action_feedback_rate"),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_batched_equals_parallel_env(name):
    kw = CONFIGS[name]
    seeds = [11, 0, 12345, 7]
    sim = BatchedDSA(len(seeds), **kw)
    envs = [parallel_env(**kw) for _ in seeds]
    N, K = sim.num_users, sim.num_channels
    rng = np.random.default_rng(99)
    for episode in range(2):   # the 2nd episode: unseeded resets continue each generator
        obs_b = sim.reset(seeds=seeds) if episode == 0 else sim.reset()
        for b, env in enumerate(envs):
            obs, _ = env.reset(seed=seeds[b]) if episode == 0 else env.reset()
            np.testing.assert_array_equal(np.stack([obs[a] for a in env.possible_agents]), obs_b[b])
            np.testing.assert_array_equal(env.simulator.beta[0], sim.beta[b])
            np.testing.assert_array_equal(env.state(), sim.state()[b])
        done, last_infos = False, {}
        while not done:
            acts = rng.integers(0, K + 1, size=(len(seeds), N))
            busy_next = sim.pu_busy_next
            obs_b, rew_b, done, info = sim.step(acts)
            for b, env in enumerate(envs):
                np.testing.assert_array_equal(env.simulator.pu_busy_next[0], busy_next[b])
                d = {a: int(acts[b, n]) for n, a in enumerate(env.possible_agents)}
                obs, rew, term, _, infos = env.step(d)
                last_infos[b] = infos
                ag = env.possible_agents
                np.testing.assert_array_equal(np.stack([obs[a] for a in ag]), obs_b[b])
                assert [rew[a] for a in ag] == rew_b[b].tolist()
                assert [infos[a]["feedback"] for a in ag] == info["feedback"][b].tolist()
                assert [infos[a]["rate"] for a in ag] == info["rates"][b].tolist()
                assert all(term[a] == done for a in ag)
                np.testing.assert_array_equal(env.state(), sim.state()[b])
        ep = info["episode"]
        for b, env in enumerate(envs):
            for n, a in enumerate(env.possible_agents):
                for k in PER_USER_KEYS:
                    assert last_infos[b][a][k] == ep[k][b, n]
                for k in SYSTEM_KEYS:
                    assert last_infos[b][a][k] == ep[k][b]


def test_reset_seed_means_consecutive_seeds():
    a = BatchedDSA(3, setup="B")
    b = BatchedDSA(3, setup="B")
    a.reset(seed=40)
    b.reset(seeds=[40, 41, 42])
    np.testing.assert_array_equal(a.beta, b.beta)
    np.testing.assert_array_equal(a.pu_occupancy, b.pu_occupancy)
    assert not np.array_equal(a.beta[0], a.beta[1])


def test_shapes_dtypes_and_done():
    sim = BatchedDSA(5, setup="B", horizon=3)
    obs = sim.reset(seed=0)
    assert obs.shape == (5, 10, 10) and obs.dtype == np.float32
    assert sim.beta.shape == (5, 10, 5) and sim.beta.dtype == np.float64
    assert sim.pu_busy_next.shape == (5, 5) and sim.pu_busy_next.dtype == bool
    assert sim.state().shape == (5, sim.state_dim) and sim.t == 0
    for t in range(3):
        obs, rew, done, info = sim.step(np.ones((5, 10), dtype=np.int64))
        assert rew.shape == (5, 10) and info["feedback"].dtype == np.int8
        assert info["rates"].shape == (5, 10) and info["actions"].shape == (5, 10)
        assert done == (t == 2) and sim.t == t + 1
    assert "episode" in info and not sim.pu_busy_next.any()   # no slot after the end
    with pytest.raises(RuntimeError, match="reset"):
        sim.step(np.ones((5, 10), dtype=int))


def test_pu_busy_next_predicts_pu_feedback():
    sim = BatchedDSA(50, setup="B")
    sim.reset(seed=5)
    rng = np.random.default_rng(5)
    for _ in range(20):
        busy = sim.pu_busy_next
        acts = rng.integers(1, 6, size=(50, 10))                   # everyone transmits
        _, _, _, info = sim.step(acts)
        on_busy = np.take_along_axis(busy, acts - 1, axis=1)
        np.testing.assert_array_equal(info["feedback"] == -2, on_busy)


def test_no_pu_means_never_busy_and_never_minus_two():
    sim = BatchedDSA(20, setup="A")
    sim.reset(seed=0)
    assert not sim.pu_occupancy.any()
    _, _, _, info = sim.step(np.random.default_rng(0).integers(0, 6, (20, 10)))
    assert not (info["feedback"] == -2).any()


@pytest.mark.parametrize("acts,msg", [
    (np.zeros((2, 10), int), "shape"),
    (np.zeros((3, 9), int), "shape"),
    (np.full((3, 10), 6), "0..5"),
    (np.full((3, 10), -1), "0..5"),
    (np.zeros((3, 10), float), "integers"),
    (np.zeros((3, 10), bool), "integers"),
])
def test_bad_actions_raise_valueerror_and_change_nothing(acts, msg):
    sim = BatchedDSA(3, setup="B")
    sim.reset(seed=1)
    with pytest.raises(ValueError, match=msg):
        sim.step(acts)
    assert sim.t == 0
    sim.step(np.zeros((3, 10), int))
    assert sim.t == 1


def test_step_before_reset_and_bad_seeds():
    sim = BatchedDSA(2)
    with pytest.raises(RuntimeError, match="reset"):
        sim.step(np.zeros((2, 10), int))
    with pytest.raises(ValueError, match="seeds"):
        sim.reset(seeds=[1, 2, 3])
    with pytest.raises(ValueError, match="seed"):
        sim.reset(seed=-1)
    with pytest.raises(ValueError, match="seed"):
        sim.reset(seed=1, seeds=[1, 2])


def test_actions_buffer_can_be_reused_by_the_caller():
    sim = BatchedDSA(2, num_users=2, num_channels=2, horizon=3)
    sim.reset(seed=0)
    buf = np.array([[1, 2], [1, 1]], dtype=np.intp)
    sim.step(buf)
    before = sim.state().copy()
    buf[:] = 0
    np.testing.assert_array_equal(sim.state(), before)


def test_pickle_and_unseeded_first_reset():
    sim = BatchedDSA(4, setup="B")
    sim.reset()                                  # OS entropy
    clone = pickle.loads(pickle.dumps(sim))
    a = np.random.default_rng(0).integers(0, 6, (4, 10))
    np.testing.assert_array_equal(sim.step(a)[1], clone.step(a)[1])
    np.testing.assert_array_equal(sim.reset(), clone.reset())
    np.testing.assert_array_equal(sim.beta, clone.beta)
