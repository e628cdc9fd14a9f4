"""How a module's target sparsity is spread over its prunable tensors (pure Python).

``uniform``: every tensor to the target p, k = round(p n) of its n entries pruned (the
rounding of :func:`~pruning_callbacks.masks.num_to_prune`: halves up).

``erk`` (Erdős–Rényi kernel, Evci et al. 2020, after Mocanu et al. 2018): the density
(1 - sparsity) of tensor l is eps * sum(shape_l) / prod(shape_l), for a 2-D weight
(fan_out x fan_in) eps (fan_in + fan_out) / (fan_in fan_out), with one eps for the
module chosen so that the pruned entries over all its prunable tensors are exactly
K = round(p N) of their N entries. A tensor whose density would exceed 1 is kept dense
and eps is solved again over the others, until none exceeds 1. An LSTM's weight
matrices are taken with their 2-D shape (4 hidden x input); a 1-D tensor (a bias, with
``prune_biases``) has sum/prod = 1 and so is about always dense. The real-valued counts
n_l (1 - density_l) are rounded so that they sum to K exactly: each is rounded down and
the remainder goes one entry each to the tensors with the largest fractional parts (ties:
the earlier tensor).
"""

from __future__ import annotations

import math
from typing import List, Sequence

DISTRIBUTIONS = ("uniform", "erk")
"""Sparsity distributions over a module's prunable tensors."""


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def uniform_counts(sizes: Sequence[int], sparsity: float) -> List[int]:
    """Entries to prune per tensor: round(p n) each (halves up)."""
    return [min(n, max(0, _round_half_up(sparsity * n))) for n in sizes]


def erk_densities(shapes: Sequence[Sequence[int]], sparsity: float) -> List[float]:
    """ERK density of each tensor (1.0 for those kept dense) for overall ``sparsity``."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    sizes = [math.prod(s) for s in shapes]
    raw = [sum(s) / math.prod(s) for s in shapes]
    keep = (1.0 - sparsity) * sum(sizes)  # entries left active over all tensors
    dense: set = set()
    while True:
        free = [j for j in range(len(shapes)) if j not in dense]
        if not free:
            return [1.0] * len(shapes)
        budget = keep - sum(sizes[j] for j in dense)
        eps = budget / sum(raw[j] * sizes[j] for j in free)
        over = [j for j in free if eps * raw[j] > 1.0]
        if not over:
            return [1.0 if j in dense else eps * raw[j] for j in range(len(shapes))]
        dense.update(over)


def erk_counts(shapes: Sequence[Sequence[int]], sparsity: float) -> List[int]:
    """Entries to prune per tensor under ERK; they sum to round(p N) exactly."""
    sizes = [math.prod(s) for s in shapes]
    total = min(sum(sizes), max(0, _round_half_up(sparsity * sum(sizes))))
    ideal = [n * (1.0 - d) for n, d in zip(sizes, erk_densities(shapes, sparsity))]
    counts = [min(n, int(math.floor(x))) for n, x in zip(sizes, ideal)]
    order = sorted(range(len(sizes)), key=lambda j: (-(ideal[j] - counts[j]), j))
    missing = total - sum(counts)
    for j in order:
        if missing <= 0:
            break
        if counts[j] < sizes[j] and ideal[j] > 0:
            counts[j] += 1
            missing -= 1
    return counts


def prune_counts(shapes: Sequence[Sequence[int]], sparsity: float, distribution: str) -> List[int]:
    """Entries to prune in each tensor (given by its shape) for the module's ``sparsity``."""
    if distribution == "uniform":
        return uniform_counts([math.prod(s) for s in shapes], sparsity)
    if distribution == "erk":
        return erk_counts(shapes, sparsity)
    raise ValueError(f"distribution must be one of {list(DISTRIBUTIONS)}, got {distribution!r}")
