"""One learner on several threads (``learner_threads``): the serial result, bit for bit.

* :func:`balanced_groups` puts every module in exactly one group, as a pure function of
  the costs, and its largest group is within the longest-processing-time bound.
* A tiny pruned run with minibatches (several optimizer steps per iteration, masks held)
  trained with 2 threads ends with the same weights, masks and loss metrics as with 1.
* Bad combinations are refused: with ``num_learners >= 2`` (a SettingsError naming
  ``learner_threads``) and for a learner class whose ``compute_losses`` the threads
  would bypass.
"""

import pytest
from hypothesis import given, settings as hyp_settings, strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("ray")

from rllib_experiments.algorithm import build_algo_config  # noqa: E402
from rllib_experiments.iagc.learner import IAGCTorchLearner, balanced_groups  # noqa: E402
from rllib_experiments.iagc.modules import CRITIC_ID  # noqa: E402
from rllib_experiments.settings import SettingsError, load_preset  # noqa: E402

USERS = ("user_0", "user_1", "user_2")


@hyp_settings(max_examples=200, deadline=None)
@given(
    costs=st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3), st.floats(0.0, 100.0), min_size=1, max_size=12
    ),
    k=st.integers(1, 4),
)
def test_balanced_groups_is_a_partition_within_the_lpt_bound(costs, k):
    groups = balanced_groups(costs, k)
    members = [m for g in groups for m in g]
    assert sorted(members) == sorted(costs)  # each id exactly once
    assert 1 <= len(groups) <= k
    assert all(g == sorted(g) for g in groups)
    assert balanced_groups(dict(reversed(list(costs.items()))), k) == groups  # order-free
    loads = [sum(costs[m] for m in g) for g in groups]
    # Graham's bound for longest-processing-time-first: max load <= mean + max cost.
    assert max(loads) <= sum(costs.values()) / k + max(costs.values()) + 1e-9


def test_balanced_groups_by_hand():
    # Critic as costly as the 3 actors together: it gets a thread of its own.
    assert balanced_groups({"critic": 3.0, "a": 1.0, "b": 1.0, "c": 1.0}, 2) == [
        ["critic"],
        ["a", "b", "c"],
    ]
    assert balanced_groups({"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}, 2) == [["a", "c"], ["b", "d"]]
    assert balanced_groups({"a": 1.0}, 3) == [["a"]]
    with pytest.raises(ValueError, match="num_groups"):
        balanced_groups({"a": 1.0}, 0)


def _train(threads, iterations=3):
    settings = load_preset(
        "tiny",
        learner_threads=threads,
        iterations=iterations,
        minibatch_episodes=2,
        schedule="linear",
        final_sparsity=0.6,
        prune_mode="hold",
        seed=3,
    )
    algo = build_algo_config(settings).build_algo()
    try:
        results = [algo.train() for _ in range(iterations)]
        learner = algo.learner_group._learner
        weights = {
            mid: {
                k: v.detach().clone()
                for k, v in learner.module[mid].unwrapped().state_dict().items()
            }
            for mid in (*USERS, CRITIC_ID)
        }
        masks = {
            mid: {n: m.clone() for n, m in p.masks.items()} for mid, p in learner._pruners.items()
        }
        return results, weights, masks, learner._iagc_seconds
    finally:
        algo.stop()


@pytest.mark.rllib
def test_two_threads_give_the_serial_result_bit_for_bit(ray_local):
    serial, w1, m1, _ = _train(1)
    threaded, w2, m2, seconds = _train(2)
    assert set(seconds) == {*USERS, CRITIC_ID}  # the threaded path ran and timed every module
    for mid in w1:
        for k in w1[mid]:
            assert torch.equal(w1[mid][k], w2[mid][k]), (mid, k)
    assert set(m1) == set(USERS) and all(m1[mid] for mid in m1)
    for mid in m1:
        for name in m1[mid]:
            assert torch.equal(m1[mid][name], m2[mid][name]), (mid, name)
    for a, b in zip(serial, threaded):
        for mid in USERS:
            for key in ("policy_loss", "entropy", "sparsity"):
                assert a["learners"][mid][key] == b["learners"][mid][key], (mid, key)
        assert a["learners"][CRITIC_ID]["vf_loss"] == b["learners"][CRITIC_ID]["vf_loss"]
    assert any(w1[USERS[0]][k].eq(0).any() for k in w1[USERS[0]])  # it really pruned


def test_threads_need_a_single_learner():
    with pytest.raises(SettingsError) as err:
        load_preset("tiny", learner_threads=2, num_learners=2)
    assert err.value.field == "learner_threads"
    with pytest.raises(SettingsError) as err:
        load_preset("tiny", learner_threads=0)
    assert err.value.field == "learner_threads"


class _OwnLosses(IAGCTorchLearner):
    def compute_losses(self, *, fwd_out, batch):
        return super().compute_losses(fwd_out=fwd_out, batch=batch)


@pytest.mark.rllib
def test_threads_refuse_a_learner_with_its_own_compute_losses(ray_local):
    config = build_algo_config(load_preset("tiny", learner_threads=2))
    config.learners(learner_class=_OwnLosses)
    with pytest.raises(Exception, match="overrides compute_losses"):
        config.build_algo()


@pytest.mark.rllib
def test_threads_refuse_rllib_grad_scalers(ray_local):
    """The threaded path runs its own backward: a configured GradScaler would be skipped silently."""
    config = build_algo_config(load_preset("tiny", learner_threads=2))
    config.experimental(_torch_grad_scaler_class=torch.amp.GradScaler)
    with pytest.raises(Exception, match="mixed-precision gradient scalers"):
        config.build_algo()
