"""BatchedDSA: the same trajectories as the ParallelEnv for the same seeds, and its contract."""

import pickle

import numpy as np
import pytest
from gymnasium import spaces

from dsa_pettingzoo import BatchedDSA, parallel_env
from dsa_pettingzoo.metrics import PER_USER_KEYS, SYSTEM_KEYS

CONFIGS = {
    "A": dict(setup="A", horizon=15),
    "B": dict(setup="B", horizon=15),
    "markov": dict(
        setup="B",
        horizon=15,
        pu_model="markov",
        pu_mean_busy=3,
        reward="individual",
        observation="last_action_feedback_rate",
    ),
    "C": dict(setup="C", horizon=40),
    "fair_het_pu": dict(
        num_users=4, num_channels=3, horizon=12, pu_prob=[0.0, 0.5, 1.0], reward="proportional_fair"
    ),
    # many users on few channels: pairs and triples collide, so every branch of the
    # difference reward (alone, pair, 3+, PU-blocked, idle) is taken
    "difference_crowded": dict(
        num_users=7, num_channels=2, horizon=12, pu_prob=[0.2, 0.6], reward="difference"
    ),
    "fixed_snr": dict(
        num_users=3,
        num_channels=2,
        horizon=9,
        snr=[[1, 2], [3, 4], [5, 6]],
        pu_prob=0.3,
        observation="last_action_feedback_rate",
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_batched_equals_parallel_env(name):
    kw = CONFIGS[name]
    seeds = [11, 0, 12345, 7]
    sim = BatchedDSA(len(seeds), **kw)
    envs = [parallel_env(**kw) for _ in seeds]
    N, K = sim.num_users, sim.num_channels
    rng = np.random.default_rng(99)
    for episode in range(2):  # the 2nd episode: unseeded resets continue each generator
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
            obs_b, rew_b, term_b, trunc_b, info = sim.step(acts)
            done = bool(term_b.all())
            assert term_b.any() == done and not trunc_b.any()
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
                assert [term[a] for a in ag] == term_b[b].tolist()
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
        obs, rew, term, trunc, info = sim.step(np.ones((5, 10), dtype=np.int64))
        assert rew.shape == (5, 10) and info["feedback"].dtype == np.int8
        assert info["rates"].shape == (5, 10) and info["actions"].shape == (5, 10)
        assert term.shape == trunc.shape == (5, 10) and term.dtype == trunc.dtype == bool
        # the horizon ends the episode as a termination, for every user of every episode
        assert term.tolist() == [[t == 2] * 10] * 5 and not trunc.any() and sim.t == t + 1
    assert "episode" in info and not sim.pu_busy_next.any()  # no slot after the end
    with pytest.raises(RuntimeError, match="reset"):
        sim.step(np.ones((5, 10), dtype=int))


def test_gymnasium_style_spaces():
    sim = BatchedDSA(4, num_users=3, num_channels=2, observation="last_action_feedback_rate")
    assert sim.single_observation_space == spaces.Box(0.0, 1.0, (2 + 6,), np.float32)
    assert sim.single_action_space == spaces.Discrete(3)
    assert sim.observation_space.shape == (4, 3, 8) and sim.action_space.shape == (4, 3)
    assert sim.state_space.shape == (sim.state_dim,) == (3 * 3 + 12 + 3 + 4 + 6 + 1,)
    obs = sim.reset(seed=0)
    assert sim.observation_space.contains(obs)
    assert all(sim.single_observation_space.contains(o) for o in obs.reshape(-1, 8))
    obs, *_ = sim.step(sim.action_space.sample())
    assert sim.observation_space.contains(obs) and sim.state_space.contains(sim.state()[0])
    env = parallel_env(num_users=3, num_channels=2, observation="last_action_feedback_rate")
    assert env.observation_space("user_1") == sim.single_observation_space
    assert env.action_space("user_1") == sim.single_action_space


def test_pu_busy_next_predicts_pu_feedback():
    sim = BatchedDSA(50, setup="B")
    sim.reset(seed=5)
    rng = np.random.default_rng(5)
    for _ in range(20):
        busy = sim.pu_busy_next
        acts = rng.integers(1, 6, size=(50, 10))  # everyone transmits
        _, _, _, _, info = sim.step(acts)
        on_busy = np.take_along_axis(busy, acts - 1, axis=1)
        np.testing.assert_array_equal(info["feedback"] == -2, on_busy)


def test_no_pu_means_never_busy_and_never_minus_two():
    sim = BatchedDSA(20, setup="A")
    sim.reset(seed=0)
    assert not sim.pu_occupancy.any()
    _, _, _, _, info = sim.step(np.random.default_rng(0).integers(0, 6, (20, 10)))
    assert not (info["feedback"] == -2).any()


@pytest.mark.parametrize(
    "acts,msg",
    [
        (np.zeros((2, 10), int), "shape"),
        (np.zeros((3, 9), int), "shape"),
        (np.full((3, 10), 6), "0..5"),
        (np.full((3, 10), -1), "0..5"),
        (np.zeros((3, 10), float), "integers"),
        (np.zeros((3, 10), bool), "integers"),
    ],
)
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
    sim.reset()  # OS entropy
    clone = pickle.loads(pickle.dumps(sim))
    a = np.random.default_rng(0).integers(0, 6, (4, 10))
    np.testing.assert_array_equal(sim.step(a)[1], clone.step(a)[1])
    np.testing.assert_array_equal(sim.reset(), clone.reset())
    np.testing.assert_array_equal(sim.beta, clone.beta)


def test_scale_benchmark_measures_and_skips(capsys):
    from dsa_pettingzoo import speed
    from dsa_pettingzoo.cli import benchmark

    point = speed.scale_point("batched", 4, 2, 3, seconds=0.0)
    assert (point["num_users"], point["num_channels"], point["num_envs"], point["steps"]) == (
        4,
        2,
        3,
        2,
    )
    assert point["state_dim"] == 2 * 4 * 2 + 6 * 4 + 2 * 2 + 1  # 2NK + 6N + 2K + 1
    assert point["peak_rss_mb"] >= point["rss_before_mb"] > 0 and point["step_s"] > 0
    assert point["array_mb"] > 0 and point["ns_per_user_channel"] > 0 and point["setup"] == "A"
    markov = speed.scale_point("parallel", 4, 2, 1, seconds=0.0, setup="C")
    assert markov["setup"] == "C" and markov["state_dim"] == point["state_dim"]
    out = benchmark.main(["--scale", "--sizes", "4", "--seconds", "0.001", "--json"])
    assert [
        (r["kind"], r["num_users"], r["num_channels"], r["num_envs"]) for r in out["scale"]
    ] == [("parallel", 4, 2, 1), ("batched", 4, 2, 64)]
    assert all(2 <= r["steps"] <= 100 and r["state_dim"] == 45 for r in out["scale"])
    capsys.readouterr()
    benchmark.main(
        ["--scale", "--sizes", "10", "--channels", "3", "--max-gb", "0", "--seconds", "0.001"]
    )
    table = capsys.readouterr().out
    assert table.count("skipped: estimated") == 2 and "| 10 | 3 | 30 | ParallelEnv |" in table
