"""Settings and presets (rllib_experiments.settings): validation naming the field, schedule_params."""

import pytest

from rllib_experiments.settings import (
    CRITIC_MODES,
    Settings,
    SettingsError,
    load_preset,
    preset_names,
)


def test_presets_load_and_paper_values():
    assert {"paper_A", "paper_B", "tiny"} <= set(preset_names())
    a, b = load_preset("paper_A"), load_preset("paper_B")
    assert (a.setup, b.setup) == ("A", "B")
    assert a.hidden_sizes == (128, 128) and a.lstm_size == 128
    assert (a.gamma, a.clip_eps, a.iterations, a.prune_interval) == (0.99, 0.2, 1000, 5)
    assert Settings.from_dict(a.to_dict()) == a


def test_setup_c_and_scale_presets():
    """paper_C is paper_A's training on setup C; scale_<S>_N<N> is paper_<S> at N users, K = N/2."""
    from dsa_pettingzoo.config import SCALE_NUM_USERS, SETUPS, make_config, scale_preset

    assert load_preset("paper_C") == load_preset("paper_A", setup="C")
    names = {f"scale_{s}_N{n}" for s in SETUPS for n in SCALE_NUM_USERS}
    assert names <= set(preset_names())
    for s in SETUPS:
        for n in SCALE_NUM_USERS:
            kw = scale_preset(s, n)
            settings = load_preset(f"scale_{s}_N{n}")
            assert settings == load_preset(
                f"paper_{s}", env={k: v for k, v in kw.items() if k != "setup"}
            )
            assert make_config(**settings.env_kwargs()) == make_config(**kw)


def test_made_scale_presets_equal_the_json_files_they_replace():
    """The scale presets were 12 JSON files (kept frozen in tests/data/scale_presets/); the
    presets made from paper_<S> and K = N/2 are the same Settings, and other sizes stay unnamed."""
    import json
    from pathlib import Path

    from rllib_experiments.settings import scale_fields

    frozen = sorted((Path(__file__).parent / "data" / "scale_presets").glob("scale_*.json"))
    assert len(frozen) == 12
    for path in frozen:
        d = json.loads(path.read_text())
        d.pop("_comment")
        assert load_preset(path.stem) == Settings.from_dict(d).validate(), path.stem
        assert load_preset(path.stem).to_dict() == Settings.from_dict(d).to_dict()
    assert Settings.from_dict(scale_fields("B", 30)).env == {"num_users": 30, "num_channels": 15}
    with pytest.raises(ValueError, match="unknown preset 'scale_A_N30'"):
        load_preset("scale_A_N30")


@pytest.mark.parametrize(
    "overrides, field",
    [
        (dict(critic_mode="global"), "critic_mode"),
        (dict(actor_lr=0.0), "actor_lr"),
        (dict(gamma=1.5), "gamma"),
        (dict(num_epochs=0), "num_epochs"),
        (dict(episodes_per_iteration=3, num_envs_per_env_runner=2), "episodes_per_iteration"),
        (dict(schedule="cosine"), "schedule"),
        (dict(final_sparsity=1.0), "final_sparsity"),
        (dict(setup="D"), "setup"),
        (dict(minibatch_episodes=8), "minibatch_episodes"),
        (dict(hidden_sizes=[0]), "hidden_sizes"),
        (dict(prune_mode="sometimes"), "prune_mode"),
        (dict(bogus=1), "bogus"),
        (dict(schedule="harmonic", schedule_params={"period": 0}), "schedule_params"),
        (dict(schedule="harmonic", schedule_params={"amplitude": -1}), "schedule_params"),
        (dict(schedule="linear", schedule_params={"amplitude": 0.1}), "schedule_params"),
        (dict(schedule="harmonic", schedule_params={"end": 5}), "prune_end"),
        (dict(schedule="linear", prune_start=3), "prune_end"),  # tiny: 3 iterations, end 3
        (
            dict(
                schedule="harmonic",
                schedule_params={"initial_sparsity": [0.1, 0.2]},
                final_sparsity=[0.5, 0.5, 0.5],
            ),
            "schedule_params",
        ),
        (dict(schedule_params=[1]), "schedule_params"),
    ],
)
def test_bad_settings_fail_fast_naming_the_setting(overrides, field):
    with pytest.raises(SettingsError) as err:
        load_preset("tiny", **overrides)
    assert err.value.field == field
    assert field.split("_")[0] in str(err.value) or field in str(err.value)


def test_schedule_spec_maps_the_settings_onto_the_schedules_parameters():
    s = load_preset(
        "tiny",
        schedule="harmonic",
        final_sparsity=[0.5, 0.8, 0.95],
        prune_start=1,
        schedule_params={"period": 20.0, "amplitude": 0.05},
        iterations=40,
    )
    assert s.schedule_spec() == {
        "name": "harmonic",
        "final_sparsity": [0.5, 0.8, 0.95],
        "start": 1,
        "end": 40,
        "period": 20.0,
        "amplitude": 0.05,
    }
    assert load_preset("tiny", schedule="none").schedule_spec() == {"name": "none"}
    assert load_preset("tiny", schedule="linear", prune_end=2).schedule_spec()["end"] == 2


def test_settings_saved_by_version_0_1_read_into_schedule_params():
    old = {
        **load_preset("paper_A").to_dict(),
        "schedule": "harmonic",
        "harmonic_period": 60.0,
        "harmonic_amplitude": 0.2,
        "initial_sparsity": 0.1,
    }
    del old["schedule_params"]
    s = Settings.from_dict(old).validate()
    assert s.schedule_params == {"period": 60.0, "amplitude": 0.2, "initial_sparsity": 0.1}
    dense = {**old, "schedule": "none"}
    assert Settings.from_dict(dense).validate().schedule_params == {}  # never used by "none"


def test_critic_modes_match_the_library():
    pytest.importorskip("torch")
    pytest.importorskip("ray")
    from rllib_experiments.iagc.modules import CRITIC_MODES as LIBRARY

    assert CRITIC_MODES == LIBRARY


def test_prune_scopes_are_defined_once():
    """Settings checks prune scopes with the torch-free module the actor's patterns live in."""
    from rllib_experiments.iagc.prune_scopes import PRUNE_SCOPES as LIBRARY
    from rllib_experiments.settings import PRUNE_SCOPES

    assert PRUNE_SCOPES is LIBRARY


@pytest.mark.parametrize(
    "name,value", [("prune_scope", "head"), ("prune_scope", None), ("prune_ranking", "matrix")]
)
def test_bad_prune_scope_or_ranking_is_named(name, value):
    with pytest.raises(SettingsError) as err:
        Settings(**{name: value}).validate()
    assert err.value.field == name and "must be one of" in str(err.value)


def test_pruning_config_per_user_schedules():
    from rllib_experiments.algorithm import pruning_config

    agents = ["user_0", "user_1", "user_2"]
    settings = load_preset(
        "tiny",
        schedule="harmonic",
        final_sparsity=[0.5, 0.8, 0.95],
        schedule_params={"period": 20},
        iterations=40,
        prune_interval=4,
        prune_ranking="global",
    )
    cfg = pruning_config(settings, agents)
    assert cfg.modules == agents and cfg.mode == "regrow" and cfg.prune_interval == 4
    assert cfg.ranking == "global" and cfg.final_iteration == 40
    assert cfg is settings.pruning_config()  # built once, by validate, and kept
    schedules = cfg.schedules(agents)
    assert [schedules[a].final_sparsity for a in agents] == [0.5, 0.8, 0.95]
    assert schedules["user_0"].period == 20 and schedules["user_0"].end == 40
    with pytest.raises(SettingsError) as err:
        load_preset("tiny", schedule="linear", final_sparsity=[0.5, 0.5])
    assert err.value.field == "final_sparsity" and "one value per agent (3), got 2" in str(
        err.value
    )


def test_validation_imports_neither_torch_nor_ray():
    import subprocess
    import sys

    code = (
        "import sys; from rllib_experiments.settings import load_preset; "
        "load_preset('tiny', schedule='harmonic').pruning_config(); "
        "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_each_schedule_value_is_checked_once_by_its_schedule(monkeypatch):
    """final_sparsity is checked by the schedule's declared Bounds only: once per user's
    schedule, and not again when the same settings are validated again."""
    from pruning_callbacks.schedules import Bounds

    settings = Settings.from_dict(
        {**load_preset("tiny").to_dict(), "schedule": "linear", "final_sparsity": 0.9}
    )
    checked = []
    original = Bounds.check
    monkeypatch.setattr(
        Bounds,
        "check",
        lambda self, name, value, schedule: (
            checked.append(name),
            original(self, name, value, schedule),
        )[1],
    )
    settings.validate()
    assert checked.count("final_sparsity") == 3  # tiny: 3 users, one schedule each
    settings.validate()
    settings.pruning_config()
    assert checked.count("final_sparsity") == 3
    with pytest.raises(SettingsError, match=r"final_sparsity must be in \[0, 1\), got 1.0"):
        settings.replace(final_sparsity=1.0)
    # a value the schedule does not take ("none") is held to the same declaration
    checked.clear()
    with pytest.raises(SettingsError, match=r"final_sparsity must be in \[0, 1\)"):
        settings.replace(schedule="none", final_sparsity=1.0)
    assert checked.count("final_sparsity") == 1


def test_bad_env_kwargs_and_presets_fail_fast():
    with pytest.raises(SettingsError) as err:
        load_preset("tiny", env={"num_users": 0})
    assert (err.value.field, err.value.argument) == ("env", "num_users")
    with pytest.raises(ValueError, match="unknown preset"):
        load_preset("paper_D")
