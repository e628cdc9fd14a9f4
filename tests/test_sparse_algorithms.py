"""Sparse training algorithms (pruning_callbacks.algorithms) on plain torch modules:
drop = grow at every update, each tensor at its target (uniform, ERK), RigL's growth on a
hand-built gradient, the static mask fixed, the settings' checks, state round trips."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from pruning_callbacks.algorithms import ALGORITHMS, algorithm_class, algorithm_names
from pruning_callbacks.algorithms.base import module_seed
from pruning_callbacks.algorithms.distribution import erk_counts, erk_densities, prune_counts
from pruning_callbacks.masks import MagnitudePruner
from pruning_callbacks.rllib.pruning_config import PruningConfig, PruningConfigError
from pruning_callbacks.schedules import make_schedule


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.inp = nn.Linear(10, 16)
        self.lstm = nn.LSTM(16, 8, batch_first=True)
        self.logits = nn.Linear(8, 4)

    def forward(self, x):
        h, _ = self.lstm(torch.relu(self.inp(x)))
        return self.logits(h)


def build(name, sparsity=0.8, distribution="uniform", **kw):
    net = Net()
    schedule = make_schedule(
        "constant", final_sparsity=sparsity, final_iteration=kw.pop("final", 100)
    )
    options = dict(distribution=distribution, update_interval=1, drop_fraction=0.3, drop_end=50)
    options.update(kw)
    return net, algorithm_class(name)(net, schedule, seed=module_seed(0, "a"), **options)


def train_step(net, algo, i=0):
    """One loss/backward, the dense gradients shown, masked, an SGD step, masks held."""
    x = torch.randn(3, 5, 10, generator=torch.Generator().manual_seed(i))
    net.zero_grad()
    net(x).pow(2).mean().backward()
    for name, p in algo.params.items():
        if algo.wants_gradient(i):
            algo.observe_gradient(name, p.grad)
        p.grad = algo.masked_gradient(name, p.grad)
    with torch.no_grad():
        for p in net.parameters():
            p -= 0.1 * p.grad
    algo.after_optimizer_step()


def test_registry_names():
    assert algorithm_names() == ["magnitude", "rigl", "set", "static"]
    assert [n for n, e in ALGORITHMS.items() if e.from_scratch] == ["static", "set", "rigl"]
    with pytest.raises(ValueError, match="unknown algorithm 'x'; allowed"):
        algorithm_class("x")


@pytest.mark.parametrize("distribution", ["uniform", "erk"])
@pytest.mark.parametrize("name", ["static", "set", "rigl"])
def test_each_tensor_stays_at_its_target(name, distribution):
    net, algo = build(name, distribution=distribution)
    shapes = [p.shape for p in algo.params.values()]
    expected = prune_counts(shapes, 0.8, distribution)
    for i in range(6):
        train_step(net, algo, i)
        # the held masks: every pruned entry is zero after the step
        assert all((p[~algo.masks[n]] == 0).all() for n, p in algo.params.items())
        step = algo.step(i)
        assert [int((~m).sum()) for m in algo.masks.values()] == expected
        if name != "static":
            assert step.event and step.metrics["num_dropped"] == step.metrics["num_grown"] > 0
    sizes = [math.prod(s) for s in shapes]
    if distribution == "erk":  # the overall sparsity is the target, exactly
        assert sum(expected) == round(0.8 * sum(sizes))
    else:  # each tensor within half a weight of it
        assert all(abs(k - 0.8 * n) <= 0.5 for k, n in zip(expected, sizes))


def test_drop_equals_grow_per_tensor_and_optimizer_reset_positions():
    for name in ("set", "rigl"):
        net, algo = build(name)
        train_step(net, algo, 0)
        before = {n: m.clone() for n, m in algo.masks.items()}
        step = algo.step(0)
        for n, m in algo.masks.items():
            dropped = before[n] & ~m
            grown = ~before[n] & m
            assert int(dropped.sum()) == int(grown.sum())
            assert torch.equal(step.changed[n] & (before[n] ^ m), before[n] ^ m)
            assert (algo.params[n][grown] == 0).all()  # new weights start at zero


def test_erk_rule():
    shapes = [(16, 10), (32, 16), (32, 8), (4, 8)]
    d = erk_densities(shapes, 0.9)
    raw = [sum(s) / math.prod(s) for s in shapes]
    free = [j for j in range(4) if d[j] < 1]
    ratios = {round(d[j] / raw[j], 12) for j in free}
    assert len(ratios) == 1  # one eps: density proportional to (fan_in + fan_out)/(fan_in fan_out)
    assert all(x <= 1 for x in d)
    n = [math.prod(s) for s in shapes]
    assert sum(erk_counts(shapes, 0.9)) == round(0.9 * sum(n))
    # a small layer whose density would exceed 1 is kept dense, the others rescaled
    d2 = erk_densities([(2, 2), (400, 400)], 0.5)
    assert d2[0] == 1.0 and abs(4 + d2[1] * 160000 - 0.5 * 160004) < 1e-6


def test_rigl_grows_where_the_gradient_is_largest():
    lin = nn.Linear(4, 2, bias=False)
    schedule = make_schedule("constant", final_sparsity=0.5, final_iteration=100)
    algo = algorithm_class("rigl")(
        lin, schedule, seed=1, update_interval=1, drop_fraction=0.5, drop_end=50
    )
    mask = torch.tensor([[True, True, False, False], [True, True, False, False]])
    with torch.no_grad():  # after the random start: a hand-built mask and weights
        lin.weight.copy_(torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]))
    algo.pruner.set_masks({"weight": mask}, 0.5)
    grad = torch.tensor([[0.0, 0.0, 0.1, 9.0], [0.0, 0.0, 5.0, 0.2]])
    assert algo.wants_gradient(0)
    algo.observe_gradient("weight", grad)
    step = algo.step(0)  # f_0 = 0.5: drop 2 of the 4 active, the smallest |w|: 1 and 2
    assert step.metrics["num_dropped"] == step.metrics["num_grown"] == 2
    expected = torch.tensor([[False, False, False, True], [True, True, True, False]])
    assert torch.equal(algo.masks["weight"], expected)
    assert lin.weight[0, 3] == 0 and lin.weight[1, 2] == 0  # grown at zero


def test_static_mask_never_changes():
    net, algo = build("static")
    first = {n: m.clone() for n, m in algo.masks.items()}
    for i in range(5):
        train_step(net, algo, i)
        assert not algo.step(i).event
    assert all(torch.equal(first[n], m) for n, m in algo.masks.items())
    # seeded: the same seed, the same mask; another module id, another
    _, again = build("static")
    assert all(torch.equal(first[n], m) for n, m in again.masks.items())
    other = algorithm_class("static")(
        Net(), make_schedule("constant", final_sparsity=0.8), seed=module_seed(0, "b")
    )
    assert any(not torch.equal(first[n], m) for n, m in other.masks.items())


def test_drop_fraction_decays_by_cosine_to_zero():
    _, algo = build("set", drop_fraction=0.3, drop_end=40, update_interval=10)
    assert algo.drop_fraction_at(0) == pytest.approx(0.3)
    assert algo.drop_fraction_at(20) == pytest.approx(0.15)
    assert algo.drop_fraction_at(40) == 0.0 and algo.drop_fraction_at(99) == 0.0
    assert [i for i in range(100) if algo.is_update_iter(i)] == [9, 19, 29, 39]


@pytest.mark.parametrize("name", ["set", "rigl"])
def test_state_round_trip_continues_the_same_run(name):
    net, algo = build(name)
    for i in range(4):
        train_step(net, algo, i)
        algo.step(i)
    net_b, algo_b = build(name)
    for i in range(2):
        train_step(net_b, algo_b, i)
        algo_b.step(i)
    state, weights = algo_b.get_state(), {k: v.clone() for k, v in net_b.state_dict().items()}
    net_c, algo_c = build(name)
    torch.manual_seed(123)  # the restored one must not depend on the global RNG
    net_c.load_state_dict(weights)
    algo_c.set_state(state)
    for i in range(2, 4):
        train_step(net_c, algo_c, i)
        algo_c.step(i)
    assert algo_c.num_updates == algo.num_updates == 4
    assert all(torch.equal(algo.masks[n], algo_c.masks[n]) for n in algo.masks)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), net_c.parameters()))


def test_magnitude_with_erk_keeps_the_total():
    net = Net()
    pr = MagnitudePruner(net, distribution="erk")
    pr.prune_to(0.9)
    n = pr.num_prunable()
    assert sum(int((~m).sum()) for m in pr.masks.values()) == round(0.9 * n)
    with pytest.raises(ValueError, match="needs ranking 'layer'"):
        MagnitudePruner(net, distribution="erk", ranking="global")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(algorithm="lottery"), "algorithm"),
        (dict(algorithm="rigl", final_iteration=10), "schedule"),
        (dict(algorithm="set", schedule={"name": "constant"}), "drop_end"),
        (dict(distribution="erdos"), "distribution"),
        (dict(distribution="erk", ranking="global"), "ranking"),
        (dict(algorithm="static", schedule={"name": "constant"}, ranking="global"), "ranking"),
        (dict(update_interval=0), "update_interval"),
        (dict(drop_fraction=1.5), "drop_fraction"),
        (dict(drop_end=0), "drop_end"),
    ],
)
def test_config_errors_name_the_key(kwargs, field):
    with pytest.raises(PruningConfigError) as err:
        PruningConfig(**kwargs)
    assert err.value.field == field and f"pruning.{field}" in str(err.value)


def test_old_configs_keep_their_meaning():
    old = {"schedule": {"name": "linear", "final_sparsity": 0.5, "end": 10}, "mode": "regrow"}
    cfg = PruningConfig.from_dict(old)
    assert (cfg.algorithm, cfg.distribution) == ("magnitude", "uniform")
    rigl = PruningConfig(
        algorithm="rigl", schedule={"name": "constant", "final_sparsity": 0.9}, final_iteration=100
    )
    assert rigl.algorithm_kwargs()["drop_end"] == 75
