"""Sparse training algorithms: how each actor's masks are made and moved.

The registry (``registry``, no torch) names them; each is one file here:

- "magnitude" (``magnitude``, the default): gradual magnitude pruning to the schedule's
  p_i (:class:`~pruning_callbacks.masks.MagnitudePruner`; the paper's method);
- "static" (``static``): a seeded random mask at the target sparsity, fixed from the start;
- "set" (``set``, Mocanu et al. 2018): every ``update_interval`` iterations drop the
  smallest-magnitude active weights and grow as many at random, at zero;
- "rigl" (``rigl``, Evci et al. 2020): drop as SET, grow where the dense gradient is largest.

``distribution`` (no torch) spreads a module's sparsity over its tensors ("uniform",
"erk"); ``base`` holds what the algorithms share. See docs/pruning.md ("Sparse training
algorithms"). Only the registry and the distribution are imported here, so that
``import pruning_callbacks.algorithms`` needs no torch.
"""

from pruning_callbacks.algorithms.distribution import DISTRIBUTIONS, prune_counts
from pruning_callbacks.algorithms.registry import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    AlgorithmEntry,
    algorithm_class,
    algorithm_entry,
    algorithm_names,
    register_algorithm,
)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "DISTRIBUTIONS",
    "AlgorithmEntry",
    "algorithm_class",
    "algorithm_entry",
    "algorithm_names",
    "prune_counts",
    "register_algorithm",
]
