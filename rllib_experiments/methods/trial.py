"""One trial of the reproduction: a (row, setup, seed) run and its raw result.

:func:`run_trial` is what every Ray Tune trial of ``rllib_experiments.reproduce``
executes. It trains a learning row (or evaluates a baseline row), evaluating
every ``eval_interval`` iterations over ``eval_episodes`` episodes, and writes
the trial's raw result as JSON, atomically, to ``RAW/trials/<trial id>.json``.
A trial whose JSON exists (same budget) is finished: the driver skips it.

Evaluation episodes are the same for every row, setup and seed:
``dsa_pettingzoo.baselines.rollout.episode_seeds(EVAL_SEED, eval_episodes)``
(the seeds ``evaluate_policy(seed=EVAL_SEED)`` gives the baselines). Rewards are
in the paper's unit: sum over slots and users of log2(1 + beta^n(t)) per episode.
Learning rows are evaluated twice at every point, sampling their actions
("stochastic") and by argmax ("greedy"); the row's reward is its ``eval_mode``
(stochastic for every learning row: actions drawn from the actor's softmax, or
from softmax(Q) for DQN, as the users act in [8]).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

#: Seed of the evaluation episodes (shared by all rows).
EVAL_SEED = 12345


def trial_id(setup: str, row: str, seed: int) -> str:
    """File stem of a trial: ``A__harmonic__s3``."""
    return f"{setup}__{row}__s{seed}"


def write_json_atomic(path: Path, data: Any) -> None:
    """JSON through a temporary file and a rename (a killed run never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def base_settings(budget: Dict[str, Any], setup: str, seed: int):
    """The budget's base Settings for a setup and seed (rows change them further)."""
    from rllib_experiments.config import load_preset

    preset = budget["preset"].format(setup=setup)
    return load_preset(preset, setup=setup, seed=seed, iterations=budget["iterations"],
                       eval_interval=budget["eval_interval"], eval_episodes=budget["eval_episodes"],
                       **budget.get("overrides", {}))


def evaluate_actors(actors, env_kwargs: Dict[str, Any], episodes: int, action_seed: int,
                    mode: str, chunk: int = 100) -> np.ndarray:
    """Per-episode rewards of the users' actors on the shared evaluation episodes."""
    import torch

    from dsa_pettingzoo import BatchedDSA
    from dsa_pettingzoo.baselines.rollout import episode_seeds
    from rllib_experiments.rollout import rollout

    seeds = episode_seeds(EVAL_SEED, episodes)
    gen = torch.Generator().manual_seed(int(action_seed))
    out = []
    for start in range(0, episodes, chunk):
        part = seeds[start:start + chunk]
        sim = BatchedDSA(num_envs=len(part), **env_kwargs)
        data = rollout(actors, sim, mode="greedy" if mode == "greedy" else "sample",
                       seeds=part, generator=gen)
        out.append(data["rates"].sum(axis=(1, 2)))
    return np.concatenate(out)


def actor_list(algo) -> List:
    """The users' actor modules of a local learner, in user order."""
    from rllib_experiments.connectors import user_order
    from rllib_experiments.modules import CRITIC_ID

    module = algo.learner_group._learner.module
    return [module[m].unwrapped() for m in user_order(k for k in module.keys() if k != CRITIC_ID)]


def actor_sparsity(actors) -> Dict[str, float]:
    """Zero fraction of the prunable weights (weight matrices) and of all parameters."""
    from pruning_callbacks.masks import prunable_parameters, zero_fraction

    prunable = [p for a in actors for p in prunable_parameters(a).values()]
    every = [p for a in actors for p in a.parameters()]
    per_user = [zero_fraction(prunable_parameters(a).values()) for a in actors]
    return {"sparsity_prunable": zero_fraction(prunable), "sparsity_all": zero_fraction(every),
            "sparsity_min_user": float(min(per_user)), "num_params_per_actor": int(sum(p.numel() for p in actors[0].parameters()))}


def _log(prefix: str, msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {prefix} {msg}", flush=True)


def run_trial(row_key: str, setup: str, seed: int, budget: Dict[str, Any], raw_dir: str,
              report=None) -> Dict[str, Any]:
    """Run one trial, write RAW/trials/<id>.json and return the record (see module doc)."""
    import torch

    torch.set_num_threads(1)
    from rllib_experiments.methods import get_row

    row = get_row(row_key)
    tid = trial_id(setup, row_key, seed)
    start = time.time()
    record: Dict[str, Any] = dict(trial=tid, row=row_key, label=row.label, setup=setup, seed=seed,
                                  budget=budget["name"], kind=row.kind, eval_mode=row.eval_mode,
                                  eval_seed=EVAL_SEED, eval_episodes=budget["eval_episodes"])
    if row.kind == "baseline":
        from dsa_pettingzoo.baselines import evaluate_policy, make_policy

        env_kwargs = base_settings(budget, setup, seed).env_kwargs()
        stats = evaluate_policy(make_policy(row_key), episodes=budget["eval_episodes"],
                                seed=EVAL_SEED, **env_kwargs)
        summary = stats.summary()
        record.update(final_reward=summary["mean_reward"], final_reward_std=summary["std_reward"],
                      iterations=0, episodes_trained=0, curve=[], env_kwargs=env_kwargs)
    else:
        settings = row.settings(base_settings(budget, setup, seed))
        env_kwargs = settings.env_kwargs()
        algo = row.build(settings).build_algo()
        curve = []
        prefix = f"[{tid}]"

        def evaluate(iteration: int, final: bool = False) -> Dict[str, Any]:
            actors = actor_list(algo)
            for a in actors:
                a.eval()
            point = {"iteration": iteration,
                     "episodes": iteration * settings.episodes_per_iteration}
            for mode in ("stochastic", "greedy"):
                r = evaluate_actors(actors, env_kwargs, settings.eval_episodes, seed, mode)
                point[f"reward_{mode}"] = float(r.mean())
                point[f"reward_{mode}_std"] = float(r.std())
            point["reward"] = point[f"reward_{row.eval_mode}"]
            point.update(actor_sparsity(actors))
            point["wall_s"] = time.time() - start
            return point

        try:
            curve.append(evaluate(0))
            for i in range(1, settings.iterations + 1):
                algo.train()
                if i % settings.eval_interval == 0 or i == settings.iterations:
                    point = evaluate(i)
                    curve.append(point)
                    left = (time.time() - start) / i * (settings.iterations - i)
                    _log(prefix, f"iter {i}/{settings.iterations} reward {point['reward']:.1f} "
                         f"sparsity {point['sparsity_prunable']:.3f} ({left:.0f} s left)")
                    if report is not None:
                        report({"iteration": i, "reward": point["reward"],
                                "sparsity": point["sparsity_prunable"]})
            try:  # diagnostic only: never lose a finished trial over it
                from rllib_experiments.methods.diagnostics import bias_only_rewards

                diagnostics = bias_only_rewards(actor_list(algo), env_kwargs,
                                                settings.eval_episodes, seed)
            except Exception as exc:  # noqa: BLE001
                diagnostics = {"bias_only_error": repr(exc)}
        finally:
            algo.stop()
        last = curve[-1]
        record.update(
            final_reward=last["reward"], final_reward_std=last[f"reward_{row.eval_mode}_std"],
            final_stochastic=last["reward_stochastic"], final_greedy=last["reward_greedy"],
            sparsity_prunable=last["sparsity_prunable"], sparsity_all=last["sparsity_all"],
            num_params_per_actor=last["num_params_per_actor"],
            iterations=settings.iterations,
            episodes_trained=settings.iterations * settings.episodes_per_iteration,
            curve=curve, settings=settings.to_dict(), env_kwargs=env_kwargs, **diagnostics)
    record["wall_s"] = time.time() - start
    record["finished_at"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    write_json_atomic(Path(raw_dir) / "trials" / f"{tid}.json", record)
    return record
