"""The budgets of the scale study (``python -m rllib_experiments scale --budget``).

A scale budget is a study budget (:mod:`rllib_experiments.studies.common.budgets`) whose
``preset`` takes ``{n}`` (the number of users) and ``{setup}``; ``env`` is the environment of
every trial beyond the preset's (smoke's horizon, a training reward), with N and K = N/2 filled
in. :func:`budget_for` gives the budget of the trials at one N.
"""

from __future__ import annotations

from typing import Any, Dict

from dsa_pettingzoo.config import scale_size
from rllib_experiments.studies.common.budgets import PAPER

#: The study: the paper's per-trial budget on the scale presets ``scale_<setup>_N<N>``
#: (:func:`rllib_experiments.settings.scale_fields`), seeds 0-4.
_STUDY = dict(PAPER, name="scale", preset="scale_{{setup}}_N{n}", seeds=[0, 1, 2, 3, 4])
BUDGETS: Dict[str, Dict[str, Any]] = {
    "scale": _STUDY,
    "scale_bf16": dict(_STUDY, name="scale_bf16", overrides={"autocast_bf16": True}),
    # ours trains on the difference reward (docs/environment.md#rewards); everything is
    # still evaluated and reported in the sum rate
    "scale_bf16_difference": dict(
        _STUDY,
        name="scale_bf16_difference",
        overrides={"autocast_bf16": True},
        env={"reward": "difference"},
    ),
    "smoke": dict(
        name="scale_smoke",
        preset="tiny",
        iterations=10,
        eval_interval=2,
        eval_episodes=4,
        seeds=[0],
        env={"horizon": 20},
    ),
}


def budget_for(budget: Dict[str, Any], n: int) -> Dict[str, Any]:
    """The reproduce budget of the trials at N = ``n`` users (a preset per setup, K = N/2)."""
    b = {k: v for k, v in budget.items() if k != "env"}
    b.update(num_users=n, preset=budget["preset"].format(n=n))
    if "env" in budget:
        b["overrides"] = {**budget.get("overrides", {}), "env": {**budget["env"], **scale_size(n)}}
    return b
