"""A study's budget: what every trial of a run gets, as one plain dict (it travels to Ray's
workers and into ``runs.jsonl`` as it is).

Keys:

* ``name``: the budget's name, written into every record; a folder holds one budget's records.
* ``preset``: the settings preset of a trial, with ``{setup}`` in it (``paper_{setup}``).
* ``iterations``, ``eval_interval``, ``eval_episodes``: training iterations of a trial (a row
  may train another number, e.g. ours), evaluation every so many iterations over so many
  episodes.
* ``seeds``: the training seeds of the learning rows.
* ``overrides`` (optional): Settings fields every trial sets (e.g. ``autocast_bf16``).

A study may add its own keys (the scale study's ``env`` and ``num_users``:
:mod:`rllib_experiments.studies.scale.budgets`). Each study keeps its budgets in its own
folder (``studies/table1/budgets.py``, ``studies/scale/budgets.py``).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

#: The paper's per-trial budget: 1000 iterations of one episode, evaluation every 10 over 100
#: episodes, ten seeds, the paper's settings of the setup.
PAPER: Dict[str, Any] = dict(
    name="paper",
    preset="paper_{setup}",
    iterations=1000,
    eval_interval=10,
    eval_episodes=100,
    seeds=list(range(10)),
)


def with_overrides(
    budget: Dict[str, Any], iterations: Optional[int] = None, seeds: Optional[Sequence[int]] = None
) -> Dict[str, Any]:
    """A copy of ``budget`` with other iterations and seeds (None: the budget's). Raises
    ValueError when a seed repeats."""
    budget = dict(budget)
    if iterations is not None:
        budget["iterations"] = iterations
    seeds = list(seeds if seeds is not None else budget["seeds"])
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"the seeds must be distinct, got {seeds}")
    budget["seeds"] = seeds
    return budget
