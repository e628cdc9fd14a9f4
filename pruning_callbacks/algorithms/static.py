"""Static sparsity, "static": a random mask at the target sparsity, fixed from the start.

The mask is drawn once, when the Learner builds the module's algorithm (seeded: see
:class:`~pruning_callbacks.algorithms.base.FromScratch`), and held at every optimizer
step; it never changes (pruning at initialization with a random criterion).
"""

from __future__ import annotations

from pruning_callbacks.algorithms.base import FromScratch


class StaticSparse(FromScratch):
    """A fixed random mask (see the module doc)."""

    regrows = False
