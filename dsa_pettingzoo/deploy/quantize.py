"""int8 weights with one float32 scale per row (output channel): W[r, c] ~ scales[r] * q[r, c].

``scales[r] = max_c |W[r, c]| / 127`` and ``q = round(W / scales[r])`` in
-127..127 (the symmetric range: -128 is never used, so negating a row never
overflows). A row of zeros gets scale 0. Activations and sums stay float32:
a kernel computes ``y[r] = b[r] + scales[r] * sum_c q[r, c] x[c]``.

Error bound (by hand): rounding moves each weight by at most half a step,
``|W[r, c] - scales[r] q[r, c]| <= scales[r] / 2``, and a weight that rounds
to 0 (|W| < scales[r] / 2) obeys the same bound while a pruned weight (0)
stays exactly 0. So for any input x, over the row's non-zero weights,
``|y[r] - y_q[r]| <= scales[r] / 2 * sum_{c: W[r, c] != 0} |x[c]|``.

The LSTM's input and recurrent matrices share one scale per gate row,
computed over [W_ih, W_hh] side by side, so that a kernel can run the fused
[4H, in + H] matrix with one scale per row (:func:`shared_row_scales`).
"""

from __future__ import annotations

import numpy as np

#: Largest |q|: the symmetric int8 range.
QMAX = 127


def row_scales(w: np.ndarray) -> np.ndarray:
    """float32 [rows]: max |w| of each row / 127 (0 for a row of zeros)."""
    w = np.asarray(w, np.float32)
    if w.ndim != 2:
        raise ValueError(f"row_scales needs a matrix, got shape {w.shape}")
    return (np.abs(w).max(axis=1, initial=0.0) / np.float32(QMAX)).astype(np.float32)


def shared_row_scales(*matrices: np.ndarray) -> np.ndarray:
    """One scale per row over matrices with the same rows placed side by side."""
    return row_scales(np.concatenate([np.asarray(m, np.float32) for m in matrices], axis=1))


def quantize_rows(w: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """int8 q with q[r, c] = round(w[r, c] / scales[r]), clipped to -127..127 (0 where the scale is 0)."""
    w = np.asarray(w, np.float32)
    scales = np.asarray(scales, np.float32)
    if scales.shape != (w.shape[0],):
        raise ValueError(
            f"scales must have shape ({w.shape[0]},) for a matrix of shape "
            f"{w.shape}, got {scales.shape}"
        )
    if not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise ValueError("scales must be finite and >= 0")
    safe = np.where(scales > 0, scales, np.float32(1.0))[:, None]
    q = np.rint(w / safe)
    q[scales == 0] = 0
    return np.clip(q, -QMAX, QMAX).astype(np.int8)


def dequantize_rows(q: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """float32 scales[r] * q[r, c] (the weights an int8 kernel multiplies by)."""
    return (np.asarray(scales, np.float32)[:, None] * np.asarray(q, np.float32)).astype(np.float32)


def error_bound(w: np.ndarray, scales: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The bound of the module docstring on |W x - W_q x| for one input vector x, per row."""
    support = np.asarray(w) != 0
    return (
        np.asarray(scales, np.float64)
        / 2
        * (support * np.abs(np.asarray(x, np.float64))).sum(axis=1)
    )
