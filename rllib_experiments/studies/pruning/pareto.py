"""Sparse actors against small dense ones at equal bytes: the points of the Pareto study.

A reviewer's first question about pruning (Blalock et al., MLSys 2020): would a small dense
actor of the same size do as well? The size that matters on a device is the actor's file,
so the dense control is matched in **int8 file bytes per user** (the deployment format,
:mod:`dsa_pettingzoo.deploy`), not in parameter count: a sparse file also stores where its
non-zeros are.

:func:`sparse_int8_bytes` is the file size of an actor of the ``ours`` settings at a given
sparsity of all its parameters: each pruned matrix masked at the planned sparsity, uniformly
at random (what layer-wise magnitude pruning leaves per matrix; which entries survive changes
the size only through the encoding's row pointers). :func:`dense_int8_bytes` is the size of
a dense actor of width h (both MLP layers and the LSTM of h units, the variant modifier
``width<h>``), and :func:`matching_width` the width whose dense file is closest to a byte
budget. :data:`DENSE_WIDTHS` freezes the result for the study's sparsities (recomputed by
``tests/test_pareto.py``): the study's rows are fixed strings, not computed when it runs.
"""

from __future__ import annotations

from typing import Dict, Iterable, List

import numpy as np

from rllib_experiments.dsa.actor_files import actor_file_bytes
from rllib_experiments.methods import get_row
from rllib_experiments.methods.variants import probe_actor, pruned_parameters

#: Sparsities of all actor parameters the study's sparse actors reach.
SPARSITIES = (0.9, 0.95, 0.98, 0.99, 0.995)
#: The sparse row of a sparsity (magnitude pruning, the best schedule found: ``ours``, the
#: output layer dense; from 0.99 the biases too, or the head's share leaves too few weights).
MAGNITUDE_ROWS = {
    0.9: "ours+head_dense+all0.9",
    0.95: "ours+head_dense+all0.95",
    0.98: "ours+head_dense+all0.98",
    0.99: "ours+head_dense+biases+all0.99",
    0.995: "ours+global+biases+all0.995",
}
#: Dense width h whose int8 file is closest to the sparse actor's of each sparsity, per
#: setup (the setups of the study share N, K and the observation, hence the sizes).
DENSE_WIDTHS = {0.9: 59, 0.95: 44, 0.98: 32, 0.99: 25, 0.995: 24}
#: The setups of the study: A, and C where a channel's history matters.
SETUPS = ("A", "C")
BUDGET = {"name": "paper", "iterations": 1000, "eval_interval": 10, "eval_episodes": 100,
          "preset": "paper_{setup}", "seeds": [0]}  # fmt: skip


def _settings(row: str, setup: str = "A"):
    # the trials import torch; the study's definitions (this module) must not
    from rllib_experiments.studies.common.trials import base_settings

    return get_row(row).settings(base_settings(BUDGET, setup, 0))


def sparse_int8_bytes(row: str, setup: str = "A", seed: int = 0) -> float:
    """int8 file bytes of one actor of ``row`` at its planned sparsity (see the module doc)."""
    import torch  # the actor is a torch module; the study's definitions import this module

    settings = _settings(row, setup)
    actor = probe_actor(settings)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in pruned_parameters(settings, actor).values():
            keep = rng.permutation(p.numel()) >= round(settings.final_sparsity * p.numel())
            p.mul_(torch.from_numpy(keep.reshape(tuple(p.shape))).to(p.dtype))
    return actor_file_bytes([actor], "int8")


def dense_int8_bytes(width: int, setup: str = "A") -> float:
    """int8 file bytes of a dense ``ours`` actor of width ``width``."""
    return actor_file_bytes([probe_actor(_settings(f"ours_dense+width{width}", setup))], "int8")


def matching_width(target: float, setup: str = "A", widths: Iterable[int] = range(2, 129)) -> int:
    """The width whose dense int8 file is closest to ``target`` bytes (sizes grow with width:
    bisection, then the nearer neighbour)."""
    ws: List[int] = sorted(widths)
    lo, hi = 0, len(ws) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if dense_int8_bytes(ws[mid], setup) < target:
            lo = mid + 1
        else:
            hi = mid
    if lo > 0 and abs(dense_int8_bytes(ws[lo - 1], setup) - target) <= abs(
        dense_int8_bytes(ws[lo], setup) - target
    ):
        return ws[lo - 1]
    return ws[lo]


#: The sparse-from-scratch algorithms (pruning_callbacks.algorithms) and their distributions.
ALGORITHMS = ("static", "set", "rigl")
DISTRIBUTIONS = ("uniform", "erk")
#: The sparsities at which the better distribution of each algorithm is decided (3 seeds).
CHECK_SPARSITIES = (0.95, 0.99)


def from_scratch_row(algorithm: str, distribution: str, sparsity: float) -> str:
    """The row of a sparse-from-scratch actor: the ``ours`` settings, the algorithm (a constant
    sparsity from the first iteration), its distribution, and the scope of the magnitude row
    of the same sparsity (from 0.995 every layer: the output layer's share leaves too few
    weights otherwise, and a global ranking is magnitude pruning's own)."""
    if algorithm not in ALGORITHMS or distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"algorithm must be one of {ALGORITHMS} and distribution one of {DISTRIBUTIONS}, "
            f"got {algorithm!r}, {distribution!r}"
        )
    scope = {0.99: "head_dense+biases", 0.995: "biases"}.get(sparsity, "head_dense")
    erk = "+erk" if distribution == "erk" else ""
    return f"ours+{algorithm}{erk}+{scope}+all{sparsity:g}"


def distribution_check_rows() -> List[str]:
    """The rows of the distribution check: every algorithm in both distributions, at
    :data:`CHECK_SPARSITIES`."""
    return [
        from_scratch_row(a, d, s)
        for s in CHECK_SPARSITIES
        for a in ALGORITHMS
        for d in DISTRIBUTIONS
    ]


def dense_rows() -> Dict[float, str]:
    """The dense control of each sparsity: ``ours_dense+width<h>``."""
    return {s: f"ours_dense+width{DENSE_WIDTHS[s]}" for s in SPARSITIES}


def study_rows() -> List[str]:
    """The rows of the Pareto study run so far: magnitude-pruned actors, then their dense
    controls. The sparse-from-scratch rows (:func:`from_scratch_row`, each algorithm in the
    distribution the check ``pareto_distribution`` finds better) join once it has run."""
    return [MAGNITUDE_ROWS[s] for s in SPARSITIES] + list(dense_rows().values())
