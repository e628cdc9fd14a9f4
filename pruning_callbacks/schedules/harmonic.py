"""Harmonic annealing, eqs. (12)-(14): cosine annealing plus a clamped sine oscillation."""

from __future__ import annotations

from dataclasses import dataclass

from pruning_callbacks.schedules.base import GradualSchedule, ScheduleError, parameter, register_schedule
from pruning_callbacks.schedules.equations import harmonic_sparsity


@register_schedule("harmonic")
@dataclass(frozen=True)
class HarmonicSchedule(GradualSchedule):
    """p_i = min(max(b_i + c_i, p0), p_final) with b_i of eq. (14) and c_i of eq. (13)."""

    initial_sparsity: float = parameter(0.0, "p0 in [0, final_sparsity]")
    amplitude: float = parameter(0.1, "A of eq. (13) (paper: 0.1), >= 0")
    period: float = parameter(200.0, "P of eq. (13) in iterations (paper: 200), > 0")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.initial_sparsity <= self.final_sparsity:
            raise ScheduleError(
                "initial_sparsity",
                "initial_sparsity must be in [0, final_sparsity], got "
                f"{self.initial_sparsity!r} (final_sparsity={self.final_sparsity!r})"
            )
        if self.amplitude < 0:
            raise ScheduleError("amplitude", f"amplitude must be >= 0, got {self.amplitude!r}")
        if self.period <= 0:
            raise ScheduleError("period", f"period must be > 0, got {self.period!r}")

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
