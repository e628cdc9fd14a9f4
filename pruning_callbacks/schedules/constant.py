"""The constant schedule "constant": p_i = final_sparsity from iteration 0 on.

The sparsity of the sparse-from-scratch algorithms (``pruning_callbacks.algorithms``:
static, SET, RigL), which start at their target; with magnitude pruning it is one-shot
pruning after the first update.
"""

from __future__ import annotations

from dataclasses import dataclass

from pruning_callbacks.schedules.base import Bounds, Schedule, parameter


@dataclass(frozen=True)
class ConstantSchedule(Schedule):
    """p_i = final_sparsity for every i >= 0."""

    final_sparsity: float = parameter(
        0.95, "the sparsity at every iteration", allowed=Bounds(low=0.0, high=1.0, high_open=True)
    )

    def sparsity(self, i: float) -> float:
        return self.final_sparsity
