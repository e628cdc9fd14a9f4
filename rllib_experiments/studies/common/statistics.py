"""Summaries over seeds, the one place every report computes them: mean and std over seeds
(:func:`mean_std`), and the percentile bootstrap CI of a mean (:func:`bootstrap_ci`), the one
interval every report gives (the pruning study's rows and comparisons, the scale study's paired
comparisons). How they are printed: :mod:`rllib_experiments.studies.common.formatting`.

Convention: the std over seeds is the sample std (ddof 1); over one seed it is undefined and is
None (printed as the missing-value mark, an empty CSV cell), as is everything over no seed.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np

BOOTSTRAP_SAMPLES = 10_000
BOOTSTRAP_SEED = 0


def mean_std(values) -> Tuple[Optional[float], Optional[float]]:
    """``(mean, std)`` over seeds: the mean and the sample std (ddof 1) of ``values``.

    ``values`` holds one value per seed (floats), or one row per seed of values at common
    points (a curve per seed): then mean and std are arrays over the points. The std is None
    with fewer than 2 seeds, the mean None with none.
    """
    v = np.asarray(values, float)
    n = v.shape[0] if v.ndim else 0
    if n == 0:
        return None, None
    mean, std = v.mean(axis=0), (v.std(axis=0, ddof=1) if n > 1 else None)
    if v.ndim == 1:
        return float(mean), (None if std is None else float(std))
    return mean, std


def bootstrap_ci(
    values: Sequence[float],
    level: float = 0.95,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Tuple[float, float]:
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
    """``{"mean", "std", "ci"}`` of values over seeds: :func:`mean_std` and :func:`bootstrap_ci`
    of the mean."""
    mean, std = mean_std(values)
    return {"mean": mean, "std": std, "ci": bootstrap_ci(values)}
