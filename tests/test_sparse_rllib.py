"""Sparse-from-scratch algorithms inside RLlib: the env runners act with the masked actors
from the first sample on, the masks move (SET, RigL) or not (static) with drop = grow, and a
checkpoint restore keeps masks, update schedule and mask RNG.

Tiny PPO on RLlib's MultiAgentCartPole with two recurrent modules: p0 sparse, p1 not listed
(dense). One test per algorithm, and RigL with one remote env runner.
"""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("ray")

from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig  # noqa: E402
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec  # noqa: E402
from ray.rllib.core.rl_module.rl_module import RLModuleSpec  # noqa: E402
from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole  # noqa: E402
from ray.rllib.utils.numpy import convert_to_numpy  # noqa: E402

from pruning_callbacks.algorithms import prune_counts  # noqa: E402
from pruning_callbacks.rllib.callback import add_pruning  # noqa: E402
from pruning_callbacks.rllib.learner import PrunedPPOTorchLearner  # noqa: E402
from pruning_callbacks.rllib.pruning_config import PruningConfig  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]

MODULES = ("p0", "p1")
TARGET = 0.8


def _config(algorithm, distribution, num_env_runners):
    mc = DefaultModelConfig(use_lstm=True, lstm_cell_size=8, fcnet_hiddens=[8], max_seq_len=8)
    cfg = (
        PPOConfig()
        .environment(MultiAgentCartPole, env_config={"num_agents": len(MODULES)})
        .env_runners(num_env_runners=num_env_runners, rollout_fragment_length=64)
        .multi_agent(policies=set(MODULES), policy_mapping_fn=lambda aid, ep, **kw: f"p{aid}")
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={m: RLModuleSpec(model_config=mc) for m in MODULES}
            )
        )
        .training(train_batch_size_per_learner=128, minibatch_size=64, num_epochs=1)
        .learners(learner_class=PrunedPPOTorchLearner, num_learners=0)
        .debugging(seed=0)
    )
    pruning = PruningConfig(
        modules=["p0"],
        schedule={"name": "constant", "final_sparsity": TARGET},
        algorithm=algorithm,
        distribution=distribution,
        update_interval=1,
        drop_fraction=0.3,
        drop_end=10,
        final_iteration=20,
    )
    return add_pruning(cfg, pruning)


def _state(algo):
    (res,) = list(
        algo.learner_group.foreach_learner(lambda learner: learner.get_state(components="pruning"))
    )
    return res.get()["pruning"]


def _check_runners(algo, masks, expected):
    """Every env runner holds the learner's p0 and p1; p0's pruned entries are zero."""
    learner = convert_to_numpy(algo.learner_group.get_weights())

    def get(runner):
        if runner.module is None:
            return None
        return {m: convert_to_numpy(runner.module[m].get_state()) for m in MODULES}

    runners = [w for w in algo.env_runner_group.foreach_env_runner(get, local_env_runner=True) if w]
    assert runners
    assert [int((~m).sum()) for m in masks.values()] == expected
    for weights in runners:
        for m in MODULES:
            for k, v in weights[m].items():
                if k.startswith("vf."):
                    continue  # RLlib does not sync the value head to (inference-only) env runners
                np.testing.assert_array_equal(v, learner[m][k], err_msg=f"{m}/{k}")
        for name, mask in masks.items():
            assert (weights["p0"][name][~mask] == 0).all(), name
        assert all((v != 0).any() for k, v in weights["p1"].items())


@pytest.mark.parametrize(
    "algorithm, distribution", [("static", "uniform"), ("set", "erk"), ("rigl", "uniform")]
)
def test_sparse_from_scratch_in_rllib(algorithm, distribution, tmp_path):
    runners = 0
    algo = _config(algorithm, distribution, runners).build()
    fresh = None
    try:
        masks = {k: np.asarray(v) for k, v in _state(algo)["modules"]["p0"]["masks"].items()}
        expected = prune_counts([m.shape for m in masks.values()], TARGET, distribution)
        _check_runners(algo, masks, expected)  # sparse before the first sample
        for i in range(2):
            r = algo.train()["learners"]["p0"]
            new = {k: np.asarray(v) for k, v in _state(algo)["modules"]["p0"]["masks"].items()}
            _check_runners(algo, new, expected)
            assert r["target_sparsity"] == TARGET and r["mask_sparsity"] == pytest.approx(
                sum(expected) / sum(m.size for m in masks.values())
            )
            moved = sum(int((masks[k] != new[k]).sum()) for k in masks)
            if algorithm == "static":
                assert moved == 0 and r["pruning_event"] == 0
            else:
                assert r["pruning_event"] == 1 and r["num_dropped"] == r["num_grown"] > 0
                assert 0 < moved <= 2 * r["num_grown"]
            masks = new
        algo.save_to_path(str(tmp_path / "ckpt"))
        fresh = _config(algorithm, distribution, runners).build()
        fresh.restore_from_path(str(tmp_path / "ckpt"))
        saved, restored = _state(algo), _state(fresh)
        assert restored["iteration"] == saved["iteration"] == 2
        for k, mask in saved["modules"]["p0"]["masks"].items():
            np.testing.assert_array_equal(restored["modules"]["p0"]["masks"][k], mask)
        if algorithm != "static":
            np.testing.assert_array_equal(
                restored["modules"]["p0"]["rng"], saved["modules"]["p0"]["rng"]
            )
            assert restored["modules"]["p0"]["num_updates"] == 2
        ra, rf = algo.train()["learners"], fresh.train()["learners"]
        assert rf["__all_modules__"]["pruning_iteration"] == 2
        if algorithm != "static":
            assert rf["p0"]["drop_fraction"] == ra["p0"]["drop_fraction"] > 0
    finally:
        algo.stop()
        if fresh is not None:
            fresh.stop()


def test_remote_env_runner_samples_sparse_from_the_start():
    algo = _config("rigl", "uniform", 1).build()
    try:
        masks = {k: np.asarray(v) for k, v in _state(algo)["modules"]["p0"]["masks"].items()}
        expected = prune_counts([m.shape for m in masks.values()], TARGET, "uniform")
        _check_runners(algo, masks, expected)
        algo.train()
        new = {k: np.asarray(v) for k, v in _state(algo)["modules"]["p0"]["masks"].items()}
        _check_runners(algo, new, expected)
    finally:
        algo.stop()
