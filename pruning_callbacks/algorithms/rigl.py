"""Rigged Lottery, "rigl" (Evci, Gale, Menick, Castro, Elsen, ICML 2020).

Random sparse start; every ``update_interval`` iterations each tensor drops the
smallest-magnitude fraction f_i of its active weights (as SET) and grows as many where
the dense gradient's magnitude |dL/dw| is largest among its inactive entries, at zero
(ties: lower flat index first). The dense gradient: pruned weights are zero but
autograd still gives their gradient; the Learner hands over every prunable parameter's
gradient before each optimizer step, after gradient post-processing (clipping) and
before the masks zero the pruned entries', and the gradient of the **last optimizer
step of the iteration's update** (its last minibatch of the last epoch) is the one used.
"""

from __future__ import annotations

from typing import Dict

import torch

from pruning_callbacks.algorithms.base import FromScratch


class RigL(FromScratch):
    """RigL: grow where the dense gradient is largest (see the module doc)."""

    regrows = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gradients: Dict[str, torch.Tensor] = {}

    def wants_gradient(self, i: int) -> bool:
        return self.is_update_iter(i)

    def observe_gradient(self, name: str, grad: torch.Tensor) -> None:
        # each step overwrites the last: the update uses the iteration's last step's
        self.gradients[name] = grad.detach().clone()

    def update_masks(self, fraction: float):
        try:
            return super().update_masks(fraction)
        finally:
            self.gradients = {}

    def grow_scores(self, name: str, candidates: torch.Tensor) -> torch.Tensor:
        grad = self.gradients.get(name)
        if grad is None:
            raise RuntimeError(
                f"rigl: no dense gradient of {name} was seen before its mask update "
                "(the Learner hands them over in apply_gradients)"
            )
        return -grad.abs()
