"""Variant rows ``BASE+MOD...`` (rllib_experiments.methods.variants): parsing, the Settings each
modifier gives, the sparsity of all actor parameters, and errors that name what is allowed."""

from __future__ import annotations

import pytest

from rllib_experiments.studies.table1.budgets import BUDGETS
from rllib_experiments.methods import ROWS, expand_rows, get_row
from rllib_experiments.studies.common.trials import base_settings

pytest.importorskip("torch")
pytest.importorskip("ray")


def _settings(key, setup="A"):
    return get_row(key).settings(base_settings(BUDGETS["paper"], setup, 3))


def test_modifiers_change_only_what_they_name():
    base = _settings("harmonic")
    changes = {
        "head_dense": dict(prune_scope="head_dense"),
        "lstm_only": dict(prune_scope="lstm_only"),
        "global": dict(prune_ranking="global"),
        "hold": dict(prune_mode="hold"),
        "biases": dict(prune_biases=True),
        "iprune20": dict(prune_interval=20),
        "p0.9": dict(final_sparsity=0.9),
        "start0.2": dict(prune_start=200),
        "end0.8": dict(prune_end=800),
        "bf16": dict(autocast_bf16=True),
        "alr0.0003": dict(actor_lr=0.0003),
        "clr0.00002": dict(critic_lr=0.00002),
        "amp0.05": dict(schedule_params={**base.schedule_params, "amplitude": 0.05}),
        "period0.5": dict(schedule_params={**base.schedule_params, "period": 500.0}),
    }
    for mod, expected in changes.items():
        assert _settings(f"harmonic+{mod}").to_dict() == base.replace(**expected).to_dict(), mod
    both = _settings("harmonic+head_dense+hold")
    assert (both.prune_scope, both.prune_mode, both.seed) == ("head_dense", "hold", 3)


def test_variant_rows_are_labelled_and_grouped_but_not_listed():
    row = get_row("linear+head_dense")
    assert row.group == "variant" and row.paper == {} and "head_dense" in row.label
    assert row.key not in ROWS and row.build is ROWS["linear"].build
    assert expand_rows(["dense", "harmonic+hold", "harmonic", "harmonic+hold"]) == [
        "dense",
        "harmonic",
        "harmonic+hold",
    ]


def test_sparsity_of_all_parameters_counts_every_parameter():
    """all<s>: the pruned matrices' p is s x (all parameters) / (pruned entries), counted by hand
    for the paper's actor (obs 10, 2 x 128 dense, LSTM 128, 6 actions)."""
    matrices = {
        "dense0": 10 * 128,
        "dense2": 128 * 128,
        "ih": 128 * 512,
        "hh": 128 * 512,
        "head": 128 * 6,
    }
    biases = 128 + 128 + 512 + 512 + 6
    total = sum(matrices.values()) + biases
    s = _settings("harmonic+head_dense+all0.98")
    assert s.final_sparsity == pytest.approx(
        0.98 * total / (sum(matrices.values()) - matrices["head"])
    )
    s = _settings("harmonic+biases+all0.995")
    assert s.final_sparsity == pytest.approx(0.995)  # everything is pruned: p = s


@pytest.mark.parametrize(
    "key, words",
    [
        ("harmonic+headdense", "unknown modifier"),
        ("nope+hold", "unknown base row"),
        ("aloha+hold", "does not learn"),
        ("harmonic+iprune0", "i_prune must be an integer"),
        ("harmonic+io_dense+all0.99", "at most 0.9779 can be pruned"),
        ("harmonic+p1.5", "final_sparsity"),
        ("harmonic+alr0", "a learning rate must be > 0"),
        ("harmonic+clr1e-5", "unknown modifier"),
    ],
)
def test_bad_variants_say_what_is_allowed(key, words):
    with pytest.raises(ValueError, match=words):
        _settings(key)


def test_environment_modifiers_merge_into_the_settings_env():
    from rllib_experiments.studies.pruning.definitions import STUDIES
    from rllib_experiments.studies.pruning.pareto import BUDGET

    settings = get_row("ours+rate+difference").settings(base_settings(BUDGET, "C", 0))
    assert settings.env == {"observation": "last_action_feedback_rate", "reward": "difference"}
    assert settings.env_kwargs()["setup"] == "C"
    assert get_row("ours+rate").settings(base_settings(BUDGET, "A", 0)).env == {
        "observation": "last_action_feedback_rate"
    }
    assert STUDIES["last3"][1] == ["ours", "ours+rate", "ours+rate+difference"]
