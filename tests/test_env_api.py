"""The ParallelEnv / AEC env against PettingZoo's own test suite and our API promises."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    seed_test,
    state_test,
)
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

import dsa_pettingzoo
from dsa_pettingzoo import DSAAECEnv, DSAParallelEnv, InvalidActionError, dsa_v0, parallel_env

# A small grid covering every value of each argument (short horizons keep it fast).
GRID = [
    dict(setup="A", horizon=12),
    dict(setup="B", horizon=12),
    dict(num_users=1, num_channels=1, horizon=6),
    dict(
        num_users=3,
        num_channels=2,
        horizon=10,
        pu_prob=0.5,
        pu_model="markov",
        pu_mean_busy=2,
        reward="individual",
    ),
    dict(
        num_users=4,
        num_channels=3,
        horizon=10,
        pu_prob=[0.1, 0.5, 0.9],
        reward="proportional_fair",
        observation="last_action_feedback_rate",
    ),
    dict(
        num_users=2,
        num_channels=4,
        horizon=8,
        snr=np.arange(1, 9.0).reshape(2, 4),
        observation="last_action_feedback_rate",
    ),
    dict(setup="C", horizon=10, reward="proportional_fair"),  # heterogeneous markov PUs
]
IDS = [f"cfg{i}" for i in range(len(GRID))]


@pytest.mark.parametrize("kw", GRID, ids=IDS)
def test_pettingzoo_suite(kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PettingZoo's soft checks are warnings: treat as failures
        parallel_api_test(parallel_env(**kw), num_cycles=50)
        api_test(dsa_pettingzoo.env(**kw), num_cycles=50)
        parallel_seed_test(lambda: parallel_env(**kw), num_cycles=50)
        seed_test(lambda: dsa_pettingzoo.env(**kw), num_cycles=50)
        state_test(dsa_pettingzoo.env(**kw), parallel_env(**kw), num_cycles=10)


def test_max_cycles_test_through_the_versioned_module():
    max_cycles_test(dsa_v0)  # uses max_cycles=4, an alias of horizon


def test_metadata_and_versioned_module():
    env = dsa_v0.parallel_env()
    assert env.metadata["name"] == "dsa_v0" and str(env) == "dsa_v0"
    assert set(env.metadata["render_modes"]) == {"ansi", "rgb_array", "human"}
    raw = dsa_v0.raw_env()
    assert type(raw) is dsa_pettingzoo.DSAAECEnv and raw.unwrapped is raw  # PettingZoo's meaning
    wrapped = dsa_v0.env()
    assert type(wrapped) is OrderEnforcingWrapper and type(wrapped.unwrapped) is DSAAECEnv
    assert type(dsa_v0.parallel_env()) is DSAParallelEnv


def test_spaces_agents_and_first_observation():
    env = parallel_env(setup="B", horizon=3)
    assert (
        env.possible_agents
        == [dsa_pettingzoo.agent_id(n) for n in range(10)]
        == [
            "user_0",
            "user_1",
            "user_2",
            "user_3",
            "user_4",
            "user_5",
            "user_6",
            "user_7",
            "user_8",
            "user_9",
        ]
    )
    a0 = env.possible_agents[0]
    assert env.observation_space(a0) is env.observation_space(a0)
    assert env.action_space(a0) is env.action_space(a0)
    assert env.action_space(a0).n == 6
    box = env.observation_space(a0)
    assert (
        box.dtype == np.float32 and np.all(np.isfinite(box.low)) and np.all(np.isfinite(box.high))
    )
    obs, infos = env.reset(seed=0)
    expected = np.zeros(10, np.float32)
    expected[0] = 1.0  # a_0 = idle
    expected[6 + 2] = 1.0  # o_0 = 0 (dummy)
    for a in env.agents:
        assert obs[a].dtype == np.float32 and box.contains(obs[a])
        np.testing.assert_array_equal(obs[a], expected)
        assert infos[a] == {}
    with pytest.raises(KeyError, match="user_0"):
        env.observation_space("user_99")


def test_episode_end_empties_agents_and_reports_metrics():
    env = parallel_env(setup="B", horizon=5)
    env.reset(seed=1)
    rng = np.random.default_rng(0)
    total, returns = (
        dict.fromkeys(env.possible_agents, 0.0),
        dict.fromkeys(env.possible_agents, 0.0),
    )
    for t in range(5):
        acts = {a: int(rng.integers(0, 6)) for a in env.agents}
        obs, rew, term, trunc, infos = env.step(acts)
        assert "__all__" not in obs and "__all__" not in rew and "__all__" not in term
        assert all(v == (t == 4) for v in term.values()) and not any(trunc.values())
        for a in rew:
            total[a] += infos[a]["rate"]
            returns[a] += rew[a]
    assert env.agents == []
    tp = [infos[a]["throughput"] for a in env.possible_agents]
    np.testing.assert_allclose(tp, [total[a] for a in env.possible_agents])
    i0 = infos["user_0"]
    for k in (
        "successes",
        "collisions",
        "idle",
        "pu_blocked",
        "channel_utilisation",
        "jain_fairness",
        "system_throughput",
        "collision_rate",
        "idle_rate",
    ):
        assert k in i0
    assert i0["successes"] + i0["collisions"] + i0["idle"] + i0["pu_blocked"] == 5
    assert i0["system_throughput"] == pytest.approx(sum(tp))
    # with "sum_rate" every user's episode reward is the system throughput (paper unit x N)
    assert sum(tp) > 0 and returns == pytest.approx(dict.fromkeys(returns, sum(tp)), rel=1e-12)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})


def test_sum_rate_reward_is_shared_and_equals_sum_of_rates():
    env = parallel_env(setup="A", horizon=20)
    env.reset(seed=2)
    rng = np.random.default_rng(2)
    while env.agents:
        _, rew, _, _, infos = env.step({a: int(rng.integers(0, 6)) for a in env.agents})
        s = sum(i["rate"] for i in infos.values())
        assert all(r == pytest.approx(s) for r in rew.values())


def _play(env, seed, action_seed, episodes=2):
    """Trajectory (obs, rewards, infos) of ``episodes`` episodes: seeded once, then plain resets."""
    traj = []
    rng = np.random.default_rng(action_seed)
    for e in range(episodes):
        obs, _ = env.reset(seed=seed if e == 0 else None)
        traj.append(({a: o.copy() for a, o in obs.items()}, env.state().copy()))
        while env.agents:
            acts = {a: int(rng.integers(0, env.action_space(a).n)) for a in env.agents}
            obs, rew, term, trunc, infos = env.step(acts)
            traj.append((obs, rew, term, infos, env.state().copy()))
    return traj


@pytest.mark.parametrize("kw", [GRID[1], GRID[3], GRID[4]], ids=["B", "markov", "fair"])
def test_multi_step_determinism(kw):
    t1 = _play(parallel_env(**kw), 7, 0)
    t2 = _play(parallel_env(**kw), 7, 0)
    assert len(t1) == len(t2)
    for x, y in zip(t1, t2):
        assert _equal(x, y)
    t3 = _play(parallel_env(**kw), 8, 0)
    assert not all(_equal(x, y) for x, y in zip(t1, t3))


def _equal(x, y):
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    if isinstance(x, (tuple, list)):
        return len(x) == len(y) and all(_equal(a, b) for a, b in zip(x, y))
    if isinstance(x, np.ndarray):
        return x.dtype == y.dtype and np.array_equal(x, y)
    return x == y


def test_unseeded_reset_continues_the_generator_and_pickle_roundtrip():
    env = parallel_env(setup="B", horizon=4)
    env.reset(seed=3)
    env.step({a: 1 for a in env.agents})
    clone = pickle.loads(pickle.dumps(env))
    acts = {a: (i % 6) for i, a in enumerate(env.agents)}
    assert _equal(env.step(acts), clone.step(acts))
    assert _equal(env.reset(), clone.reset())  # same generator state
    np.testing.assert_array_equal(env.simulator.beta, clone.simulator.beta)
    fresh = parallel_env(setup="B", horizon=4)
    fresh.reset(seed=3)  # the seeded episode again...
    assert not np.array_equal(env.simulator.beta, fresh.simulator.beta)  # ...differs from the next


BAD_ACTIONS = [
    ({"user_0": 6}, "0..5"),  # out of range
    ({"user_0": -1}, "0..5"),
    ({"user_0": 1.0}, "integer"),  # not an integer
    ({"user_0": "1"}, "integer"),
    ({"user_0": True}, "integer"),
    ({"user_0": np.array([1, 2])}, "integer"),
    ({"user_42": 1}, "unknown agent"),  # unknown key
    ({"__all__": 1}, "unknown agent"),
]


@pytest.mark.parametrize(
    "patch,msg", BAD_ACTIONS, ids=[m + str(i) for i, (_, m) in enumerate(BAD_ACTIONS)]
)
def test_invalid_actions_raise_before_any_state_change(patch, msg):
    env = parallel_env(setup="B", horizon=6)
    ref = parallel_env(setup="B", horizon=6)
    env.reset(seed=4)
    ref.reset(seed=4)
    good = {a: 1 + i % 5 for i, a in enumerate(env.agents)}
    env.step(good), ref.step(good)
    bad = {**good, **patch}
    with pytest.raises(InvalidActionError, match=msg):
        env.step(bad)
    # nothing changed: the env continues exactly like an untouched twin
    assert env.simulator.t == 1 and env.agents == ref.agents
    assert _equal(env.step(good), ref.step(good))


def test_missing_user_and_non_dict_are_refused():
    env = parallel_env(setup="A", horizon=3)
    env.reset(seed=0)
    acts = {a: 0 for a in env.agents}
    del acts["user_3"]
    with pytest.raises(InvalidActionError, match="user_3"):
        env.step(acts)
    with pytest.raises(InvalidActionError, match="dict"):
        env.step([0] * 10)
    assert env.simulator.t == 0
    env.step({a: 0 for a in env.agents})  # still usable
    assert env.simulator.t == 1


def test_numpy_integer_actions_accepted():
    env = parallel_env(num_users=3, num_channels=2, horizon=2)
    env.reset(seed=0)
    _, _, _, _, infos = env.step(
        {
            "user_0": np.int64(1),
            "user_1": np.array(2, dtype=np.int32),
            "user_2": np.array([0], dtype=np.uint8),
        }
    )
    assert [infos[a]["feedback"] for a in env.possible_agents] == [1, 1, 0]


def test_step_and_state_before_reset_raise():
    env = parallel_env()
    with pytest.raises(RuntimeError, match="reset"):
        env.step({a: 0 for a in env.possible_agents})
    with pytest.raises(RuntimeError, match="reset"):
        env.state()


def test_state_layout_and_contents():
    env = parallel_env(
        num_users=2, num_channels=2, horizon=3, pu_prob=[1.0, 0.0], snr=[[1.0, 3.0], [7.0, 15.0]]
    )
    env.reset(seed=0)
    s0 = env.state()
    assert env.state_space.contains(s0) and s0.shape == (2 * 3 + 2 * 4 + 2 + 2 * 2 + 2 * 2 + 1,)
    env.step({"user_0": 1, "user_1": 2})  # user_0 on PU channel 1, user_1 alone on 2
    s = env.state()
    np.testing.assert_array_equal(s[:6], [0, 1, 0, 0, 0, 1])  # actions one-hot
    np.testing.assert_array_equal(s[6:14], [1, 0, 0, 0, 0, 0, 0, 1])  # feedback -2 and 1
    np.testing.assert_allclose(s[14:16], [0, 1.0])  # rates / log2(1 + 15): log2(16)
    np.testing.assert_array_equal(s[16:18], [1, 0])  # PU last slot
    np.testing.assert_array_equal(s[18:20], [1, 0])  # PU next slot
    np.testing.assert_allclose(s[20:24], np.log2([2, 4, 8, 16]) / 4)  # rate table
    assert s[24] == pytest.approx(1 / 3)  # t / T


def test_aec_env_plays_a_full_episode():
    # the ParallelEnv with the same seed and actions is the reference for returns and metrics
    kw = dict(setup="B", horizon=3, reward="individual")
    aec, par = dsa_pettingzoo.env(**kw), parallel_env(**kw)
    aec.reset(seed=0), par.reset(seed=0)
    rng = np.random.default_rng(5)
    steps, slot, final = 0, {}, {}
    returns, expected = (
        dict.fromkeys(aec.possible_agents, 0.0),
        dict.fromkeys(aec.possible_agents, 0.0),
    )
    for agent in aec.agent_iter():
        _, reward, term, trunc, info = aec.last()
        returns[agent] += reward  # last(): the reward accumulated since the agent last acted
        if term or trunc:
            final[agent] = info["throughput"]
        else:
            slot[agent] = int(rng.integers(0, 6))
        aec.step(None if term or trunc else slot[agent])
        if len(slot) == 10:  # the slot resolves after the last user's action
            _, rew, _, _, infos = par.step(slot)
            expected = {a: expected[a] + rew[a] for a in expected}
            slot = {}
        steps += 1
    assert steps == 10 * 3 + 10  # T cycles of N agents, then one "dead" step each
    assert aec.agents == [] == par.agents
    assert returns == pytest.approx(expected, rel=1e-12, abs=0) and sum(expected.values()) > 0
    assert final == {a: infos[a]["throughput"] for a in par.possible_agents}


def test_import_does_not_pull_torch_or_ray():
    code = (
        "import sys, dsa_pettingzoo, dsa_pettingzoo.dsa_v0, dsa_pettingzoo.speed;"
        "bad = [m for m in ('torch', 'ray', 'matplotlib') if m in sys.modules];"
        "import dsa_pettingzoo.baselines, dsa_pettingzoo.cli.evaluate;"
        "bad += [m for m in ('torch', 'ray') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_bad_seed_is_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        parallel_env().reset(seed=seed)


def test_aec_rejects_a_bad_action_at_once_and_stays_usable():
    aec = dsa_pettingzoo.env(num_users=3, num_channels=2)
    aec.reset(seed=1)
    with pytest.raises(InvalidActionError, match=r"action of user_0 must lie in 0\.\.2.*got 9"):
        aec.step(9)
    assert aec.agent_selection == "user_0"  # the same agent acts again
    aec.step(1)
    with pytest.raises(InvalidActionError, match="action of user_1 must be an integer"):
        aec.step("1")
    aec.step(1)
    aec.step(2)  # the slot is resolved
    assert aec.agent_selection == "user_0"
    assert [aec.infos[a]["feedback"] for a in aec.possible_agents] == [-1, -1, 1]
    ref = parallel_env(num_users=3, num_channels=2)
    ref.reset(seed=1)
    _, rew, _, _, _ = ref.step({"user_0": 1, "user_1": 1, "user_2": 2})
    assert aec.last()[1] == rew["user_0"] > 0  # user_2's rate, shared (sum_rate)


def test_aec_dead_step_only_takes_none():
    aec = dsa_pettingzoo.raw_env(num_users=2, num_channels=1, horizon=1)
    aec.reset(seed=0)
    aec.step(0), aec.step(1)
    assert aec.terminations == {"user_0": True, "user_1": True}
    with pytest.raises(InvalidActionError, match="user_0 is done"):
        aec.step(1)
    aec.step(None), aec.step(None)
    assert aec.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        aec.step(None)


# Property tests: rejected actions leave no trace. A bad action (or a bad action dict) is
# refused, and the env then continues exactly as a twin that never saw it.
BAD_VALUES = [-1, 99, 1.0, "1", True, None, np.array([1, 2]), np.float32(2.0)]
SMALL = dict(num_users=3, num_channels=2, horizon=4, pu_prob=0.3)


def _bad_dict(good: dict, kind: int, value):
    agents = list(good)
    if kind == 0:
        return {**good, agents[0]: value}
    if kind == 1:
        return {a: good[a] for a in agents[1:]}  # a user missing
    return {**good, "user_7": 1}  # an unknown user


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    plan=st.lists(
        st.tuples(
            st.lists(st.integers(0, 2), min_size=3, max_size=3),
            st.lists(
                st.tuples(st.integers(0, 2), st.sampled_from(range(len(BAD_VALUES)))), max_size=2
            ),
        ),
        min_size=1,
        max_size=10,
    ),
)
def test_parallel_env_trajectory_unchanged_by_rejected_actions(seed, plan):
    dirty, clean = parallel_env(**SMALL), parallel_env(**SMALL)
    assert _equal(dirty.reset(seed=seed), clean.reset(seed=seed))
    for actions, bads in plan:
        if not dirty.agents:  # the next episode, unseeded
            assert _equal(dirty.reset(), clean.reset())
        good = dict(zip(dirty.agents, actions))
        for kind, v in bads:
            with pytest.raises(InvalidActionError):
                dirty.step(_bad_dict(good, kind, BAD_VALUES[v]))
        assert _equal(dirty.step(good), clean.step(good))
        np.testing.assert_array_equal(dirty.state(), clean.state())


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    plan=st.lists(
        st.tuples(st.integers(0, 2), st.lists(st.sampled_from(range(len(BAD_VALUES))), max_size=2)),
        min_size=1,
        max_size=40,
    ),
)
def test_aec_env_trajectory_unchanged_by_rejected_actions(seed, plan):
    dirty, clean = dsa_pettingzoo.env(**SMALL), dsa_pettingzoo.env(**SMALL)
    dirty.reset(seed=seed), clean.reset(seed=seed)
    for action, bads in plan:
        if not dirty.agents:
            dirty.reset(), clean.reset()
        agent = dirty.agent_selection
        done = dirty.terminations[agent]
        for v in bads:
            bad = 1 if done else BAD_VALUES[v]  # None is the only dead-step action
            with pytest.raises(InvalidActionError, match=agent):
                dirty.step(bad)
            assert dirty.agent_selection == agent
        dirty.step(None if done else action), clean.step(None if done else action)
        assert dirty.agent_selection == clean.agent_selection and dirty.agents == clean.agents
        if dirty.agents:
            assert _equal(dirty.last(), clean.last())
            assert dirty.rewards == clean.rewards and dirty.infos == clean.infos


def test_agent_id_helpers_round_trip_and_refuse_bad_ids():
    from dsa_pettingzoo import agent_id, agent_ids, agent_index

    assert [agent_id(n) for n in (0, 7, 12)] == ["user_0", "user_7", "user_12"]
    assert [agent_index(a) for a in agent_ids(12)] == list(range(12))
    assert parallel_env(num_users=12).possible_agents == agent_ids(12)
    for bad in ("user_01", "user_-1", "user_", "User_1", "user_1 ", "agent_0", 3, None):
        with pytest.raises(ValueError, match="an agent id must be user_<n>"):
            agent_index(bad)
    with pytest.raises(ValueError, match=r"the agents are user_0 \.\. user_2"):
        agent_index("user_3", num_users=3)
    for bad in (-1, 1.0, True, "0"):
        with pytest.raises(ValueError, match="user index must be an integer >= 0"):
            agent_id(bad)


def test_raw_aec_env_before_reset_raises():
    raw = dsa_pettingzoo.raw_env(num_users=2, num_channels=1)
    for call in (lambda: raw.step(0), lambda: raw.observe("user_0"), raw.state):
        with pytest.raises(RuntimeError, match="reset"):
            call()
