"""Eqs. (10)-(14) of Section III-D as pure functions of the training iteration i.

Iterations are counted from 0: i is the number of training iterations completed before
the one being scheduled (``Algorithm.iteration`` before ``train()``). i_start is
``start``, i_P is ``end``, p_final is ``final_sparsity`` and p0 ``initial_sparsity``.
"""

from __future__ import annotations

import math
from typing import Callable, Union

Sigma = Callable[[float, int, int], float]
"""sigma(i, i_start, i_P) of eq. (10)."""


def _progress(i: float, start: int, end: int) -> float:
    """(i - i_start) / (i_P - i_start), the argument shared by eqs. (11) and (14)."""
    return (i - start) / (end - start)


def sigma_linear(i: float, start: int, end: int) -> float:
    """Linear pruning schedule, eq. (11) left: (i - i_start) / (i_P - i_start)."""
    return _progress(i, start, end)


def sigma_polynomial(i: float, start: int, end: int, power: int = 3) -> float:
    """Polynomial pruning schedule, eq. (11) right: 1 - (1 - progress) ** power (power 3)."""
    return 1.0 - (1.0 - _progress(i, start, end)) ** power


_SIGMAS = {"linear": sigma_linear, "polynomial": sigma_polynomial}


def gradual_sparsity(
    i: float, *, final_sparsity: float, start: int, end: int, sigma: Union[str, Sigma] = "linear"
) -> float:
    """Gradual pruning rule, eq. (10)::

        p_i = 0                       if i < i_start
        p_i = p_final * sigma(i)      if i_start <= i < i_P
        p_i = p_final                 if i >= i_P

    ``sigma`` is "linear" or "polynomial" (eq. 11) or any sigma(i, i_start, i_P). The
    paper leaves i >= i_P implicit; holding the final target is the usual reading of [13].
    """
    if isinstance(sigma, str):
        if sigma not in _SIGMAS:
            raise ValueError(f"sigma must be 'linear' or 'polynomial' or a function, got {sigma!r}")
        sigma = _SIGMAS[sigma]
    if i < start:
        return 0.0
    if i >= end:
        return float(final_sparsity)
    return float(final_sparsity) * sigma(i, start, end)


def harmonic_oscillation(i: float, amplitude: float = 0.1, period: float = 200) -> float:
    """c_i = A sin(2 pi i / P), eq. (13); the paper uses A = 0.1 and P = 200."""
    return amplitude * math.sin(2.0 * math.pi * i / period)


def cosine_annealing(
    i: float, *, initial_sparsity: float, final_sparsity: float, start: int, end: int
) -> float:
    """b_i of eq. (14): b_i = p_final + (p0 - p_final)/2 (1 + cos(pi (i - i_start)/(i_P - i_start))).

    The progress is clamped to [0, 1], so b_i = p0 before i_start and b_i = p_final from
    i_P on (eq. 14 itself is only meant for that range).
    """
    x = min(max(_progress(i, start, end), 0.0), 1.0)
    return final_sparsity + 0.5 * (initial_sparsity - final_sparsity) * (1.0 + math.cos(math.pi * x))


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
    """Harmonic annealing sparsity, eq. (12): p_i = min(max(b_i + c_i, p0), p_final).

    b_i is :func:`cosine_annealing` (eq. 14) and c_i :func:`harmonic_oscillation`
    (eq. 13, with the absolute iteration i as in the paper). Before i_start the
    sparsity is p0 without oscillation (pruning has not begun, as in eq. 10). From i_P
    on, b_i = p_final and the oscillation goes on below p_final, clamped by eq. (12).
    """
    if i < start:
        return float(initial_sparsity)
    b = cosine_annealing(
        i, initial_sparsity=initial_sparsity, final_sparsity=final_sparsity, start=start, end=end
    )
    c = harmonic_oscillation(i, amplitude, period)
    return min(max(b + c, initial_sparsity), final_sparsity)  # eq. (12)
