"""Harmonic annealing, eqs. (12)-(14): cosine annealing plus a clamped sine oscillation."""

from __future__ import annotations

from dataclasses import dataclass

from pruning_callbacks.schedules.base import Bounds, GradualSchedule, parameter
from pruning_callbacks.schedules.equations import harmonic_sparsity


@dataclass(frozen=True)
class HarmonicSchedule(GradualSchedule):
    """p_i = min(max(b_i + c_i, p0), p_final) with b_i of eq. (14) and c_i of eq. (13)."""

    initial_sparsity: float = parameter(0.0, "p0", allowed=Bounds(low=0.0, high="final_sparsity"))
    amplitude: float = parameter(0.1, "A of eq. (13) (paper: 0.1)", allowed=Bounds(low=0.0))
    period: float = parameter(
        200.0, "P of eq. (13) in iterations (paper: 200)", allowed=Bounds(low=0.0, low_open=True)
    )

    def sparsity(self, i: float) -> float:
        return harmonic_sparsity(
            i,
            final_sparsity=self.final_sparsity,
            start=self.start,
            end=self.end,
            initial_sparsity=self.initial_sparsity,
            amplitude=self.amplitude,
            period=self.period,
        )
