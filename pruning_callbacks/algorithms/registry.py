"""The registry of sparse training algorithms by name (pure Python: no torch).

An algorithm is one file beside this one with one class, and one line at the end of this
file: ``register_algorithm(name, "module:Class", from_scratch=...)``. The class is
imported only when a Learner builds it (:func:`algorithm_class`), so that the settings
(:class:`~pruning_callbacks.rllib.pruning_config.PruningConfig`) can check a name without
torch. ``from_scratch`` says that the algorithm starts at its target sparsity (its
schedule must be "constant", or "none" for a dense module) and ``regrows`` that it moves
its masks every ``update_interval`` iterations (drop and grow).
"""

from __future__ import annotations

import importlib
from typing import Dict, List, NamedTuple

DEFAULT_ALGORITHM = "magnitude"
"""The algorithm of configs that name none: gradual magnitude pruning (the paper's)."""


class AlgorithmEntry(NamedTuple):
    """A registered algorithm: where its class is and what kind it is."""

    name: str
    target: str
    """``"package.module:Class"``."""
    from_scratch: bool
    """True: the masks are at the target sparsity from the start (no schedule)."""
    regrows: bool
    """True: masks move every ``update_interval`` iterations (drop by magnitude, grow)."""


ALGORITHMS: Dict[str, AlgorithmEntry] = {}
"""Registered algorithms by name (filled by :func:`register_algorithm`)."""


def register_algorithm(
    name: str, target: str, *, from_scratch: bool = False, regrows: bool = False
) -> None:
    """Make the class at ``target`` (``"module:Class"``) available as ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"an algorithm name must be a non-empty string, got {name!r}")
    if not isinstance(target, str) or target.count(":") != 1:
        raise ValueError(f"algorithm {name!r}: target must be 'module:Class', got {target!r}")
    old = ALGORITHMS.get(name)
    if old is not None and old.target != target:
        raise ValueError(f"algorithm name {name!r} is taken by {old.target}")
    ALGORITHMS[name] = AlgorithmEntry(name, target, bool(from_scratch), bool(regrows))


def algorithm_names() -> List[str]:
    """Registered names, sorted."""
    return sorted(ALGORITHMS)


def algorithm_entry(name: str) -> AlgorithmEntry:
    """The entry of ``name``; ValueError listing the registered names otherwise."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; allowed: {algorithm_names()}")
    return ALGORITHMS[name]


def algorithm_class(name: str) -> type:
    """The class of ``name`` (imports its module, which imports torch)."""
    module, _, cls = algorithm_entry(name).target.partition(":")
    return getattr(importlib.import_module(module), cls)


register_algorithm("magnitude", "pruning_callbacks.algorithms.magnitude:MagnitudePruning")
register_algorithm("static", "pruning_callbacks.algorithms.static:StaticSparse", from_scratch=True)
register_algorithm(
    "set", "pruning_callbacks.algorithms.set:SparseEvolutionary", from_scratch=True, regrows=True
)
register_algorithm(
    "rigl", "pruning_callbacks.algorithms.rigl:RigL", from_scratch=True, regrows=True
)
