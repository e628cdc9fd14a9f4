"""Search spaces of ``tune_schedules --search-space`` (rllib_experiments.studies.common.search_space): pure, no Ray.

What a file may say and how each bad entry is named; how a sampled point becomes Settings
(fractions of the budget, harmonic-only parameters); the corner points checked before any
trial starts; and the shipped space is valid.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rllib_experiments
from rllib_experiments.studies.common import search_space as ss
from rllib_experiments.settings import load_preset

BASE = load_preset("paper_A").to_dict()
SHIPPED = Path(rllib_experiments.__file__).parent / "search_spaces" / "pruning.yaml"


def _space(**params):
    return ss.parse_search_space({"parameters": params})


def test_the_sampled_space_is_the_shipped_one_ranked_by_sampled_reward():
    sampled = ss.load_search_space(SHIPPED.with_name("pruning_sampled.yaml"))
    assert sampled.metric == "stochastic"
    assert sampled.parameters == ss.load_search_space(SHIPPED).parameters
    ss.check_space(sampled, BASE)


def test_shipped_space_loads_and_every_corner_builds():
    space = ss.load_search_space(SHIPPED)
    assert space.metric == "greedy" and space.metric_key == "eval_greedy_mean"
    ss.check_space(space, BASE)
    corners = ss.corner_points(space)
    # one base point, then one per extra choice and one per range's upper end
    extra = sum(
        len(v["choice"]) - 1 if "choice" in v else 1 for v in space.distributions().values()
    )
    assert len(corners) == 1 + extra


def test_point_to_settings_fractions_and_harmonic_parameters():
    point = {
        "schedule": "harmonic",
        "prune_start_fraction": 0.1,
        "prune_end_fraction": 0.8,
        "amplitude": 0.05,
        "period_fraction": 0.25,
        "prune_interval": 20,
        "seed": 3,
        "prune_scope": "head_dense",
    }
    s = ss.settings_for(BASE, point)
    assert (s.prune_start, s.prune_end, s.prune_interval, s.seed) == (100, 800, 20, 3)
    assert s.schedule_params == {"amplitude": 0.05, "period": 250.0}
    assert s.prune_scope == "head_dense"
    assert ss.unused_parameters(point) == []


def test_harmonic_only_parameters_are_dropped_for_another_schedule():
    point = {"schedule": "linear", "amplitude": 0.05, "period_fraction": 0.25}
    s = ss.settings_for(BASE, point)
    assert s.schedule == "linear" and s.schedule_params == {}
    assert ss.unused_parameters(point) == ["amplitude", "period_fraction"]


def test_end_is_kept_after_start():
    s = ss.settings_for(
        BASE, {"schedule": "linear", "prune_start_fraction": 0.5, "prune_end_fraction": 0.5}
    )
    assert s.prune_end == s.prune_start + 1 == 501


@pytest.mark.parametrize(
    "data, parameter, words",
    [
        ({"parameters": {}}, None, "non-empty"),
        ({"parameters": {"gamma": 0.9}, "budget": 3}, "budget", "unknown top-level"),
        ({"parameters": {"gamma": 0.9}, "metric": "reward"}, "metric", "must be one of"),
        ({"parameters": {"iterations": {"choice": [10, 20]}}}, "iterations", "not allowed"),
        ({"parameters": {"learning_rate": 0.1}}, "learning_rate", "not allowed"),
        ({"parameters": {"actor_lr": [1e-4, 1e-3]}}, "actor_lr", "choice"),
        ({"parameters": {"actor_lr": {"normal": [0, 1]}}}, "actor_lr", "give one of"),
        ({"parameters": {"actor_lr": {"uniform": [1e-3, 1e-4]}}}, "actor_lr", "low < high"),
        ({"parameters": {"actor_lr": {"loguniform": [0.0, 1e-3]}}}, "actor_lr", "low > 0"),
        ({"parameters": {"prune_interval": {"randint": [1, 2.5]}}}, "prune_interval", "integer"),
        ({"parameters": {"seed": {"choice": []}}}, "seed", "non-empty"),
        (
            {"parameters": {"prune_start_fraction": {"uniform": [0.0, 1.5]}}},
            "prune_start_fraction",
            "[0, 1]",
        ),
        ({"parameters": {"period_fraction": -0.1}}, "period_fraction", "[0, 1]"),
    ],
)
def test_bad_spaces_name_the_parameter(data, parameter, words):
    with pytest.raises(ss.SearchSpaceError) as err:
        ss.parse_search_space(data)
    assert err.value.parameter == parameter and words in str(err.value)


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"final_sparsity": {"choice": [0.9, 1.5]}}, "final_sparsity"),
        ({"prune_scope": {"choice": ["all", "heads"]}}, "prune_scope"),
        ({"schedule": {"choice": ["harmonic", "cubic"]}}, "schedule"),
        ({"actor_lr": {"uniform": [1e-4, 2.0]}}, "actor_lr"),
    ],
)
def test_values_no_trial_could_run_fail_before_any_trial(params, parameter):
    space = (
        _space(schedule="harmonic", **{k: v for k, v in params.items() if k != "schedule"})
        if "schedule" not in params
        else _space(**params)
    )
    with pytest.raises(ss.SearchSpaceError) as err:
        ss.check_space(space, BASE)
    assert err.value.parameter == parameter


def test_grid_takes_choices_only():
    assert (
        _space(
            seed={"choice": [0, 1, 2]}, prune_scope={"choice": ["all", "head_dense"]}, gamma=0.9
        ).grid_size()
        == 6
    )
    with pytest.raises(ss.SearchSpaceError) as err:
        _space(actor_lr={"uniform": [1e-4, 1e-3]}).grid_size()
    assert err.value.parameter == "actor_lr"


def test_files_json_and_yaml(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"parameters": {"seed": {"choice": [0, 1]}}}))
    (tmp_path / "s.yaml").write_text("metric: stochastic\nparameters:\n  seed: {choice: [0, 1]}\n")
    assert ss.load_search_space(tmp_path / "s.json").parameters == {"seed": {"choice": [0, 1]}}
    assert ss.load_search_space(tmp_path / "s.yaml").metric == "stochastic"
    (tmp_path / "bad.yaml").write_text("parameters: [unclosed\n")
    with pytest.raises(ss.SearchSpaceError, match="not valid YAML"):
        ss.load_search_space(tmp_path / "bad.yaml")
    with pytest.raises(ss.SearchSpaceError, match="does not exist"):
        ss.load_search_space(tmp_path / "missing.json")


def test_point_ids_are_stable_and_distinct():
    a = {"seed": 0, "actor_lr": 1e-3}
    assert ss.point_id(a) == ss.point_id(dict(reversed(list(a.items()))))
    assert ss.point_id(a) != ss.point_id({**a, "seed": 1})


@pytest.mark.parametrize(
    "point, key",
    [
        (
            dict(
                schedule="harmonic",
                prune_scope="head_dense",
                prune_mode="hold",
                prune_start_fraction=0.125,
                prune_end_fraction=0.875,
                amplitude=0.05,
                period_fraction=0.3,
                prune_interval=20,
                final_sparsity=0.95,
                actor_lr=3.1234e-4,
                critic_lr=2.1e-05,
                seed=4,
            ),
            "harmonic+head_dense+hold+start0.125+end0.875+amp0.05+period0.3+iprune20+p0.95"
            "+alr0.00031234+clr0.000021",
        ),
        # a harmonic-only parameter of another schedule is ignored by the trial, and by its row
        (
            dict(schedule="linear", amplitude=0.05, prune_scope="all", actor_lr=1e-4),
            "linear+all+alr0.0001",
        ),
        (dict(schedule="none", actor_lr=1e-4), None),  # no pruned Table I row to start from
        (dict(schedule="harmonic", entropy_coeff=0.01), None),  # no modifier sets it
    ],
)
def test_variant_key_of_a_point(point, key):
    assert ss.variant_key(point) == key


def test_study_row_trains_exactly_the_searched_settings():
    """The row printed in best.json / search.md gives the trial's Settings (seed aside), or None."""
    pytest.importorskip("torch")
    from rllib_experiments.studies.common.search import study_row
    from rllib_experiments.methods import get_row
    from rllib_experiments.settings import Settings

    point = dict(
        schedule="polynomial",
        prune_scope="io_dense",
        prune_mode="regrow",
        prune_start_fraction=0.05,
        prune_end_fraction=0.7,
        prune_interval=5,
        final_sparsity=0.95,
        actor_lr=1.7e-4,
        critic_lr=4e-5,
        seed=2,
    )
    key = study_row(point, BASE)
    assert key == "polynomial+io_dense+regrow+start0.05+end0.7+iprune5+p0.95+alr0.00017+clr0.00004"
    row = get_row(key).settings(Settings.from_dict(BASE)).to_dict()
    searched = ss.settings_for(BASE, point).to_dict()
    assert {k: v for k, v in row.items() if k != "seed"} == {
        k: v for k, v in searched.items() if k != "seed"
    }
    assert study_row(dict(point, schedule="none"), BASE) is None
    # end = start + 1 iteration: settings_for keeps the end after the start, the end modifier cannot
    assert study_row(dict(point, prune_start_fraction=0.3, prune_end_fraction=0.3), BASE) is None


def test_combinations_no_trial_could_run_fail_naming_both_parameters():
    space = _space(episodes_per_iteration={"choice": [4, 1]}, minibatch_episodes={"choice": [1, 4]})
    with pytest.raises(ss.SearchSpaceError) as err:
        ss.check_space(space, BASE)
    assert "minibatch_episodes" in str(err.value) and "episodes_per_iteration" in str(err.value)
    assert err.value.parameter in ("minibatch_episodes", "episodes_per_iteration")


@pytest.mark.parametrize("spec", [1500, {"choice": [500, 1001]}, {"randint": [10, 2000]}])
def test_prune_end_past_the_iterations_is_refused(spec):
    space = _space(schedule="linear", prune_end=spec)
    with pytest.raises(ss.SearchSpaceError) as err:
        ss.check_space(space, BASE)
    assert err.value.parameter == "prune_end" and "past the 1000 iterations" in str(err.value)


@pytest.mark.parametrize(
    "name, text",
    [
        ("s.yaml", "parameters:\n  seed: 0\n  seed: 1\n"),
        ("s.yaml", "parameters:\n  actor_lr: {choice: [1.0e-4]}\nparameters: {seed: 0}\n"),
        ("s.json", '{"parameters": {"seed": 0, "seed": 1}}'),
    ],
)
def test_duplicate_keys_in_a_space_file_are_refused_naming_the_key(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    with pytest.raises(ss.SearchSpaceError, match="given twice") as err:
        ss.load_search_space(tmp_path / name)
    assert err.value.parameter in ("seed", "parameters")


@pytest.mark.parametrize(
    "line",
    ["actor_lr: 1e-4", "actor_lr: {loguniform: [1e-4, 1.0e-3]}", "actor_lr: {choice: [3e-4]}"],
)
def test_yaml_exponent_without_dot_read_as_text_is_explained(tmp_path, line):
    (tmp_path / "s.yaml").write_text(f"parameters:\n  {line}\n")
    with pytest.raises(ss.SearchSpaceError) as err:
        ss.load_search_space(tmp_path / "s.yaml")
    assert err.value.parameter == "actor_lr"
    assert "is text, not a number" in str(err.value) and ".0e-4" in str(err.value)
