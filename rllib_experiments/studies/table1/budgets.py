"""The budgets of the Table I reproduction (``python -m rllib_experiments reproduce --budget``).

* ``smoke``: CI pipeline check: N=3, K=2, T=20 (the ``tiny`` preset), 6 iterations, 1 seed.
* ``quick``: what a 2-core machine runs in a few hours: the paper's networks, settings
  and per-trial budget (1000 iterations = episodes), seeds 0 1 instead of the paper's ten
  (a paper row takes ~6-7 min on an idle core; measured times are in docs/results/table1.md).
* ``paper``: the paper's budget: 1000 iterations of one episode, 10 seeds (a Ray
  cluster: ``--address auto`` under ``ray job submit``).

The shape of a budget: :mod:`rllib_experiments.studies.common.budgets`.
"""

from __future__ import annotations

from typing import Any, Dict

from rllib_experiments.studies.common.budgets import PAPER

BUDGETS: Dict[str, Dict[str, Any]] = {
    "smoke": dict(
        name="smoke", preset="tiny", iterations=6, eval_interval=2, eval_episodes=10, seeds=[0]
    ),
    "quick": dict(PAPER, name="quick", seeds=[0, 1]),
    "paper": dict(PAPER),
}
