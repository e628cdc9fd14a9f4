"""Tests of rllib_experiments.methods: the extra learning rows of Table I.

Hand-derivable checks (mask counts, the A2C loss, double-DQN targets) run without
Ray; the tiny RLlib runs (N=3 users, K=2, T=20, small networks) check that the
sharing rows really share: every user's weights equal theta * m_n on the learner
AND on the env runner after training, with distinct masks for PaI and identical
weights for DQN.
"""

import numpy as np
import pytest
import torch

from rllib_experiments.methods import PAPER_ROWS, ROWS, get_row
from rllib_experiments.methods.drqn import double_q_targets
from rllib_experiments.methods.shared_actors import random_masks


def test_rows_registry():
    assert PAPER_ROWS == [
        "aloha",
        "oca",
        "iagc",
        "dqn",
        "pai50",
        "dense",
        "harmonic",
        "linear",
        "polynomial",
        "polynomial200",
    ]
    # Table I values are carried verbatim.
    assert ROWS["harmonic"].paper == {"A": 1826.86, "B": 1223.41}
    assert ROWS["dqn"].paper == {"A": 742.54, "B": 555.41}
    for row in ROWS.values():
        assert row.kind in ("baseline", "learning")
        if row.kind == "learning":
            assert row.settings is not None and row.build is not None
    with pytest.raises(ValueError, match="unknown row 'nope'.*allowed"):
        get_row("nope")


def test_row_settings_follow_the_paper():
    from rllib_experiments.settings import load_preset

    base = load_preset("paper_A", iterations=500)
    assert get_row("iagc").settings(base).num_epochs == 1
    h = get_row("harmonic").settings(base)
    assert (h.schedule, h.final_sparsity, h.prune_start, h.prune_interval) == (
        "harmonic",
        0.95,
        0,
        5,
    )
    p200 = get_row("polynomial200").settings(base)
    assert (p200.schedule, p200.prune_start) == ("polynomial", 100)  # 0.2 * iterations
    assert get_row("dense").settings(base).schedule == "none"
    # Every learning row keeps the paper's network sizes.
    for key, row in ROWS.items():
        if row.kind == "learning":
            s = row.settings(base)
            assert (tuple(s.hidden_sizes), s.lstm_size, s.lstm_layers) == ((128, 128), 128, 1), key


def test_random_masks_exact_counts_and_distinct():
    params = {
        "trunk.dense.0.weight": torch.zeros(8, 4),
        "trunk.dense.0.bias": torch.zeros(8),
        "logits.weight": torch.zeros(3, 5),
    }
    m0 = random_masks(params, 0.5, torch.Generator().manual_seed(0))
    m1 = random_masks(params, 0.5, torch.Generator().manual_seed(1))
    assert set(m0) == {"trunk.dense.0.weight", "logits.weight"}  # biases stay dense
    assert int((m0["trunk.dense.0.weight"] == 0).sum()) == 16
    assert int((m0["logits.weight"] == 0).sum()) == 8  # round(0.5 * 15) = 8 (round half to even)
    assert not torch.equal(m0["trunk.dense.0.weight"], m1["trunk.dense.0.weight"])


def test_double_q_targets_by_hand():
    r = torch.tensor([[1.0, 2.0, 3.0]])
    q_on = torch.tensor([[[0.0, 0.0], [5.0, 1.0], [0.0, 9.0]]])  # argmax at t=1: 0, t=2: 1
    q_tg = torch.tensor([[[0.0, 0.0], [2.0, 7.0], [4.0, 6.0]]])
    y = double_q_targets(r, q_on, q_tg, gamma=0.5)
    assert torch.allclose(y, torch.tensor([[1.0 + 0.5 * 2.0, 2.0 + 0.5 * 6.0, 3.0]]))
    y_max = double_q_targets(r, q_on, q_tg, gamma=0.5, double_q=False)
    assert torch.allclose(y_max, torch.tensor([[1.0 + 0.5 * 7.0, 2.0 + 0.5 * 6.0, 3.0]]))


def test_a2c_requires_one_pass():
    from rllib_experiments.settings import load_preset
    from rllib_experiments.methods.iagc_a2c import build_config

    with pytest.raises(ValueError, match="num_epochs must be 1"):
        build_config(load_preset("tiny", num_epochs=2))


def _tiny_algo(row_key, **over):
    from rllib_experiments.settings import load_preset

    row = get_row(row_key)
    settings = row.settings(load_preset("tiny", iterations=2, **over))
    return row.build(settings).build_algo()


def _module_weights(module, ids):
    return {
        aid: {k: v.detach().clone() for k, v in module[aid].unwrapped().state_dict().items()}
        for aid in ids
    }


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


@pytest.mark.rllib
def test_a2c_loss_is_plain_policy_gradient(ray_local):
    from ray.rllib.core.columns import Columns
    from ray.rllib.evaluation.postprocessing import Postprocessing

    algo = _tiny_algo("iagc")
    try:
        learner = algo.learner_group._learner
        module = learner.module["user_0"].unwrapped()
        obs = torch.randn(2, 5, module.observation_space.shape[0])
        fwd = module.forward_train({Columns.OBS: obs})
        actions = torch.randint(0, 3, (2, 5))
        adv = torch.randn(2, 5)
        batch = {
            Columns.ACTIONS: actions,
            Postprocessing.ADVANTAGES: adv,
            Columns.ACTION_LOGP: torch.zeros(2, 5),
        }  # ignored: no ratio in A2C
        loss = learner.compute_loss_for_module(
            module_id="user_0", config=learner.config, batch=batch, fwd_out=fwd
        )
        logp = torch.log_softmax(fwd[Columns.ACTION_DIST_INPUTS], -1).gather(
            -1, actions[..., None]
        )[..., 0]
        assert torch.allclose(loss, -(logp * adv).mean(), atol=1e-6)  # entropy_coeff 0
    finally:
        algo.stop()


@pytest.mark.rllib
def test_pai_shares_theta_with_distinct_fixed_masks(ray_local):
    algo = _tiny_algo("pai50")
    try:
        learner = algo.learner_group._learner
        ids = learner._actor_ids
        masks_before = [{k: m.clone() for k, m in ms.items()} for ms in learner._masks]
        theta_before = {k: v.clone() for k, v in learner._shared.items()}
        for _ in range(2):
            algo.train()
        assert any(not torch.equal(theta_before[k], learner._shared[k]) for k in theta_before)
        lw = _module_weights(learner.module, ids)
        ew = _module_weights(algo.env_runner.module, ids)
        for n, aid in enumerate(ids):
            mask = learner._masks[n]
            assert all(torch.equal(mask[k], masks_before[n][k]) for k in mask)  # fixed
            for name, theta in learner._shared.items():
                expected = theta * mask[name] if name in mask else theta
                assert torch.allclose(lw[aid][name], expected)
                assert torch.allclose(ew[aid][name], lw[aid][name])  # env runner acts with it
            frac = np.mean([float((lw[aid][k] == 0).float().mean()) for k in mask])
            assert abs(frac - 0.5) < 0.01
        k = next(iter(learner._masks[0]))
        assert not torch.equal(learner._masks[0][k], learner._masks[1][k])
    finally:
        algo.stop()


@pytest.mark.rllib
def test_dqn_one_network_for_all_users(ray_local):
    algo = _tiny_algo("dqn")
    try:
        learner = algo.learner_group._learner
        ids = learner._actor_ids
        before = _module_weights(learner.module, ids)[ids[0]]
        for _ in range(3):
            algo.train()
        lw = _module_weights(learner.module, ids)
        ew = _module_weights(algo.env_runner.module, ids)
        assert any(not torch.equal(before[k], lw[ids[0]][k]) for k in before)
        for aid in ids[1:]:
            for k in lw[aid]:
                assert torch.equal(lw[aid][k], lw[ids[0]][k])
                assert torch.allclose(ew[aid][k], lw[aid][k])
        assert len(learner._replay) == 3  # one batch of episodes stored per iteration
    finally:
        algo.stop()


def test_bias_only_copies_zero_every_weight_matrix_and_keep_biases():
    from rllib_experiments.algorithm import module_specs, probe_env
    from rllib_experiments.settings import load_preset
    from rllib_experiments.methods.diagnostics import bias_only_copies

    s = load_preset("tiny")
    info = probe_env(s)
    spec = module_specs(s, info)
    actors = [spec.rl_module_specs[a].build() for a in info["agents"]]
    copies = bias_only_copies(actors)
    for a, c in zip(actors, copies):
        for (name, p), (_, q) in zip(a.named_parameters(), c.named_parameters()):
            if name.rsplit(".", 1)[-1].startswith("weight"):
                assert not torch.any(q != 0) and torch.any(p != 0), name  # original untouched
            else:
                assert torch.equal(p, q), name


def test_row_groups_of_a_study_expand_with_their_variants():
    from rllib_experiments.methods import GROUPS, expand_rows
    from rllib_experiments.studies.common.found_rows import FOUND_ROWS, ROW_GROUPS, SEARCH_A_BEST

    assert expand_rows(["found"], ROW_GROUPS) == FOUND_ROWS
    assert expand_rows(["search_A_best", "dense"], ROW_GROUPS) == ["dense", SEARCH_A_BEST]
    assert expand_rows(["table", "found"], ROW_GROUPS) == GROUPS["table"] + FOUND_ROWS
    with pytest.raises(ValueError, match="unknown rows \\['found'\\]"):
        expand_rows(["found"])  # not a group of the methods themselves
