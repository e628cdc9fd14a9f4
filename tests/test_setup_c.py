"""Setup C (heterogeneous Markov primary users) and the scale presets (K = N/2)."""

import numpy as np
import pytest

from dsa_pettingzoo import BatchedDSA, ConfigError, parallel_env
from dsa_pettingzoo.baselines import make_policy
from dsa_pettingzoo.config import SCALE_NUM_USERS, SETUPS, ChannelSpread, make_config, scale_preset
from dsa_pettingzoo.physics import PU_BLOCKED


def test_setup_c_spreads_occupancy_and_busy_runs_over_the_channels():
    c = make_config(setup="C")
    assert SETUPS == ("A", "B", "C")
    assert (c.num_users, c.num_channels, c.horizon, c.pu_model) == (10, 5, 100, "markov")
    assert c.pu_prob == (0.1, 0.2, 0.3, 0.4, 0.5)
    assert c.pu_mean_busy == (10.0, 12.5, 15.0, 17.5, 20.0)
    assert make_config(setup="C", num_channels=1).pu_prob == (0.3,)  # K = 1: the midpoints
    wide = make_config(setup="C", num_channels=9)  # defined for any K
    np.testing.assert_allclose(wide.pu_prob, np.linspace(0.1, 0.5, 9))
    np.testing.assert_allclose(wide.pu_mean_busy, np.linspace(10, 20, 9))


def test_explicit_kwargs_override_setup_c():
    assert make_config(setup="C", pu_mean_busy=3).pu_mean_busy == (3.0,) * 5
    assert make_config(setup="C", pu_prob=0.2).pu_prob == (0.2,) * 5
    iid = make_config(setup="C", pu_model="iid")  # the occupancies stay, i.i.d.
    assert iid.pu_prob == (0.1, 0.2, 0.3, 0.4, 0.5) and iid.pu_mean_busy is None
    assert not make_config(setup="C", pu_prob=None).has_pu  # no PUs: "markov" goes too
    # an explicit pi = 0.95 needs D >= 19: the preset's D is raised where it falls short
    np.testing.assert_allclose(make_config(setup="C", pu_prob=0.95).pu_mean_busy, [19] * 4 + [20])
    spread = make_config(setup="B", pu_prob=ChannelSpread(0.0, 1.0), num_channels=3)
    assert spread.pu_prob == (0.0, 0.5, 1.0)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(pu_mean_busy=[10, 20]), "pu_mean_busy"),
        (dict(pu_mean_busy=0.5), "pu_mean_busy"),
        (dict(pu_prob=0.95, pu_mean_busy=10), "pu_mean_busy"),  # explicit: never raised
        (dict(pu_prob=[0.1, 0.2]), "pu_prob"),
        (dict(pu_prob=ChannelSpread(0.1, 1.5)), "pu_prob"),
        (dict(pu_prob=ChannelSpread("low", 0.5)), "pu_prob"),
        (dict(pu_mean_busy=ChannelSpread(0.1, 2)), "pu_mean_busy"),
        (dict(pu_model="gilbert"), "pu_model"),
        (dict(pu_prob=None, pu_model="markov"), "pu_model"),
    ],
)
def test_bad_kwargs_with_setup_c_name_the_argument(kwargs, name):
    with pytest.raises(ConfigError) as info:
        make_config(setup="C", **kwargs)
    assert info.value.argument == name


def test_markov_chain_of_each_channel_matches_its_hand_derived_law():
    """pi_k, the mean busy run D_k and P(busy -> busy) = 1 - 1/D_k, within 4 standard errors.

    200 episodes of 1000 slots: 2e5 slots per channel. The occupancy's standard error is that of
    a two-state chain, sqrt(pi (1 - pi) / n * (1 + lam) / (1 - lam)) with lam = 1 - p_bf - p_fb
    its second eigenvalue; a busy run is Geometric(1/D), of standard deviation sqrt(D (D - 1)).
    Runs cut by an episode's ends are left out (their bias, about D/T, is below the tolerance).
    """
    sim = BatchedDSA(200, setup="C", horizon=1000)
    sim.reset(seed=2024)
    busy = sim.pu_occupancy  # [B, T, K]
    c = sim.config
    for k, (pi, D) in enumerate(zip(c.pu_prob, c.pu_mean_busy)):
        x = busy[:, :, k]
        p_bf, p_fb = 1 / D, pi / (D * (1 - pi))
        lam = 1 - p_bf - p_fb
        n = x.size
        se_pi = np.sqrt(pi * (1 - pi) / n * (1 + lam) / (1 - lam))
        assert abs(x.mean() - pi) < 4 * se_pi, (k, x.mean(), pi)
        runs = []
        for row in x:
            edges = np.flatnonzero(np.diff(np.r_[0, row.astype(np.int8), 0]))
            starts, ends = edges[::2], edges[1::2]
            inside = (starts > 0) & (ends < len(row))
            runs.extend(ends[inside] - starts[inside])
        runs = np.asarray(runs)
        assert abs(runs.mean() - D) < 4 * np.sqrt(D * (D - 1) / len(runs)), (k, runs.mean(), D)
        stay = x[:, 1:][x[:, :-1]].mean()  # P(busy at t+1 | busy at t)
        assert abs(stay - (1 - 1 / D)) < 4 * np.sqrt(p_bf * (1 - p_bf) / x[:, :-1].sum())


def test_setup_c_is_determined_by_the_seed():
    a, b, other = (parallel_env(setup="C") for _ in range(3))
    a.reset(seed=7)
    b.reset(seed=7)
    other.reset(seed=8)
    occ = a.simulator.pu_occupancy
    np.testing.assert_array_equal(occ, b.simulator.pu_occupancy)
    np.testing.assert_array_equal(a.simulator.beta, b.simulator.beta)
    assert not np.array_equal(occ, other.simulator.pu_occupancy)
    sim = BatchedDSA(3, setup="C")
    sim.reset(seeds=[8, 7, 9])
    np.testing.assert_array_equal(sim.pu_occupancy[1], occ[0])


def test_oracle_reads_the_markov_state_and_is_never_blocked():
    sim = BatchedDSA(8, setup="C")
    oracle = make_policy("oracle")
    sim.reset(seed=1)
    oracle.reset(sim.config, num_envs=8, rng=np.random.default_rng(0))
    for _ in range(sim.horizon):
        free = (~sim.pu_busy_next).sum(axis=1)
        _, _, _, _, info = sim.step(oracle.act(sim))
        assert not (info["feedback"] == PU_BLOCKED).any()
        assert ((info["feedback"] == 1).sum(axis=1) == np.minimum(free, 10)).all()


def test_scale_presets_keep_k_equal_to_n_over_2():
    assert SCALE_NUM_USERS == (10, 20, 50, 100)
    for setup in SETUPS:
        for N in SCALE_NUM_USERS:
            c = make_config(**scale_preset(setup, N))
            assert (c.setup, c.num_users, c.num_channels) == (setup, N, N // 2)
    assert make_config(**scale_preset("A", 10)) == make_config(setup="A")
    big = make_config(**scale_preset("c", 100))
    assert len(big.pu_prob) == 50 and big.pu_prob[0] == 0.1 and big.pu_prob[-1] == 0.5
    assert big.pu_mean_busy[0] == 10.0 and big.pu_mean_busy[-1] == 20.0
    for setup, N, name in (
        ("A", 11, "num_users"),
        ("A", 0, "num_users"),
        ("Z", 10, "setup"),
        ("A", True, "num_users"),
    ):
        with pytest.raises(ConfigError) as info:
            scale_preset(setup, N)
        assert info.value.argument == name
