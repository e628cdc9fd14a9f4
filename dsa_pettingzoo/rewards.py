"""The reward functions, by name: the environment's ``reward`` argument.

Each entry maps ``(rates [..., N], throughput_before [..., N])`` to ``(rewards [..., N],
throughput_after [..., N])``: ``rates`` are the users' own achieved rates of the slot
(eq. 1), ``throughput_before`` their cumulative throughput before it. The functions are
pure (physics.py holds their formulas); a new reward is a function and one line here.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np

from . import physics

RewardFn = Callable[[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]


def _per_slot(reward: Callable[[np.ndarray], np.ndarray]) -> RewardFn:
    """A reward of the slot's rates alone (the throughput just accumulates)."""
    def fn(rates, throughput_before):
        return reward(rates), throughput_before + rates
    fn.__doc__ = reward.__doc__
    return fn


#: name -> reward function (the choices of ``reward=`` and ``dsa-evaluate --reward``).
REWARDS: Dict[str, RewardFn] = {
    "sum_rate": _per_slot(physics.reward_sum_rate),  # the paper's
    "individual": _per_slot(physics.reward_individual),
    "proportional_fair": physics.reward_proportional_fair,
}
