"""Gradual magnitude pruning, "magnitude" (the default; the paper's method).

The masks follow the module's schedule: after every iteration i that the schedule's
timing marks (``Schedule.is_mask_update_iter``: every iteration in hold mode, every
``prune_interval`` in regrow mode) the module is pruned by magnitude to p_i
(:meth:`~pruning_callbacks.masks.MagnitudePruner.prune_to`); from ``final_iteration - 1``
on it is finalized to p_final. Optimizer state is left as it is (pruned entries'
gradients are zeroed while masks are held, as before this registry existed).
"""

from __future__ import annotations

from pruning_callbacks.algorithms.base import SparseAlgorithm, Step


class MagnitudePruning(SparseAlgorithm):
    """Magnitude pruning to the schedule's p_i (see the module doc)."""

    def step(self, i: int) -> Step:
        target = self.schedule(i)
        event = False
        if self.pruner.finalized or self.schedule.is_final_iter(i):
            target = self.schedule.final_sparsity
            if not self.pruner.finalized:
                self.pruner.finalize(target)
                event = True
        elif self.schedule.is_mask_update_iter(i):
            self.pruner.prune_to(target)
            event = True
        return Step(target, event, {}, {})

    def finalize(self) -> None:
        self.pruner.finalize(self.schedule.final_sparsity)
