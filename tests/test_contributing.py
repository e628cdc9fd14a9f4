"""docs/contributing.md's examples work: each new file as written there, registered as it says.

The code blocks are read from the document itself, so the guide and the registries cannot
drift apart: a schedule, a method row, a reward and a baseline, each used by name afterwards.
"""

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "contributing.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def _module(name, code, monkeypatch):
    module = types.ModuleType(name)
    exec(compile(code, f"{DOC.name}:{name}", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def test_the_guide_has_the_four_examples():
    blocks = _blocks()
    assert len(blocks) == 6  # schedule; row file + registry line; reward file + line; baseline
    assert "class ExponentialSchedule(GradualSchedule)" in blocks[0]
    assert blocks[2].lstrip().startswith('Row("ours_hold"')
    assert blocks[4].strip().startswith('"min_rate":')


def test_new_schedule(monkeypatch):
    from pruning_callbacks.schedules import SCHEDULES, make_schedule, register_schedule

    try:
        module = _module("pruning_callbacks.schedules.exponential", _blocks()[0], monkeypatch)
        register_schedule("exponential")(module.ExponentialSchedule)
        s = make_schedule("exponential", final_sparsity=0.9, start=10, end=110, rate=3.0)
        values = s.values(120)
        assert values[:10] == [0.0] * 10 and values[110:] == [0.9] * 10
        assert values[60] == pytest.approx(0.9 * (1 - np.exp(-1.5)) / (1 - np.exp(-3.0)))
        assert all(a <= b for a, b in zip(values, values[1:]))
        with pytest.raises(ValueError, match="rate"):
            make_schedule("exponential", rate=0.0)
        from rllib_experiments.settings import SettingsError, load_preset

        settings = load_preset("tiny", schedule="exponential", schedule_params={"rate": 2.0})
        assert settings.schedule_spec() == {
            "name": "exponential",
            "final_sparsity": 0.95,
            "start": 0,
            "end": 3,
            "rate": 2.0,
        }
        with pytest.raises(SettingsError) as err:
            load_preset("tiny", schedule="exponential", schedule_params={"period": 2.0})
        assert err.value.field == "schedule_params"
    finally:
        SCHEDULES.pop("exponential", None)


def test_new_method_row(monkeypatch):
    pytest.importorskip("ray")
    import rllib_experiments.methods as methods
    from rllib_experiments.studies.table1.budgets import BUDGETS
    from rllib_experiments.studies.common.trials import base_settings

    _module("rllib_experiments.methods.ours_hold", _blocks()[1], monkeypatch)
    row = eval(_blocks()[2].strip().rstrip(","), vars(methods))
    monkeypatch.setitem(methods.ROWS, row.key, row)
    got = methods.get_row("ours_hold")
    settings = got.settings(base_settings(BUDGETS["smoke"], "A", 0))
    ours = methods.get_row("ours").settings(base_settings(BUDGETS["smoke"], "A", 0))
    assert settings.prune_mode == "hold" and ours.prune_mode == "regrow"
    assert settings.replace(prune_mode="regrow") == ours
    config = got.build(settings)
    assert config.learner_config_dict["pruning"]["mode"] == "hold"


def test_new_reward(monkeypatch):
    import dsa_pettingzoo
    from dsa_pettingzoo import rewards

    module = _module("dsa_pettingzoo.reward_min_rate", _blocks()[3], monkeypatch)
    entry = eval(
        "{" + _blocks()[4].strip() + "}",
        {"_per_slot": rewards._per_slot, "reward_min_rate": module.reward_min_rate},
    )
    for name, fn in entry.items():
        monkeypatch.setitem(rewards.REWARDS, name, fn)
    env = dsa_pettingzoo.parallel_env(num_users=3, num_channels=3, horizon=5, reward="min_rate")
    env.reset(seed=0)
    _, r, _, _, infos = env.step({"user_0": 1, "user_1": 2, "user_2": 0})  # user_2 idles: min = 0
    assert set(r.values()) == {0.0}
    _, r, _, _, _ = env.step({"user_0": 1, "user_1": 2, "user_2": 3})  # all alone on a channel
    rates = [infos[a]["rate"] for a in ("user_0", "user_1")]
    assert len(set(r.values())) == 1 and 0 < next(iter(r.values())) <= max(rates) + 20


def test_new_baseline(monkeypatch):
    from dsa_pettingzoo import BatchedDSA
    from dsa_pettingzoo.baselines import POLICIES, make_policy
    from dsa_pettingzoo.evaluation import evaluate_policy

    module = _module("dsa_pettingzoo.baselines.fixed_channel", _blocks()[5], monkeypatch)
    monkeypatch.setitem(POLICIES, "fixed_channel", module.FixedChannelPolicy)
    policy = make_policy("fixed_channel")
    sim = BatchedDSA(num_envs=4, num_users=6, num_channels=3, horizon=8)
    sim.reset(seed=1)
    policy.reset(sim.config, 4, np.random.default_rng(0))
    first = policy.act()
    assert first.shape == (4, 6) and first.min() >= 1 and first.max() <= 3
    for _ in range(8):
        a = policy.act()
        np.testing.assert_array_equal(a, first)
        _, _, _, _, info = sim.step(a)
        policy.update(a, info["feedback"], info["rates"])
    assert (
        evaluate_policy(
            policy, episodes=4, seed=0, num_users=6, num_channels=3, horizon=8
        ).summary()["mean_reward"]
        > 0
    )
