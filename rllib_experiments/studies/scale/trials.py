"""The scale study's trials: what it runs at each N and setup, and how one trial runs.

For every N (K = N/2 channels) and setup, the ``ours`` row trains once per seed and every
baseline of :data:`BASELINES` is evaluated once, on the evaluation episodes every command
shares (``rllib_experiments.evaluation.EVAL_SEED``). A trial of ours is a reproduce trial
(:func:`rllib_experiments.studies.common.trials.run_row_trial`) of row ``ours`` under the
budget of its N (:func:`~rllib_experiments.studies.scale.budgets.budget_for`); its record lands
in ``OUTPUT/N<N>/trials/<setup>__ours__s<seed>.json`` (:class:`ScaleLayout`), a baseline's in
``<setup>__<name>__s0.json`` beside it. Each record gains ``num_users`` and ``cpu_s``, the trial
process's CPU time (``time.process_time``), and its ``budget_config`` is the study's budget
(:func:`run_trial` takes it as it is; the budget of the N is ``budget_for`` of it).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

from rllib_experiments.run.outputs import write_json_atomic
from rllib_experiments.run.provenance import provenance_fields
from rllib_experiments.studies.common.runner import Layout
from rllib_experiments.studies.scale.budgets import budget_for
from rllib_experiments.studies.scale.outputs import size_folder

# rllib_experiments.studies.common.trials and rllib_experiments.evaluation import torch: imported
# where a trial runs, so that planning and reports load in a second.

ROW = "ours"

#: The decentralized baselines evaluated beside ours, then the oracle (the ratio's denominator).
BASELINES = (
    "aloha",
    "oca",
    "musical_chairs",
    "musical_chairs_rss",
    "mctopm",
    "randtopm",
    "game_of_thrones",
    "oracle",
)


class ScaleLayout(Layout):
    """The scale study's records: a reproduce-layout folder per N (``OUTPUT/N<N>``), each
    under the budget of its N."""

    def folder(self, trial: Dict[str, Any]) -> Path:
        return size_folder(self.output, trial["num_users"])

    def budget_of(self, trial: Dict[str, Any]) -> Dict[str, Any]:
        return budget_for(self.budget, trial["num_users"])


def plan_trials(sizes: Sequence[int], setups: Sequence[str], seeds: Sequence[int]) -> List[Dict]:
    """Every trial: the baselines (cheap), then seed-major over (N, setup) for ours."""
    trials = [
        dict(row=b, setup=s, seed=0, num_users=n) for n in sizes for s in setups for b in BASELINES
    ]
    trials += [
        dict(row=ROW, setup=s, seed=seed, num_users=n)
        for seed in seeds
        for n in sizes
        for s in setups
    ]
    return trials


def baseline_trial(name: str, setup: str, budget: Dict[str, Any], raw_dir: Path) -> Dict[str, Any]:
    """Evaluate baseline ``name`` on the evaluation episodes; writes its record (reproduce layout)."""
    # imports torch: only when called
    from rllib_experiments.evaluation import EVAL_SEED, evaluate_baseline
    from rllib_experiments.studies.common.trials import base_settings, trial_id

    start = time.time()
    env_kwargs = base_settings(budget, setup, 0).env_kwargs()
    summary = evaluate_baseline(name, env_kwargs, episodes=budget["eval_episodes"])
    record = dict(
        trial=trial_id(setup, name, 0),
        row=name,
        label=name,
        setup=setup,
        seed=0,
        budget=budget["name"],
        budget_config=dict(budget),
        kind="baseline",
        eval_mode=None,
        eval_seed=EVAL_SEED,
        eval_episodes=budget["eval_episodes"],
        final_reward=summary["mean_reward"],
        final_reward_std=summary["std_reward"],
        iterations=0,
        episodes_trained=0,
        curve=[],
        env_kwargs=env_kwargs,
        summary={k: v for k, v in summary.items() if isinstance(v, (int, float))},
        wall_s=time.time() - start,
        **provenance_fields(),
        finished_at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    )
    write_json_atomic(Path(raw_dir) / "trials" / f"{record['trial']}.json", record)
    return record


def run_trial(
    trial: Dict[str, Any],
    budget: Dict[str, Any],
    output: Path,
    runs_dir: Path,
    report=None,
    stop_after=None,
) -> Dict[str, Any]:
    """One trial of the study in this process; its record, with ``num_users`` and ``cpu_s``
    (the scale study's trial function of :func:`rllib_experiments.studies.common.runner.run_tune`).
    ``stop_after``: a partial run of ours, not written (:func:`~rllib_experiments.studies.common.trials.run_row_trial`)."""
    from rllib_experiments.studies.common.trials import run_row_trial  # torch: see the top

    n = trial["num_users"]
    b, raw = budget_for(budget, n), size_folder(output, n)
    cpu0 = time.process_time()
    if trial["row"] == ROW:
        rec = run_row_trial(
            ROW,
            trial["setup"],
            trial["seed"],
            b,
            str(raw),
            str(Path(runs_dir) / f"N{n}"),
            report=report,
            stop_after=stop_after,
        )
    else:
        rec = baseline_trial(trial["row"], trial["setup"], b, raw)
    rec.update(num_users=n, cpu_s=time.process_time() - cpu0, budget_config=dict(budget))
    if "stopped_after" in rec:
        return rec
    write_json_atomic(raw / "trials" / f"{rec['trial']}.json", rec)
    return rec


def env_for(budget: Dict[str, Any]) -> Callable[[str, int], Dict[str, Any]]:
    """The environment of setup ``setup`` at N users under ``budget`` (the baselines' too), as
    a function of (setup, N)."""
    from rllib_experiments.studies.common.trials import base_settings  # torch: see the top

    return lambda setup, n: base_settings(budget_for(budget, n), setup, 0).env_kwargs()
