"""The actors a remote env runner samples with are the learner's pruned actors.

RLlib skips a weight state whose sequence number is not newer, and module state loads
with ``strict=False``: a runner can keep dense or stale weights without any error (see
the pruning notes in docs/pruning.md). So the weights are read on the remote runner
itself, every iteration, and again after a checkpoint restore.
"""

import math

import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray")

from pruning_callbacks.rllib.callback import ship_weights  # noqa: E402
from rllib_experiments.algorithm import build_algo_config  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.slow, pytest.mark.usefixtures("ray_local")]

ITERATIONS = 6
FINAL = 0.9
ACTORS = ["user_0", "user_1", "user_2"]
# Actor parameters of the tiny preset (obs 7, hidden 16, LSTM 16, 3 actions): the weight
# matrices are pruned per layer, biases stay dense.
SHAPES = {
    "trunk.dense.0.weight": (16, 7),
    "trunk.dense.0.bias": (16,),
    "trunk.lstm.weight_ih_l0": (64, 16),
    "trunk.lstm.weight_hh_l0": (64, 16),
    "trunk.lstm.bias_ih_l0": (64,),
    "trunk.lstm.bias_hh_l0": (64,),
    "logits.weight": (3, 16),
    "logits.bias": (3,),
}


def target(i: int) -> float:
    """Linear schedule, eqs. (10)-(11): p_i = p_final i / i_P with i_P = ITERATIONS; the
    last iteration (i = ITERATIONS - 1) finalizes at p_final."""
    return FINAL if i == ITERATIONS - 1 else FINAL * i / ITERATIONS


def expected_zeros(name: str, p: float) -> int:
    n = math.prod(SHAPES[name])
    if not name.rsplit(".", 1)[-1].startswith("weight"):
        return 0
    # round half up; for these sizes no p_i * n lies within 0.1 of a half
    return math.floor(p * n + 0.5)


def remote_weights(algo):
    per_runner = algo.env_runner_group.foreach_env_runner(
        lambda er: {
            mid: {k: v.detach().clone() for k, v in er.module[mid].state_dict().items()}
            for mid in er.module.keys()
        },
        local_env_runner=False,
    )
    assert len(per_runner) == 1
    return per_runner[0]


def check_remote_is_learner(algo, p: float) -> None:
    remote = remote_weights(algo)
    learner = algo.learner_group._learner.module
    assert sorted(remote) == ACTORS  # the shared critic is learner-only
    for mid in ACTORS:
        mine = learner[mid].state_dict()
        assert {k: tuple(v.shape) for k, v in remote[mid].items()} == SHAPES, mid
        for name, w in remote[mid].items():
            assert torch.equal(w, mine[name]), (mid, name)
            assert int((w == 0).sum()) == expected_zeros(name, p), (mid, name, p)


def test_remote_runner_samples_with_the_pruned_actors_also_after_restore(tmp_path):
    from ray.rllib.algorithms.algorithm import Algorithm

    settings = load_preset(
        "tiny",
        num_env_runners=1,
        schedule="linear",
        final_sparsity=FINAL,
        prune_mode="hold",
        iterations=ITERATIONS,
    )
    algo = build_algo_config(settings).build_algo()
    try:
        for i in range(3):
            algo.train()
            check_remote_is_learner(algo, target(i))
        algo.save_to_path(str(tmp_path))
    finally:
        algo.stop()

    restored = Algorithm.from_checkpoint(str(tmp_path))
    try:
        # RLlib's own post-restore sync is fire-and-forget and is dropped when two are in
        # flight, which happened under load (twice); ship_weights is what train --resume
        # and the callback's on_checkpoint_loaded call after a restore
        ship_weights(restored)
        assert restored.learner_group._learner.pruning_summary()["iteration"] == 3
        check_remote_is_learner(restored, target(2))
        for i in range(3, ITERATIONS):
            restored.train()
            check_remote_is_learner(restored, target(i))
        assert all(
            m["finalized"]
            for m in restored.learner_group._learner.pruning_summary()["modules"].values()
        )
    finally:
        restored.stop()


def test_ship_weights_reaches_a_runner_that_would_skip_the_sync():
    def make_stale(runner):
        """Shift every actor weight and claim a weight sequence number far ahead (defined
        here: the remote runner cannot import this test module)."""
        import torch as th

        with th.no_grad():
            for mid in runner.module.keys():
                for param in runner.module[mid].parameters():
                    param.add_(1.0)
        runner._weights_seq_no = 10**9
        return True

    settings = load_preset(
        "tiny",
        num_env_runners=1,
        schedule="linear",
        final_sparsity=FINAL,
        prune_mode="hold",
        iterations=ITERATIONS,
    )
    algo = build_algo_config(settings).build_algo()
    try:
        algo.train()
        check_remote_is_learner(algo, target(0))
        assert algo.env_runner_group.foreach_env_runner(make_stale, local_env_runner=False) == [
            True
        ]
        # RLlib's sync skips a runner whose sequence number is ahead: the trap
        algo.env_runner_group.sync_weights(
            from_worker_or_learner_group=algo.learner_group, inference_only=True, timeout_seconds=30
        )
        learner = algo.learner_group._learner.module["user_0"].state_dict()
        stale = remote_weights(algo)["user_0"]
        assert not torch.equal(stale["logits.weight"], learner["logits.weight"])
        ship_weights(algo)
        check_remote_is_learner(algo, target(0))
    finally:
        algo.stop()
