"""When a run has reached a good policy, and when to stop it there.

A *goal* is a fraction of the oracle's reward on the evaluation episodes, reached by the
greedy actors of one evaluation point (:meth:`rllib_experiments.training.TrainingRun`'s
curve points: ``greedy.mean_reward``, ``sparsity_per_user``). With ``at_final_sparsity`` the
actors must also be as sparse as the run's target (every user's sparsity within
:data:`SPARSITY_TOLERANCE` of its final sparsity): for a pruned row the point that counts is
the one whose actors a user would deploy, not a dense one halfway through the schedule.

:class:`StopRule` stops a run once the goal held at ``patience`` evaluation points in a
row. ``benchmark --time-to-target`` (:mod:`rllib_experiments.studies.benchmarks.time_to_target`)
reads its curves with the same :class:`Goal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Union

#: How far below its final sparsity a user's actor may be and still count as at it
#: (magnitude pruning rounds to whole weights).
SPARSITY_TOLERANCE = 0.005


def _check_ratio(ratio: float, name: str) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 2:
        raise ValueError(f"{name} must be a number in (0, 2], got {ratio!r}")
    return float(ratio)


@dataclass(frozen=True)
class Goal:
    """Greedy reward >= ``ratio`` x the oracle's (and, with ``at_final_sparsity``, the
    actors at their final sparsity)."""

    ratio: float = 0.95
    at_final_sparsity: bool = False

    def __post_init__(self):
        _check_ratio(self.ratio, "ratio")

    def ratio_of(self, point: Dict[str, Any], oracle_mean: float) -> float:
        """The point's greedy reward over the oracle's."""
        if oracle_mean <= 0:
            raise ValueError(f"the oracle's mean reward must be positive, got {oracle_mean}")
        return float(point["greedy"]["mean_reward"]) / float(oracle_mean)

    def sparse_enough(
        self, point: Dict[str, Any], final_sparsity: Union[float, Sequence[float]]
    ) -> bool:
        """Every user's actor within :data:`SPARSITY_TOLERANCE` of its final sparsity."""
        per_user = list(point["sparsity_per_user"])
        targets = (
            list(final_sparsity)
            if isinstance(final_sparsity, (list, tuple))
            else [float(final_sparsity)] * len(per_user)
        )
        return all(s >= t - SPARSITY_TOLERANCE for s, t in zip(per_user, targets))

    def reached(
        self,
        point: Dict[str, Any],
        oracle_mean: float,
        final_sparsity: Union[float, Sequence[float]] = 0.0,
    ) -> bool:
        """Whether this evaluation point meets the goal (``final_sparsity``: 0 for a dense run)."""
        if self.ratio_of(point, oracle_mean) < self.ratio:
            return False
        return not self.at_final_sparsity or self.sparse_enough(point, final_sparsity)

    def describe(self) -> str:
        return f"greedy >= {self.ratio:g} x oracle" + (
            " at the final sparsity" if self.at_final_sparsity else ""
        )

    def to_dict(self) -> Dict[str, Any]:
        return {"ratio": self.ratio, "at_final_sparsity": self.at_final_sparsity}


@dataclass(frozen=True)
class StopRule:
    """Stop training once ``goal`` held at the last ``patience`` evaluation points."""

    goal: Goal
    patience: int = 1

    def __post_init__(self):
        if isinstance(self.patience, bool) or not isinstance(self.patience, int):
            raise ValueError(f"patience must be an integer >= 1, got {self.patience!r}")
        if self.patience < 1:
            raise ValueError(f"patience must be an integer >= 1, got {self.patience!r}")

    def met(
        self,
        points: Sequence[Dict[str, Any]],
        oracle_mean: float,
        final_sparsity: Union[float, Sequence[float]] = 0.0,
    ) -> Optional[Dict[str, Any]]:
        """The point that completed the rule (the last one), or None while it is not met."""
        recent = list(points)[-self.patience :]
        if len(recent) < self.patience:
            return None
        if all(self.goal.reached(p, oracle_mean, final_sparsity) for p in recent):
            return recent[-1]
        return None

    def to_dict(self) -> Dict[str, Any]:
        return {**self.goal.to_dict(), "patience": self.patience}

    @classmethod
    def from_dict(cls, d: Optional[Dict[str, Any]]) -> Optional["StopRule"]:
        if not d:
            return None
        return cls(Goal(d["ratio"], bool(d.get("at_final_sparsity", False))), int(d["patience"]))
