"""Magnitude pruning with own masks: exact counts, ties, scopes, both mask modes, LSTM use."""

import copy

import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from pruning_callbacks.masks import (  # noqa: E402
    MagnitudePruner,
    num_to_prune,
    prunable_parameters,
    smallest_k_mask,
)


def _train_step(module, opt, pruner=None, seed=0):
    """One Adam step on a random regression loss; masks handled as the Learner does."""
    g = torch.Generator().manual_seed(seed)
    opt.zero_grad()
    x = torch.randn(8, 6, generator=g)
    out = module(x)
    out = out[0] if isinstance(out, tuple) else out
    (out**2).mean().backward()
    if pruner is not None:
        pruner.mask_gradients()
    opt.step()
    if pruner is not None:
        pruner.after_optimizer_step()


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(6, 20), nn.ReLU(), nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 3)
    )


# ---------------------------------------------------------------- counts and ties
def test_num_to_prune_rounding():
    assert num_to_prune(200, 0.37) == 74
    assert num_to_prune(1000, 0.95) == 950  # 0.95 * 1000 is 949.999... in floats
    assert num_to_prune(10, 0.25) == 3  # 2.5 rounds up
    assert num_to_prune(10, 0.0) == 0 and num_to_prune(10, 1.0) == 10
    with pytest.raises(ValueError, match="sparsity"):
        num_to_prune(10, 1.5)


def test_ties_lower_index_pruned_first():
    keep = smallest_k_mask(torch.tensor([3.0, 1.0, 2.0, 1.0, 1.0]), 2)
    assert keep.tolist() == [True, False, True, False, True]
    keep = smallest_k_mask(torch.ones(2, 3), 4)
    assert keep.tolist() == [[False, False, False], [False, True, True]]


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.sampled_from([-1.0, 0.0, 0.25, 0.5, 2.0, float("inf")]), min_size=1, max_size=60
    ),
    frac=st.floats(0.0, 1.0),
)
def test_selection_equals_the_stable_sort_definition(values, frac):
    """The k smallest by value, ties by lower flat index: what a stable sort's first k are."""
    scores = torch.tensor(values).reshape(-1, 1) if len(values) % 2 else torch.tensor(values)
    k = int(frac * len(values))
    expected = torch.ones(len(values), dtype=torch.bool)
    expected[torch.sort(torch.tensor(values), stable=True).indices[:k]] = False
    keep = smallest_k_mask(scores, k)
    assert keep.shape == scores.shape
    assert torch.equal(keep.reshape(-1), expected)


def test_ties_in_a_constant_layer():
    lin = nn.Linear(5, 4)
    with torch.no_grad():
        lin.weight.fill_(0.5)
    pr = MagnitudePruner(lin)
    pr.prune_to(0.5)  # 10 of 20 entries, the first 10 in flat (row-major) order
    assert (lin.weight.reshape(-1)[:10] == 0).all() and (lin.weight.reshape(-1)[10:] == 0.5).all()


@pytest.mark.parametrize("p", [0.0, 0.1, 0.37, 0.5, 0.8, 0.95])
def test_exact_fraction_per_layer(p):
    m = _mlp()
    pr = MagnitudePruner(m)
    pr.prune_to(p)
    for name, w in pr.params.items():
        assert int((w == 0).sum()) == num_to_prune(w.numel(), p), name
        assert abs(float((w == 0).float().mean()) - p) <= 0.5 / w.numel() + 1e-12
    # the pruned entries are the smallest-magnitude ones
    ref = _mlp()
    for name, w in pr.params.items():
        orig = dict(ref.named_parameters())[name].detach().abs()
        if 0 < p:
            assert orig[w == 0].max() <= orig[w != 0].min()


def test_biases_dense_by_default_and_optional():
    m = _mlp()
    pr = MagnitudePruner(m)
    assert all(n.endswith("weight") for n in pr.params)
    pr.prune_to(0.6)
    assert all((b != 0).all() for n, b in m.named_parameters() if n.endswith("bias"))
    m2 = _mlp()
    pr2 = MagnitudePruner(m2, prune_biases=True)
    assert any(n.endswith("bias") for n in pr2.params)
    pr2.prune_to(0.6)
    b = m2[0].bias
    assert int((b == 0).sum()) == num_to_prune(b.numel(), 0.6)


def test_include_exclude_patterns():
    m = _mlp()
    assert list(prunable_parameters(m, exclude=["4.*"])) == ["0.weight", "2.weight"]
    assert list(prunable_parameters(m, include=["2.*"], prune_biases=True)) == [
        "2.weight",
        "2.bias",
    ]
    with pytest.raises(ValueError, match="no prunable parameter"):
        MagnitudePruner(m, include=["nothing*"])


def test_global_scope_ranks_across_layers():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(10, 10, bias=False), nn.Linear(10, 10, bias=False))
    with (
        torch.no_grad()
    ):  # |layer 0| < 0.01 <= 0.5 < |layer 1|: a global ranking prunes layer 0 first
        m[0].weight.uniform_(-0.01, 0.01)
        m[1].weight.copy_(torch.sign(m[1].weight) * (0.5 + m[1].weight.abs()))
    g = copy.deepcopy(m)
    MagnitudePruner(g, ranking="global").prune_to(0.5)
    assert (g[0].weight == 0).all() and (g[1].weight != 0).all()
    MagnitudePruner(m, ranking="layer").prune_to(0.5)
    assert int((m[0].weight == 0).sum()) == 50 and int((m[1].weight == 0).sum()) == 50


def test_global_scope_exact_total():
    m = _mlp()
    pr = MagnitudePruner(m, ranking="global")
    pr.prune_to(0.73)
    zeros = sum(int((w == 0).sum()) for w in pr.params.values())
    assert zeros == num_to_prune(pr.num_prunable(), 0.73)


def test_bad_arguments():
    m = _mlp()
    with pytest.raises(ValueError, match="mode"):
        MagnitudePruner(m, mode="soft")
    with pytest.raises(ValueError, match="ranking"):
        MagnitudePruner(m, ranking="net")
    with pytest.raises(ValueError, match="regrow_from"):
        MagnitudePruner(m, regrow_from="random")
    with pytest.raises(ValueError, match="sparsity"):
        MagnitudePruner(m).prune_to(1.0)


# ---------------------------------------------------------------- hold mode
def test_hold_mode_keeps_sparsity_through_training():
    m = _mlp()
    pr = MagnitudePruner(m, mode="hold")
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    pr.prune_to(0.7)
    before = {n: (w == 0).clone() for n, w in pr.params.items()}
    for s in range(5):
        _train_step(m, opt, pr, seed=s)
        for n, w in pr.params.items():
            assert torch.equal(w == 0, before[n])  # exactly the same zeros after every step


def test_hold_mode_masks_are_nested_when_growing():
    m = _mlp()
    pr = MagnitudePruner(m, mode="hold")
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    pr.prune_to(0.3)
    old = {n: ~k.clone() for n, k in pr.masks.items()}
    _train_step(m, opt, pr)
    pr.prune_to(0.6)
    for n, k in pr.masks.items():
        assert (old[n] <= ~k).all()  # pruned before -> still pruned
        assert int((~k).sum()) == num_to_prune(k.numel(), 0.6)


@pytest.mark.parametrize("regrow_from", ["zero", "pruned_value"])
def test_hold_mode_release_when_sparsity_drops(regrow_from):
    m = _mlp()
    dense = {n: w.detach().clone() for n, w in m.named_parameters()}
    pr = MagnitudePruner(m, mode="hold", regrow_from=regrow_from)
    pr.prune_to(0.8)  # pruned values are the dense ones (no training yet)
    pruned_08 = {n: ~k.clone() for n, k in pr.masks.items()}
    pr.prune_to(0.5)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    for n, k in pr.masks.items():
        now_pruned = ~k
        released = pruned_08[n] & k
        assert (now_pruned <= pruned_08[n]).all()  # nested: only previously pruned are released
        assert int(now_pruned.sum()) == num_to_prune(k.numel(), 0.5)
        assert int(released.sum()) == num_to_prune(k.numel(), 0.8) - num_to_prune(k.numel(), 0.5)
        # the released ones had the largest magnitudes among the 80 % pruned
        mag = dense[n].abs()
        assert mag[released].min() >= mag[now_pruned].max()
        w = pr.params[n].detach()
        if regrow_from == "zero":
            assert (w[released] == 0).all()
        else:
            assert torch.equal(w[released], dense[n][released])
        assert (w[now_pruned] == 0).all()
    # released weights train again: one SGD step moves them by -lr * grad, pruned stay 0
    start = {n: w.detach().clone() for n, w in pr.params.items()}
    _train_step(m, opt, pr)
    moved = 0
    for n, k in pr.masks.items():
        released = pruned_08[n] & k
        p = pr.params[n]
        assert (p[~k] == 0).all()
        assert torch.allclose(p.detach()[released], start[n][released] - 0.1 * p.grad[released])
        moved += int((p.detach()[released] != start[n][released]).sum())
    assert moved > 0


def test_mask_gradients():
    m = _mlp()
    pr = MagnitudePruner(m)
    pr.prune_to(0.5)
    out = m(torch.randn(4, 6))
    out.sum().backward()
    pr.mask_gradients()
    for n, w in pr.params.items():
        assert (w.grad[~pr.masks[n]] == 0).all()


# ---------------------------------------------------------------- regrow mode
def test_regrow_mode_frees_weights_between_events():
    m = _mlp()
    pr = MagnitudePruner(m, mode="regrow")
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    pr.prune_to(0.6)
    assert pr.sparsity() == pytest.approx(pr.mask_sparsity())
    pruned = {n: ~k.clone() for n, k in pr.masks.items()}
    _train_step(m, opt, pr)
    # no mask is held between events: pruned weights regrow from zero
    assert pr.sparsity() < 0.3
    w0 = pr.params["0.weight"].detach()
    assert (w0[pruned["0.weight"]] != 0).float().mean() > 0.5
    # the next event ranks all current weights afresh
    current = {n: w.detach().abs().clone() for n, w in pr.params.items()}
    pr.prune_to(0.6)
    for n, k in pr.masks.items():
        assert torch.equal(k, smallest_k_mask(current[n], num_to_prune(k.numel(), 0.6)))


@pytest.mark.parametrize("mode", ["hold", "regrow"])
@pytest.mark.parametrize("scope", ["layer", "global"])
def test_finalize_exact_and_held(mode, scope):
    m = _mlp()
    pr = MagnitudePruner(m, mode=mode, ranking=scope)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for s, p in enumerate([0.2, 0.5, 0.4, 0.7]):  # up and down, as the harmonic schedule
        pr.prune_to(p)
        _train_step(m, opt, pr, seed=s)
    pr.finalize(0.9)
    for _ in range(3):  # training after finalize keeps the masks in both modes
        _train_step(m, opt, pr, seed=7)
    if scope == "layer":
        for n, w in pr.params.items():
            assert abs(float((w == 0).float().mean()) - 0.9) <= 0.5 / w.numel() + 1e-12, n
    else:
        assert abs(pr.sparsity() - 0.9) <= 0.5 / pr.num_prunable() + 1e-12


# ---------------------------------------------------------------- LSTM
class _LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 16, num_layers=2, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        y, _ = self.lstm(x.reshape(x.shape[0], -1, 6))
        return self.head(y[:, -1])


@pytest.mark.parametrize("mode", ["hold", "regrow"])
def test_lstm_usable_after_pruning(mode):
    torch.manual_seed(0)
    net = _LSTMNet()
    pr = MagnitudePruner(net, mode=mode)
    assert set(pr.params) == {
        "lstm.weight_ih_l0",
        "lstm.weight_hh_l0",
        "lstm.weight_ih_l1",
        "lstm.weight_hh_l1",
        "head.weight",
    }
    params_before = {n: p for n, p in net.named_parameters()}
    pr.prune_to(0.75)
    # same parameter objects; the LSTM's flat weights still alias them
    assert all(p is params_before[n] for n, p in net.named_parameters())
    for w, name in zip(net.lstm._flat_weights, net.lstm._flat_weights_names):
        assert w.data_ptr() == getattr(net.lstm, name).data_ptr()
    # forward equals a fresh LSTM loaded with the masked weights (the zeros are used)
    ref = _LSTMNet()
    ref.load_state_dict(net.state_dict())
    x = torch.randn(4, 5, 6)
    assert torch.allclose(net(x), ref(x))
    assert (ref.lstm.weight_hh_l1 == 0).float().mean() == pytest.approx(0.75, abs=1 / 1024)
    # backward works and reaches every LSTM matrix
    net(x).pow(2).mean().backward()
    for n in pr.params:
        assert dict(net.named_parameters())[n].grad is not None
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    pr.mask_gradients()
    opt.step()
    pr.after_optimizer_step()
    if mode == "hold":
        assert pr.sparsity() == pytest.approx(pr.mask_sparsity())
    pr.finalize(0.9)
    y = net(x)
    assert torch.isfinite(y).all()
    y.sum().backward()


# ---------------------------------------------------------------- state
def test_state_roundtrip_resumes_identically():
    m = _mlp()
    pr = MagnitudePruner(m, mode="hold", regrow_from="pruned_value")
    pr.prune_to(0.7)
    state = pr.get_state()
    m2 = copy.deepcopy(m)
    pr2 = MagnitudePruner(m2, mode="hold", regrow_from="pruned_value")
    pr2.set_state(state)
    assert pr2.target_sparsity == 0.7
    for n in pr.masks:
        assert torch.equal(pr.masks[n], pr2.masks[n])
    pr.prune_to(0.4)
    pr2.prune_to(0.4)
    for (n, a), b in zip(m.named_parameters(), m2.parameters()):
        assert torch.equal(a, b), n
    with pytest.raises(ValueError, match="pruning state is for parameters"):
        MagnitudePruner(nn.Linear(3, 3)).set_state(state)
