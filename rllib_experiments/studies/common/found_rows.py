"""The rows the pruning study found, which Table I runs beside the paper's.

* ``harmonic+head_dense``: the paper's harmonic row with the actors' output layer kept dense
  (the root-cause study: pruning the 128 x 6 output layer is what costs the paper's rows);
* :data:`SEARCH_A_BEST`: the best configuration of the Optuna search in setup A
  (``docs/results/raw/search_A_sampled/best.json``), written as the search point it was
  (:data:`SEARCH_A_BEST_POINT`) and turned into its variant row key by the search's own
  :func:`~rllib_experiments.studies.common.search_space.variant_key`.
"""

from __future__ import annotations

from rllib_experiments.studies.common.search_space import variant_key

#: The search's best point: the Settings fields it set (its harmonic-only parameters, which
#: a polynomial schedule ignores, left out).
SEARCH_A_BEST_POINT = {
    "schedule": "polynomial",
    "prune_scope": "head_dense",  # the output layer stays dense
    "prune_mode": "regrow",  # masks recomputed every i_prune iterations
    "prune_start_fraction": 0.09414792143144478,  # i_start / iterations
    "prune_end_fraction": 0.6939524929497025,  # i_P / iterations
    "prune_interval": 5,  # i_prune
    "final_sparsity": 0.95,  # of the pruned matrices
    "actor_lr": 0.0004830580082632251,
    "critic_lr": 0.0005493363728237828,
}
#: Its row key (the ``study_row`` the search recorded): it reruns the search's trial exactly.
SEARCH_A_BEST = variant_key(SEARCH_A_BEST_POINT)
#: The rows found, in the order the tables show them.
FOUND_ROWS = ["harmonic+head_dense", SEARCH_A_BEST]
#: Short names the reports show for rows whose keys are too long for a table or a figure.
DISPLAY_NAMES = {SEARCH_A_BEST: "search_A_best"}
#: Groups a command's ``--rows`` accepts beside the methods' own: ``found``, and each short
#: name standing for its row.
ROW_GROUPS = {"found": FOUND_ROWS, **{name: [key] for key, name in DISPLAY_NAMES.items()}}
