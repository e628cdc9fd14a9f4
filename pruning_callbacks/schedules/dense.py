"""The dense schedule "none": p_i = 0 and no mask is ever computed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pruning_callbacks.schedules.base import Schedule


@dataclass(frozen=True)
class DenseSchedule(Schedule):
    """No pruning: lets a dense run be one more schedule name instead of a special case."""

    prunes: ClassVar[bool] = False
    final_sparsity: ClassVar[float] = 0.0

    def sparsity(self, i: float) -> float:
        return 0.0
