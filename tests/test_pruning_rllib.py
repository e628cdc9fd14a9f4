"""RLlib glue: learner and env runners act with the same pruned LSTM actors; checkpoints.

Tiny PPO (new API stack) on RLlib's MultiAgentCartPole with three recurrent modules:
p0 and p1 are pruned (different p_final), p2 is not listed and must stay dense (a
stand-in for a critic, Remark 1). The env runners' weights are read from the env
runners themselves, with 0 and with 1 remote env runner.
"""

import os
from dataclasses import dataclass

import numpy as np
import pytest

pytest.importorskip("torch")
ray = pytest.importorskip("ray")

from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner  # noqa: E402
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig  # noqa: E402
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec  # noqa: E402
from ray.rllib.core.rl_module.rl_module import RLModuleSpec  # noqa: E402
from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole  # noqa: E402
from ray.rllib.utils.numpy import convert_to_numpy  # noqa: E402

from pruning_callbacks.rllib.callback import PruningCallback, add_pruning, finalize_pruning  # noqa: E402
from pruning_callbacks.rllib.learner import PrunedPPOTorchLearner  # noqa: E402
from pruning_callbacks.rllib.pruning_config import PruningConfig  # noqa: E402
from pruning_callbacks.masks import num_to_prune  # noqa: E402
from pruning_callbacks.schedules import SCHEDULES, Schedule, parameter, register_schedule  # noqa: E402

pytestmark = pytest.mark.rllib

MODULES = ("p0", "p1", "p2")
PRUNED = ("p0", "p1")
FINAL = {"p0": 0.8, "p1": 0.5}


@register_schedule("half_then_full")
@dataclass(frozen=True)
class HalfThenFull(Schedule):
    """Half the final sparsity before iteration ``full_at``, the final sparsity from it on."""

    final_sparsity: float = parameter(0.5, "sparsity from iteration full_at on")
    full_at: int = parameter(1, "first iteration at final_sparsity")

    def sparsity(self, i):
        return self.final_sparsity if i >= self.full_at else self.final_sparsity / 2


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()
    SCHEDULES.pop("half_then_full", None)


def _config(num_env_runners=0, learner_class=PrunedPPOTorchLearner, num_learners=0, **pruning):
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
        .learners(learner_class=learner_class, num_learners=num_learners)
        .debugging(seed=0)
    )
    params = dict(
        modules=list(PRUNED), schedule={"name": "linear", "final_sparsity": dict(FINAL), "end": 3}
    )
    params.update(pruning)
    return add_pruning(cfg, PruningConfig(**params))


def _is_matrix(name):
    return name.rsplit(".", 1)[-1].startswith("weight")


def _runner_weights(algo):
    """Weights of every env runner's modules, read on the env runners."""

    def get(runner):
        if runner.module is None:
            return None
        return {m: convert_to_numpy(runner.module[m].get_state()) for m in MODULES}

    out = [
        w
        for w in algo.env_runner_group.foreach_env_runner(get, local_env_runner=True)
        if w is not None
    ]
    assert out, "no env runner with a module"
    return out


def _learner_weights(algo):
    return convert_to_numpy(algo.learner_group.get_weights())


def _pruning_state(algo):
    (res,) = list(
        algo.learner_group.foreach_learner(lambda learner: learner.get_state(components="pruning"))
    )
    return res.get()["pruning"]


def _assert_runners_match_learner(algo, targets):
    """Every env runner holds the learner's weights; pruned matrices at their target."""
    lw = _learner_weights(algo)
    for rw in _runner_weights(algo):
        for m in MODULES:
            for k, v in rw[m].items():
                if not _is_matrix(k) or k.startswith("vf."):
                    continue  # RLlib does not sync the value head to (inference-only) env runners
                np.testing.assert_array_equal(v, lw[m][k], err_msg=f"{m}/{k}")
                zeros = int((v == 0).sum())
                if m in targets:
                    assert zeros == num_to_prune(v.size, targets[m]), (m, k, zeros, v.size)
                else:  # p2 is not pruned
                    assert zeros == 0, (m, k)
        for m in MODULES:  # the value heads stay dense (Remark 1)
            assert all(
                (v != 0).all() for k, v in lw[m].items() if k.startswith("vf.") and _is_matrix(k)
            )


@pytest.mark.parametrize("num_env_runners, num_learners", [(0, 0), (1, 0), (0, 1)])
def test_env_runners_act_with_pruned_weights(num_env_runners, num_learners):
    algo = _config(
        num_env_runners,
        num_learners=num_learners,
        schedule={"name": "linear", "final_sparsity": dict(FINAL), "end": 5},
    ).build()
    try:
        previous = None
        for i in range(4):  # linear, end=5: p_i = p_final * i / 5
            r = algo.train()
            targets = {m: FINAL[m] * i / 5 for m in PRUNED}
            for m in PRUNED:
                assert r["learners"][m]["target_sparsity"] == pytest.approx(targets[m])
                assert abs(r["learners"][m]["sparsity"] - targets[m]) < 0.02
                assert r["learners"][m]["mask_sparsity"] == pytest.approx(
                    r["learners"][m]["sparsity"]
                )
            assert "sparsity" not in r["learners"].get("p2", {})
            assert r["learners"]["__all_modules__"]["pruning_iteration"] == i
            _assert_runners_match_learner(algo, targets)
            # hold mode: masks are nested while the schedule grows
            zeros = {
                m: {k: v == 0 for k, v in _learner_weights(algo)[m].items() if _is_matrix(k)}
                for m in PRUNED
            }
            if previous is not None:
                for m in PRUNED:
                    for k in zeros[m]:
                        assert (previous[m][k] <= zeros[m][k]).all()
            previous = zeros
        # finalize outside an update (p = 0.6 p_final -> p_final) still reaches the env
        # runners: finalize_pruning bumps the weights' sequence number
        assert set(finalize_pruning(algo)) == set(PRUNED)
        _assert_runners_match_learner(algo, FINAL)
    finally:
        algo.stop()


def test_regrow_mode_and_automatic_finalize():
    algo = _config(
        0,
        mode="regrow",
        prune_interval=2,
        final_iteration=5,
        schedule={
            "name": "harmonic",
            "final_sparsity": dict(FINAL),
            "end": 4,
            "amplitude": 0.1,
            "period": 4,
        },
    ).build()
    try:
        sched = PruningConfig(
            modules=list(PRUNED),
            schedule={
                "name": "harmonic",
                "final_sparsity": dict(FINAL),
                "end": 4,
                "amplitude": 0.1,
                "period": 4,
            },
        ).schedules(PRUNED)
        for i in range(5):
            r = algo.train()
            event = (i + 1) % 2 == 0
            for m in PRUNED:
                lm = r["learners"][m]
                if i == 4:  # final_iteration - 1: finalized at p_final
                    assert lm["target_sparsity"] == FINAL[m] and lm["pruning_event"] == 1
                else:
                    assert lm["target_sparsity"] == pytest.approx(sched[m](i))
                    assert lm["pruning_event"] == int(event)
                if i == 2:  # between events the weights pruned at i = 1 regrew
                    assert lm["sparsity"] < sched[m](1) - 0.1
            if i == 1:
                _assert_runners_match_learner(algo, {m: sched[m](1) for m in PRUNED})
        _assert_runners_match_learner(algo, FINAL)
        state = _pruning_state(algo)
        assert all(state["modules"][m]["finalized"] for m in PRUNED)
    finally:
        algo.stop()


def test_registered_schedule_and_dense_module_in_a_run():
    # p0: a schedule defined in this file; p1: "none", so no masks (dense like the unlisted p2)
    schedule = {
        "name": {"p0": "half_then_full", "p1": "none"},
        "final_sparsity": {"p0": 0.8},
        "full_at": {"p0": 1},
    }
    algo = _config(0, mode="regrow", prune_interval=1, schedule=schedule).build()
    try:
        for i, target in enumerate((0.4, 0.8)):
            r = algo.train()
            assert r["learners"]["p0"]["target_sparsity"] == pytest.approx(target)
            assert r["learners"]["p0"]["pruning_event"] == 1
            assert "target_sparsity" not in r["learners"].get("p1", {})
            _assert_runners_match_learner(algo, {"p0": target})
        assert set(_pruning_state(algo)["modules"]) == {"p0"}
    finally:
        algo.stop()


def test_checkpoint_restore_resumes_masks_and_schedule(tmp_path):
    pruning = dict(
        schedule={"name": "harmonic", "final_sparsity": dict(FINAL), "end": 6, "period": 6}
    )
    algo = _config(0, **pruning).build()
    fresh = _config(0, **pruning).build()
    try:
        for _ in range(3):
            algo.train()
        algo.save_to_path(str(tmp_path / "ckpt"))
        fresh.restore_from_path(str(tmp_path / "ckpt"))
        saved, restored = _pruning_state(algo), _pruning_state(fresh)
        assert restored["iteration"] == saved["iteration"] == 3
        for m in PRUNED:
            for k, mask in saved["modules"][m]["masks"].items():
                np.testing.assert_array_equal(restored["modules"][m]["masks"][k], mask)
            assert (
                restored["modules"][m]["target_sparsity"] == saved["modules"][m]["target_sparsity"]
            )
        w_a, w_f = _learner_weights(algo), _learner_weights(fresh)
        for m in MODULES:
            for k in w_a[m]:
                np.testing.assert_array_equal(w_f[m][k], w_a[m][k])
        # the restored env runners act with the restored (pruned) weights
        targets = {m: saved["modules"][m]["target_sparsity"] for m in PRUNED}
        _assert_runners_match_learner(fresh, targets)
        # both continue at the same schedule position
        ra, rf = algo.train(), fresh.train()
        for m in PRUNED:
            assert rf["learners"][m]["target_sparsity"] == ra["learners"][m]["target_sparsity"]
        assert rf["learners"]["__all_modules__"]["pruning_iteration"] == 3
        assert fresh.iteration == algo.iteration == 4
    finally:
        algo.stop()
        fresh.stop()
    # Algorithm.from_checkpoint (config and custom classes re-imported) restores them too
    from ray.rllib.algorithms.algorithm import Algorithm

    loaded = Algorithm.from_checkpoint(str(tmp_path / "ckpt"))
    try:
        state = _pruning_state(loaded)
        assert state["iteration"] == 3
        for m in PRUNED:
            for k, mask in saved["modules"][m]["masks"].items():
                np.testing.assert_array_equal(state["modules"][m]["masks"][k], mask)
        assert loaded.train()["learners"]["__all_modules__"]["pruning_iteration"] == 3
    finally:
        loaded.stop()


def test_callback_without_pruning_learner_fails_clearly():
    cfg = _config(0, learner_class=PPOTorchLearner)
    with pytest.raises(Exception, match="PruningLearnerMixin"):
        cfg.build()


def test_add_pruning_keeps_other_callbacks_and_validates():
    from ray.rllib.callbacks.callbacks import RLlibCallback

    class Other(RLlibCallback):
        pass

    cfg = PPOConfig().callbacks(Other)
    add_pruning(
        cfg, {"modules": ["a"], "schedule": {"name": "linear", "final_sparsity": 0.5, "end": 10}}
    )
    assert cfg.callbacks_class == [Other, PruningCallback]
    assert cfg.learner_config_dict["pruning"]["mode"] == "hold"
    with pytest.raises(ValueError, match="pruning.mode"):
        add_pruning(cfg, {"mode": "soft"})
    with pytest.raises(ValueError, match="unknown keys"):
        add_pruning(cfg, {"p_final": 0.9})
    with pytest.raises(ValueError, match="needs pruning.modules"):
        PruningConfig(schedule={"final_sparsity": [0.9, 0.8]})
    with pytest.raises(ValueError, match="no value for agent 'b'"):
        PruningConfig(modules=["a", "b"], schedule={"final_sparsity": {"a": 0.9}})
    with pytest.raises(ValueError, match=r"'linear': unknown parameter\(s\) \['amplitude'\]"):
        add_pruning(cfg, {"schedule": {"name": "linear", "amplitude": 0.1}})


def test_default_modules_skip_learner_only_and_missing_ids_fail():
    import gymnasium as gym

    mc = DefaultModelConfig(use_lstm=True, lstm_cell_size=8, fcnet_hiddens=[8], max_seq_len=8)
    obs, act = gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2)
    specs = {
        m: RLModuleSpec(model_config=mc, observation_space=obs, action_space=act)
        for m in ("a0", "a1")
    }
    specs["critic"] = RLModuleSpec(
        model_config=mc, observation_space=obs, action_space=act, learner_only=True
    )
    cfg = (
        PPOConfig()
        .multi_agent(policies={"a0", "a1", "critic"}, policy_mapping_fn=lambda aid, ep, **kw: aid)
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))
        .learners(learner_class=PrunedPPOTorchLearner)
    )
    add_pruning(cfg, PruningConfig(schedule={"name": "linear", "final_sparsity": 0.5, "end": 2}))
    spaces = {m: (obs, act) for m in specs}
    learner = cfg.build_learner(spaces=spaces)
    assert sorted(learner._pruners) == ["a0", "a1"]  # the learner-only critic is never touched
    assert set(learner.set_pruning_iteration(1)) == {"a0", "a1"}
    critic_before = {k: v.clone() for k, v in learner.module["critic"].state_dict().items()}
    learner.finalize_pruning()
    assert all(v.equal(critic_before[k]) for k, v in learner.module["critic"].state_dict().items())
    assert all(abs(p.sparsity() - 0.5) < 0.01 for p in learner._pruners.values())
    add_pruning(cfg, PruningConfig(modules=["a0", "nope"]))
    with pytest.raises(ValueError, match=r"pruning.modules \['nope'\] are not in the learner"):
        cfg.build_learner(spaces=spaces)
