"""The percentile bootstrap CI of a mean, the one interval every report of this package gives
(the pruning study's rows and comparisons, the scale study's paired comparisons)."""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np

BOOTSTRAP_SAMPLES = 10_000
BOOTSTRAP_SEED = 0


def bootstrap_ci(values: Sequence[float], level: float = 0.95, samples: int = BOOTSTRAP_SAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> Tuple[float, float]:
    """Percentile bootstrap CI of the mean (resampling the values with replacement).

    NaNs for fewer than 2 values. Seeded: the same values give the same interval.
    """
    v = np.asarray(values, float)
    if v.size < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(samples, v.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))


def mean_std_ci(values: Sequence[float]) -> dict:
    """``{"mean", "std", "ci"}`` of values over seeds: the mean, the sample std (ddof 1; 0.0 for
    one value) and :func:`bootstrap_ci` of the mean."""
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "ci": bootstrap_ci(v)}


def ci_text(ci: Optional[Tuple[float, float]], digits: int = 0) -> str:
    """``[lo, hi]`` with ``digits`` decimals, or a dash where there is no interval (None, or the
    NaNs of fewer than 2 values)."""
    if ci is None or math.isnan(ci[0]):
        return "—"
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"
