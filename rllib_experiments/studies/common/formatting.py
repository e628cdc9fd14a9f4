"""How every report prints a number, a missing value and an interval.

A value that is missing (not measured, undefined such as the std of one seed, or not applying
to the row) prints as :data:`MISSING` in every Markdown report; in a CSV it is an empty cell
(:func:`rllib_experiments.run.outputs.write_csv_atomic`).
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

#: The mark of a missing value in every report (an en dash).
MISSING = "\u2013"


def is_missing(value) -> bool:
    """None, "" (an empty CSV cell) or NaN."""
    return (
        value is None
        or (isinstance(value, str) and value == "")
        or (isinstance(value, float) and math.isnan(value))
    )


def number_text(value, digits: int) -> str:
    """``value`` with ``digits`` decimals, or :data:`MISSING` (:func:`is_missing`)."""
    return MISSING if is_missing(value) else f"{value:.{digits}f}"


def ci_text(ci: Optional[Tuple[float, float]], digits: int = 0, missing: str = MISSING) -> str:
    """``[lo, hi]`` with ``digits`` decimals, or ``missing`` (:data:`MISSING`; "" for a CSV
    cell) where there is no interval (None, or the NaNs of fewer than 2 values)."""
    if ci is None or is_missing(ci[0]):
        return missing
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"
