"""Summaries over seeds, the one place every report computes them: mean and std over seeds
(:func:`mean_std`), the 95 % t-interval of a mean over seeds (:func:`t_interval`), the one
interval every report gives, and the paired difference of two rows that share seeds
(:func:`paired_difference`: the t-interval of the mean of the per-seed differences). How they
are printed: :mod:`rllib_experiments.studies.common.formatting`; how a table names the interval:
:data:`INTERVAL_TEXT`.

Convention: the std over seeds is the sample std (ddof 1); over one seed it is undefined and is
None (printed as the missing-value mark, an empty CSV cell), as is everything over no seed; the
interval over fewer than 2 seeds is (NaN, NaN), printed as the missing-value mark too.

Why the t-interval: with 5-10 seeds the percentile bootstrap interval of the mean is too narrow
(for normal data it covers the true mean about 84 % of the time at n = 5 and 92 % at n = 10 for a
nominal 95 %); the t-interval, mean ± t_{0.975, n-1} s / sqrt(n), covers 95 % for normal data at
every n (tests/test_statistics.py measures both).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np
from scipy import stats

#: The confidence level of every interval in the reports.
LEVEL = 0.95
#: How a table header or a caption names the interval of a mean over seeds.
INTERVAL_TEXT = "95 % t-interval of the mean over seeds"
#: How a table header or a caption names the interval of a paired difference.
PAIRED_INTERVAL_TEXT = "95 % t-interval of the mean of the per-seed differences"


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


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom
    (``t_quantile(0.975, 2)`` = 4.302653)."""
    return float(stats.t.ppf(p, df))


def t_interval(values: Sequence[float], level: float = LEVEL) -> Tuple[float, float]:
    """The t-interval of the mean of ``values`` (one per seed): mean ± t_{(1 + level) / 2, n - 1}
    x s / sqrt(n), s the sample std (ddof 1). (NaN, NaN) for fewer than 2 values (no interval)."""
    v = np.asarray(values, float)
    if v.size < 2:
        return (math.nan, math.nan)
    mean, std = float(v.mean()), float(v.std(ddof=1))
    half = t_quantile((1 + level) / 2, v.size - 1) * std / math.sqrt(v.size)
    return (mean - half, mean + half)


def mean_std_ci(values: Sequence[float]) -> dict:
    """``{"mean", "std", "ci"}`` of values over seeds: :func:`mean_std` and the
    :func:`t_interval` of the mean."""
    mean, std = mean_std(values)
    return {"mean": mean, "std": std, "ci": t_interval(values)}


def paired_difference(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> dict:
    """Two rows on the same seeds (``a[i]`` and ``b[i]`` of one seed): ``{"mean", "ci", "n"}`` of
    the per-seed differences a - b, the mean difference and its :func:`t_interval`."""
    if len(a) != len(b):
        raise ValueError(f"paired values need one of each per seed, got {len(a)} and {len(b)}")
    d = [float(x) - float(y) for x, y in zip(a, b)]
    return {
        "mean": float(np.mean(d)) if d else None,
        "ci": t_interval(d, level),
        "n": len(d),
    }
