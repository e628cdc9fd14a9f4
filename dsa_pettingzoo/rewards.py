"""The reward functions, by name: the environment's ``reward`` argument.

Each entry maps ``(rates [..., N], throughput_before [..., N], slot)`` to ``(rewards [..., N],
throughput_after [..., N])``: ``rates`` are the users' own achieved rates of the slot
(eq. 1), ``throughput_before`` their cumulative throughput before it, ``slot`` the
:class:`Slot` they came from (actions, feedback, rate table), for a reward that needs more
than the rates. The functions are pure (physics.py holds their formulas); a new reward is a
function and one line here, wrapped by the helper that matches what it reads.
"""

from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Tuple

import numpy as np

from . import physics


class Slot(NamedTuple):
    """What a slot's rates came from: actions int [..., N], their feedback int8 [..., N]
    (:func:`physics.feedback`) and the rate table [..., N, K+1] (:func:`physics.rate_table`)."""

    actions: np.ndarray
    feedback: np.ndarray
    table: np.ndarray


RewardFn = Callable[[np.ndarray, np.ndarray, Slot], Tuple[np.ndarray, np.ndarray]]


def _per_slot(reward: Callable[[np.ndarray], np.ndarray]) -> RewardFn:
    """A reward of the slot's rates alone (the throughput just accumulates)."""

    def fn(rates, throughput_before, slot=None):
        return reward(rates), throughput_before + rates

    fn.__doc__ = reward.__doc__
    return fn


def _cumulative(
    reward: Callable[[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]],
) -> RewardFn:
    """A reward of the rates and the throughput so far; it returns the throughput after."""

    def fn(rates, throughput_before, slot=None):
        return reward(rates, throughput_before)

    fn.__doc__ = reward.__doc__
    return fn


def _counterfactual(reward: Callable[..., np.ndarray]) -> RewardFn:
    """A reward of the slot itself, ``reward(actions, feedback, table, rates)``."""

    def fn(rates, throughput_before, slot):
        return reward(slot.actions, slot.feedback, slot.table, rates), throughput_before + rates

    fn.__doc__ = reward.__doc__
    return fn


#: name -> reward function (the choices of ``reward=`` and ``dsa-evaluate --reward``).
REWARDS: Dict[str, RewardFn] = {
    "sum_rate": _per_slot(physics.reward_sum_rate),  # the paper's
    "individual": _per_slot(physics.reward_individual),
    "proportional_fair": _cumulative(physics.reward_proportional_fair),
    "difference": _counterfactual(physics.reward_difference),
}
