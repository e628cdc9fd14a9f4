"""Linear schedule: eq. (10) with sigma_linear of eq. (11)."""

from __future__ import annotations

from dataclasses import dataclass

from pruning_callbacks.schedules.base import GradualSchedule
from pruning_callbacks.schedules.equations import gradual_sparsity, sigma_linear


@dataclass(frozen=True)
class LinearSchedule(GradualSchedule):
    """p_i = p_final (i - i_start) / (i_P - i_start) between i_start and i_P (eqs. 10-11)."""

    def sparsity(self, i: float) -> float:
        return gradual_sparsity(
            i,
            final_sparsity=self.final_sparsity,
            start=self.start,
            end=self.end,
            sigma=sigma_linear,
        )
