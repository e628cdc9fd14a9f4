"""Prune scopes of an :class:`~rllib_experiments.iagc.modules.IAGCActor`: which of its weight
matrices a pruner may touch, as fnmatch patterns on its parameter names.

Needs neither torch nor ray, so that :class:`~rllib_experiments.settings.Settings` can
check a scope (and build its pruning config) without them; the parameter names are
those of :class:`~rllib_experiments.iagc.modules.IAGCActor` (``trunk.dense.<k>``,
``trunk.lstm``, ``logits``).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

#: Which weight matrices of an :class:`IAGCActor` a pruner may touch ("prune scope"):
#: "all" every matrix; "head_dense" all but the output layer ``logits``; "input_dense" all
#: but the first layer (the one that reads the observation); "io_dense" neither of the two;
#: "lstm_only" only the LSTM's matrices. :func:`prune_scope_patterns` gives the patterns.
PRUNE_SCOPES = ("all", "head_dense", "input_dense", "io_dense", "lstm_only")


def prune_scope_patterns(
    scope: str, hidden_sizes: Sequence[int] = (128, 128)
) -> Tuple[Optional[List[str]], List[str]]:
    """(include, exclude) fnmatch patterns on an :class:`IAGCActor`'s parameter names.

    The input layer is ``trunk.dense.0`` or, without dense layers, the LSTM's
    ``weight_ih_l0``; the output layer is ``logits``. Patterns follow
    :func:`pruning_callbacks.masks.prunable_parameters` (include None = every matrix).
    """
    if scope not in PRUNE_SCOPES:
        raise ValueError(f"prune scope must be one of {list(PRUNE_SCOPES)}, got {scope!r}")
    head = ["logits.*"]
    first = ["trunk.dense.0.*"] if len(tuple(hidden_sizes)) else ["trunk.lstm.weight_ih_l0"]
    return {
        "all": (None, []),
        "head_dense": (None, head),
        "input_dense": (None, first),
        "io_dense": (None, first + head),
        "lstm_only": (["trunk.lstm.*"], []),
    }[scope]
