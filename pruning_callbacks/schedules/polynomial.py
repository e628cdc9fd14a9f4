"""Cubic polynomial schedule: eq. (10) with sigma_poly of eq. (11)."""

from __future__ import annotations

from dataclasses import dataclass

from pruning_callbacks.schedules.base import GradualSchedule
from pruning_callbacks.schedules.equations import gradual_sparsity, sigma_polynomial


@dataclass(frozen=True)
class PolynomialSchedule(GradualSchedule):
    """p_i = p_final (1 - (1 - (i - i_start) / (i_P - i_start))^3) between i_start and i_P."""

    def sparsity(self, i: float) -> float:
        return gradual_sparsity(
            i,
            final_sparsity=self.final_sparsity,
            start=self.start,
            end=self.end,
            sigma=sigma_polynomial,
        )
