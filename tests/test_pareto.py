"""The Pareto study's points: sparse actors and the dense widths of the same int8 bytes.

The frozen widths of ``rllib_experiments.studies.pruning.pareto.DENSE_WIDTHS`` are what
``matching_width`` gives today for the sparse actor of each sparsity, in setups A and C; the
rows parse; and the file sizes behave as the encoding says (denser and wider: larger).
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("ray")

from rllib_experiments.methods import get_row  # noqa: E402
from rllib_experiments.studies.pruning import definitions, pareto  # noqa: E402

pytestmark = pytest.mark.rllib


def test_the_study_runs_every_sparse_row_and_its_dense_control():
    question, rows, seeds = definitions.STUDIES["pareto"]
    assert seeds == [0, 1, 2, 3, 4] and "--setups A C" in question
    assert rows[: len(pareto.SPARSITIES)] == [pareto.MAGNITUDE_ROWS[s] for s in pareto.SPARSITIES]
    assert rows[len(pareto.SPARSITIES) :] == [
        f"ours_dense+width{pareto.DENSE_WIDTHS[s]}" for s in pareto.SPARSITIES
    ]
    for row in rows:
        assert get_row(row).kind == "learning"


def test_a_width_sets_both_layers_and_the_lstm():
    settings = pareto._settings("ours_dense+width24")
    assert settings.hidden_sizes == (24, 24) and settings.lstm_size == 24
    assert settings.schedule == "none"
    with pytest.raises(ValueError, match=r"a width must be an integer >= 1"):
        get_row("ours_dense+width0")


def test_dense_bytes_grow_with_the_width_and_the_sparse_bytes_with_density():
    dense = [pareto.dense_int8_bytes(w) for w in (8, 16, 32, 64, 128)]
    assert dense == sorted(dense) and len(set(dense)) == 5
    sparse = [pareto.sparse_int8_bytes(pareto.MAGNITUDE_ROWS[s]) for s in (0.9, 0.95, 0.98)]
    assert sparse == sorted(sparse, reverse=True)
    # the paper's dense actor (width 128) in int8: what the Table I records say (158,028 B)
    assert dense[-1] == 158028.0


@pytest.mark.slow
@pytest.mark.parametrize("setup", pareto.SETUPS)
def test_the_frozen_widths_match_the_sparse_actors_bytes(setup):
    for s in pareto.SPARSITIES:
        target = pareto.sparse_int8_bytes(pareto.MAGNITUDE_ROWS[s], setup)
        assert pareto.matching_width(target, setup) == pareto.DENSE_WIDTHS[s], s


def test_the_distribution_check_runs_every_algorithm_both_ways():
    question, rows, seeds = definitions.STUDIES["pareto_distribution"]
    assert seeds == [0, 1, 2] and len(rows) == 12 == len(set(rows))
    assert "ours+rigl+erk+head_dense+all0.95" in rows
    assert "ours+static+head_dense+biases+all0.99" in rows
    for row in rows:
        settings = pareto._settings(row)
        assert settings.schedule == "constant" and settings.prune_algorithm in pareto.ALGORITHMS
    assert pareto.from_scratch_row("set", "erk", 0.995) == "ours+set+erk+biases+all0.995"
    with pytest.raises(ValueError, match=r"algorithm must be one of \('static', 'set', 'rigl'\)"):
        pareto.from_scratch_row("snip", "uniform", 0.9)
