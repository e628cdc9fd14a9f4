"""DSAConfig / make_config: presets, overrides, aliases and validation messages."""

import dataclasses
import pickle
import warnings

import numpy as np
import pytest

import dsa_pettingzoo
from dsa_pettingzoo import BatchedDSA, ConfigError, parallel_env
from dsa_pettingzoo.config import DEFAULT_PU_MEAN_BUSY, make_config, min_pu_mean_busy


def test_defaults_are_setup_a():
    c = make_config()
    assert (c.num_users, c.num_channels, c.horizon) == (10, 5, 100)
    assert c.snr_range == (30.0, 40.0) and c.snr is None
    assert c.pu_prob is None and not c.has_pu
    assert c.reward == "sum_rate" and c.observation == "last_action_feedback"
    assert c == dataclasses.replace(make_config(setup="A"), setup=None)


def test_presets_follow_the_paper():
    a = make_config(setup="A")
    b = make_config(setup="B")
    assert (a.num_users, a.num_channels, a.horizon, a.pu_prob) == (10, 5, 100, None)
    assert (b.num_users, b.num_channels, b.horizon) == (10, 5, 100)
    assert b.pu_prob == (0.2,) * 5 and b.pu_model == "iid" and b.has_pu
    assert make_config(setup="b") == b  # case-insensitive preset name


def test_explicit_kwargs_override_preset():
    c = make_config(setup="B", num_users=4, num_channels=3, pu_prob=[0.1, 0.5, 0.9])
    assert (c.num_users, c.num_channels) == (4, 3)
    assert c.pu_prob == (0.1, 0.5, 0.9)
    # setup B's scalar 0.2 broadcasts to the overridden K
    assert make_config(setup="B", num_channels=3).pu_prob == (0.2, 0.2, 0.2)
    assert make_config(setup="B", pu_prob=None).has_pu is False


def test_max_cycles_is_an_alias_of_horizon():
    assert make_config(max_cycles=7).horizon == 7
    assert make_config(max_cycles=7, horizon=7).horizon == 7
    with pytest.raises(ValueError, match="max_cycles"):
        make_config(max_cycles=7, horizon=8)


def test_markov_defaults_and_fixed_snr():
    c = make_config(setup="B", pu_model="markov")
    assert c.pu_mean_busy == (DEFAULT_PU_MEAN_BUSY,) * 5
    snr = np.arange(1, 7, dtype=float).reshape(2, 3)
    c = make_config(num_users=2, num_channels=3, snr=snr)
    np.testing.assert_array_equal(c.snr_matrix, snr)
    assert c.max_rate == pytest.approx(np.log2(7.0))


def test_config_is_frozen_hashable_and_picklable():
    c = make_config(setup="B", pu_model="markov", pu_mean_busy=[2, 3, 4, 5, 6])
    with pytest.raises(Exception):
        c.num_users = 3
    assert hash(c) == hash(pickle.loads(pickle.dumps(c)))
    assert make_config(**c.to_kwargs()) == dataclasses.replace(c, setup=None)


def test_to_kwargs_roundtrip_with_fixed_snr():
    c = make_config(num_users=1, num_channels=2, snr=[[3.0, 4.0]])
    assert make_config(**c.to_kwargs()).snr == c.snr


NAN, INF = float("nan"), float("inf")
MARKOV = dict(pu_prob=0.2, pu_model="markov")

# (kwargs, the argument ConfigError must name): bools, strings, nan, inf, negative, wrong length
BAD = [
    (dict(num_users=0), "num_users"),
    (dict(num_users=-2), "num_users"),
    (dict(num_users=2.5), "num_users"),
    (dict(num_users=True), "num_users"),
    (dict(num_users="4"), "num_users"),
    (dict(num_users=NAN), "num_users"),
    (dict(num_channels=0), "num_channels"),
    (dict(num_channels="5"), "num_channels"),
    (dict(num_channels=np.bool_(True)), "num_channels"),
    (dict(horizon=0), "horizon"),
    (dict(horizon=True), "horizon"),
    (dict(horizon="100"), "horizon"),
    (dict(horizon=INF), "horizon"),
    (dict(max_cycles=-1), "max_cycles"),
    (dict(max_cycles=False), "max_cycles"),
    (dict(max_cycles=7, horizon=8), "max_cycles"),
    (dict(pu_prob=True), "pu_prob"),
    (dict(pu_prob=False), "pu_prob"),
    (dict(pu_prob="0.2"), "pu_prob"),
    (dict(pu_prob="high"), "pu_prob"),
    (dict(pu_prob=[0.1, "0.2", 0.1, 0.1, 0.1]), "pu_prob"),
    (dict(pu_prob=np.array([True] * 5)), "pu_prob"),
    (dict(pu_prob=1.5), "pu_prob"),
    (dict(pu_prob=-0.1), "pu_prob"),
    (dict(pu_prob=[0.1, 0.2]), "pu_prob"),
    (dict(pu_prob=NAN), "pu_prob"),
    (dict(pu_prob=INF), "pu_prob"),
    (dict(snr_range=(40, 30)), "snr_range"),
    (dict(snr_range=(0, 30)), "snr_range"),
    (dict(snr_range=(-5, 30)), "snr_range"),
    (dict(snr_range=(30,)), "snr_range"),
    (dict(snr_range=(30, 35, 40)), "snr_range"),
    (dict(snr_range=(30, INF)), "snr_range"),
    (dict(snr_range=(NAN, 40)), "snr_range"),
    (dict(snr_range=(True, 40)), "snr_range"),
    (dict(snr_range=("30", "40")), "snr_range"),
    (dict(snr_range="30 40"), "snr_range"),
    (dict(snr_range=35), "snr_range"),
    (dict(snr=np.ones((3, 5))), "snr"),
    (dict(snr=-np.ones((10, 5))), "snr"),
    (dict(num_users=1, num_channels=1, snr=[[True]]), "snr"),
    (dict(num_users=1, num_channels=1, snr=[["30"]]), "snr"),
    (dict(num_users=1, num_channels=1, snr=[[NAN]]), "snr"),
    (dict(num_users=1, num_channels=1, snr=[[INF]]), "snr"),
    (dict(num_users=1, num_channels=2, snr=[[1.0], [2.0, 3.0]]), "snr"),
    (dict(snr=np.ones((10, 5)), snr_range=(1, 2)), "snr"),
    (dict(setup="D"), "setup"),
    (dict(setup=True), "setup"),
    (dict(setup=1), "setup"),
    (dict(reward="max_rate"), "reward"),
    (dict(reward=True), "reward"),
    (dict(observation="full"), "observation"),
    (dict(observation=0), "observation"),
    (dict(pu_model="gilbert"), "pu_model"),
    (dict(pu_model=True), "pu_model"),
    (dict(pu_model="markov"), "pu_model"),  # markov without pu_prob
    (dict(pu_prob=0.2, pu_mean_busy=3), "pu_mean_busy"),  # iid does not use it
    (dict(MARKOV, pu_mean_busy=0.5), "pu_mean_busy"),
    (dict(MARKOV, pu_mean_busy=-5), "pu_mean_busy"),
    (dict(MARKOV, pu_mean_busy=True), "pu_mean_busy"),
    (dict(MARKOV, pu_mean_busy="5"), "pu_mean_busy"),
    (dict(MARKOV, pu_mean_busy=NAN), "pu_mean_busy"),
    (dict(MARKOV, pu_mean_busy=INF), "pu_mean_busy"),
    (dict(MARKOV, pu_mean_busy=[2, 3]), "pu_mean_busy"),
    (dict(pu_prob=0.9, pu_model="markov", pu_mean_busy=2), "pu_mean_busy"),  # needs D >= 9
    (dict(render_mode="video"), "render_mode"),
    (dict(render_mode=True), "render_mode"),
    (dict(num_agents=3), "num_agents"),
]


@pytest.mark.parametrize("kwargs,name", BAD, ids=[f"{n}-{i}" for i, (_, n) in enumerate(BAD)])
def test_bad_arguments_raise_configerror_naming_the_argument(kwargs, name):
    with pytest.raises(ConfigError, match=name) as info:
        make_config(**kwargs)
    assert info.value.argument == name
    assert isinstance(info.value, ValueError)
    # every constructor goes through make_config
    for build in (parallel_env, dsa_pettingzoo.env, lambda **kw: BatchedDSA(2, **kw)):
        with pytest.raises(ConfigError) as again:
            build(**kwargs)
        assert again.value.argument == name and str(again.value) == str(info.value)


def test_configerror_pickles_with_its_argument():
    with pytest.raises(ConfigError) as info:
        make_config(pu_prob=True)
    err = pickle.loads(pickle.dumps(info.value))
    assert (type(err), err.argument, str(err)) == (ConfigError, "pu_prob", str(info.value))


def test_markov_default_mean_busy_is_the_smallest_valid_value_above_5():
    """pi = 0.9 needs D >= 9, beyond the default 5: the default becomes 9 there."""
    c = make_config(num_channels=4, pu_prob=[0.2, 5 / 6, 0.9, 1.0], pu_model="markov")
    np.testing.assert_allclose(c.pu_mean_busy, [5.0, 5.0, 9.0, 5.0])
    np.testing.assert_allclose(min_pu_mean_busy([0.2, 0.5, 0.9, 1.0]), [1.0, 1.0, 9.0, 1.0])
    env = parallel_env(pu_prob=0.9, pu_model="markov", horizon=2000)
    env.reset(seed=0)
    occupancy = env.simulator.pu_occupancy[0]
    assert 0.85 < occupancy.mean() < 0.95  # the chain exists and has pi = 0.9
    with pytest.raises(ConfigError, match="use at least 9") as info:
        make_config(pu_prob=0.9, pu_model="markov", pu_mean_busy=5)
    assert info.value.argument == "pu_mean_busy"


@pytest.mark.parametrize(
    "n,k,warns",
    [
        (10**6, 5, True),
        (10**5 + 1, 1, True),
        (10**5, 100, False),
        (4000, 2501, True),
        (10**4, 1000, False),
    ],
)
def test_large_system_warns_naming_its_size(n, k, warns):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = make_config(num_users=n, num_channels=k)
    assert (c.num_users, c.num_channels) == (n, k)  # allowed, only warned about
    messages = [str(w.message) for w in caught if w.category is UserWarning]
    assert len(messages) == (1 if warns else 0)
    if warns:
        assert f"num_users={n}, num_channels={k}" in messages[0]
        assert "num_users <= 100,000, num_users x num_channels <= 10,000,000" in messages[0]


def test_error_lists_allowed_names():
    with pytest.raises(ValueError, match="proportional_fair"):
        make_config(reward="fair")
    with pytest.raises(ValueError, match="'A', 'B', 'C'"):
        make_config(setup="Z")


def test_markov_edge_probabilities_are_allowed():
    c = make_config(pu_prob=[0.0, 1.0, 0.5], num_channels=3, pu_model="markov", pu_mean_busy=1)
    assert c.pu_mean_busy == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("n", [0, -3, 1.5, "4"])
def test_batched_num_envs_validated(n):
    with pytest.raises(ValueError, match="num_envs"):
        BatchedDSA(n)
