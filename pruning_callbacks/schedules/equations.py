"""Eqs. (10)-(14) of Section III-D as pure functions of the training iteration i.

    p_i = 0                     if i < i_start                                  (10)
    p_i = p_final sigma(i)      if i_start <= i < i_P
    p_i = p_final               if i >= i_P

    sigma_linear(i) = (i - i_start) / (i_P - i_start)                           (11)
    sigma_poly(i)   = 1 - (1 - (i - i_start) / (i_P - i_start))^3

    p_i = min(max(b_i + c_i, p0), p_final)                                      (12)
    c_i = A sin(2 pi i / P)                                                     (13)
    b_i = p_final + (p0 - p_final) / 2 (1 + cos(pi (i - i_start) / (i_P - i_start)))   (14)

Iterations are counted from 0: i is the number of training iterations completed before
the one being scheduled (``Algorithm.iteration`` before ``train()``). i_start is
``start``, i_P is ``end``, p_final is ``final_sparsity`` and p0 ``initial_sparsity``.
"""

from __future__ import annotations

import math
from typing import Callable

Sigma = Callable[[float, int, int], float]
"""sigma(i, i_start, i_P) of eq. (10)."""


def _progress(i: float, start: int, end: int) -> float:
    """(i - i_start) / (i_P - i_start), the argument shared by eqs. (11) and (14)."""
    return (i - start) / (end - start)


def sigma_linear(i: float, start: int, end: int) -> float:
    """Eq. (11), linear: (i - i_start) / (i_P - i_start)."""
    return _progress(i, start, end)


def sigma_polynomial(i: float, start: int, end: int, power: int = 3) -> float:
    """Eq. (11), cubic polynomial: 1 - (1 - (i - i_start) / (i_P - i_start)) ** power."""
    return 1.0 - (1.0 - _progress(i, start, end)) ** power


def gradual_sparsity(
    i: float, *, final_sparsity: float, start: int, end: int, sigma: Sigma
) -> float:
    """Eq. (10) with ``sigma`` of eq. (11) (:func:`sigma_linear`, :func:`sigma_polynomial`).

    The paper leaves i >= i_P implicit; holding the final target is the usual reading of [13].
    """
    if i < start:
        return 0.0
    if i >= end:
        return float(final_sparsity)
    return float(final_sparsity) * sigma(i, start, end)


def harmonic_oscillation(i: float, amplitude: float = 0.1, period: float = 200) -> float:
    """Eq. (13): c_i = A sin(2 pi i / P); the paper uses A = 0.1 and P = 200."""
    return amplitude * math.sin(2.0 * math.pi * i / period)


def cosine_annealing(
    i: float, *, initial_sparsity: float, final_sparsity: float, start: int, end: int
) -> float:
    """Eq. (14): b_i = p_final + (p0 - p_final)/2 (1 + cos(pi (i - i_start)/(i_P - i_start))).

    The progress is clamped to [0, 1], so b_i = p0 before i_start and b_i = p_final from
    i_P on (eq. 14 itself is only meant for that range).
    """
    x = min(max(_progress(i, start, end), 0.0), 1.0)
    return final_sparsity + 0.5 * (initial_sparsity - final_sparsity) * (
        1.0 + math.cos(math.pi * x)
    )


def harmonic_sparsity(
    i: float,
    *,
    final_sparsity: float,
    start: int,
    end: int,
    initial_sparsity: float = 0.0,
    amplitude: float = 0.1,
    period: float = 200,
) -> float:
    """Eq. (12): p_i = min(max(b_i + c_i, p0), p_final), b_i of eq. (14), c_i of eq. (13).

    c_i takes the absolute iteration i, as in the paper. Before i_start the sparsity is p0
    without oscillation (pruning has not begun, as in eq. 10). From i_P on, b_i = p_final
    and the oscillation goes on below p_final, clamped by eq. (12).
    """
    if i < start:
        return float(initial_sparsity)
    b = cosine_annealing(
        i, initial_sparsity=initial_sparsity, final_sparsity=final_sparsity, start=start, end=end
    )
    c = harmonic_oscillation(i, amplitude, period)
    return min(max(b + c, initial_sparsity), final_sparsity)
