"""Sparse Evolutionary Training, "set" (Mocanu et al., Nature Communications 9, 2018).

Random sparse start; every ``update_interval`` iterations each tensor drops the
smallest-magnitude fraction f_i of its active weights and grows as many at random among
its inactive entries, at zero (:class:`~pruning_callbacks.algorithms.base.FromScratch`
has the rule and f_i's cosine decay). The random choice uses the module's own seeded
generator, saved with the Learner's state.
"""

from __future__ import annotations

import torch

from pruning_callbacks.algorithms.base import FromScratch


class SparseEvolutionary(FromScratch):
    """SET: grow at random (see the module doc)."""

    regrows = True

    def grow_scores(self, name: str, candidates: torch.Tensor) -> torch.Tensor:
        # uniform scores: the k smallest among the candidates are a uniform random subset
        p = self.params[name]
        return torch.rand(p.shape, generator=self.generator).to(p.device)
