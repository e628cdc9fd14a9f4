"""Training runs as Ray Tune trials: the trials of ``tune_schedules`` and of ``reproduce``.

Both run the one training loop, :class:`~rllib_experiments.training.TrainingRun`, and
evaluate through :func:`rllib_experiments.evaluation.evaluate` (the same episodes, seeds
and std convention as ``train``):

* :func:`tune_trainable` (``tune_schedules``): one run per grid point in
  ``output_root/<trial name>``, reporting every progress row to Tune; a trial restarted
  by Tune continues from its own last checkpoint.
* :func:`run_row_trial` (``reproduce``): one (row, setup, seed) of Table I. A learning row
  trains with the row's settings and build function; a baseline row is evaluated on the
  evaluation episodes. The trial's raw record (final rewards, the evaluation curve, the
  actors' sparsity both ways, diagnostics) is written atomically to
  ``RAW/trials/<trial id>.json``; a trial whose record exists is finished.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import torch

from dsa_pettingzoo.deploy import FORMAT_VERSION
from rllib_experiments.dsa.actor_files import actor_file_bytes
from rllib_experiments.evaluation import EVAL_SEED, evaluate_baseline
from rllib_experiments.methods import get_row
from rllib_experiments.methods.diagnostics import bias_only_rewards
from rllib_experiments.run import outputs as out
from rllib_experiments.run.provenance import provenance_fields
from rllib_experiments.settings import Settings, load_preset
from rllib_experiments.studies.common.records import relative_run_folder
from rllib_experiments.studies.common.search_space import point_id, settings_for
from rllib_experiments.training import DEFAULT_CHECKPOINT_EVERY, TrainingRun, achieved_sparsity

#: Progress columns reported to Tune every iteration (per-user columns stay in progress.csv).
TUNE_METRICS = (
    "iteration",
    "train_reward",
    "eval_stochastic_mean",
    "eval_greedy_mean",
    "mean_sparsity",
    "mean_target_sparsity",
    "env_steps_per_s",
    "wall_time_s",
)

#: Progress columns a reproduce record keeps for every iteration (its ``trace``): the policy
#: entropy across pruning events, the actual and the scheduled sparsity, the training reward.
TRACE_COLUMNS = ("entropy", "mean_sparsity", "mean_target_sparsity", "train_reward")

#: Settings fields a schedules grid varies (each has its own flag in tune_schedules).
GRID_AXES = ("schedule", "seed", "final_sparsity", "critic_mode")


def _single_thread() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    torch.set_num_threads(1)


def trial_name(settings: Settings) -> str:
    """Folder name of a schedules trial: schedule, final sparsity, critic mode, seed."""
    if settings.schedule == "none":
        return f"none_dense_{settings.critic_mode}_seed{settings.seed}"
    p = settings.final_sparsity
    p = "-".join(f"{x:g}" for x in p) if isinstance(p, (list, tuple)) else f"{p:g}"
    return f"{settings.schedule}_p{p}_{settings.critic_mode}_seed{settings.seed}"


def tune_trainable(config: Dict[str, Any]) -> None:
    """Tune function trainable of ``tune_schedules``: one TrainingRun per grid point.

    ``config`` keys: ``settings`` (a Settings dict), ``output_root`` (folder holding one
    sub-folder per trial), the grid axes of :data:`GRID_AXES` (overriding ``settings``) or
    ``point`` (a search point, :func:`rllib_experiments.studies.common.search_space.settings_for`; the folder
    name then ends in the point's hash), and optionally ``checkpoint_every``, ``eval_seed``.
    """
    # imports ray: only when called
    import ray
    from ray import tune

    _single_thread()
    if "point" in config:  # a searched point (rllib_experiments.studies.common.search_space)
        settings = settings_for(config["settings"], config["point"])
        output = Path(config["output_root"]) / f"{trial_name(settings)}_{point_id(config['point'])}"
    else:
        overrides = {k: config[k] for k in GRID_AXES if k in config}
        settings = Settings.from_dict({**config["settings"], **overrides}).validate()
        output = Path(config["output_root"]) / trial_name(settings)
    run = TrainingRun(
        settings,
        output,
        resume=out.has_results(output),
        checkpoint_every=int(config.get("checkpoint_every", DEFAULT_CHECKPOINT_EVERY)),
        eval_seed=int(config.get("eval_seed", EVAL_SEED)),
        log=None,
    )
    last_row: Dict[str, Any] = {}

    # A search (a Tune metric, maybe a scheduler) hears of evaluations only: Tune wants its
    # metric in every report.
    evaluations_only = "point" in config

    def report(row):
        row = {k: v for k, v in row.items() if k in TUNE_METRICS and v is not None}
        last_row.clear()
        last_row.update(row)
        if evaluations_only and "eval_greedy_mean" not in row:
            return
        if row["iteration"] < settings.iterations - 1:
            tune.report(row)

    result = run.run(on_iteration=report)
    final = dict(last_row)
    final.update(
        {
            "final_mean_reward": result["mean_reward"],
            "final_std_reward": result["std_reward"],
            "final_greedy_mean_reward": result["greedy_mean_reward"],
            "final_greedy_std_reward": result["greedy_std_reward"],
            "aloha_mean_reward": result["aloha_reference"]["mean_reward"],
            "oracle_mean_reward": result["oracle_reference"]["mean_reward"],
            "final_mean_sparsity": achieved_sparsity(result)[1],
            "trial_output": str(output),
            "done_iterations": settings.iterations,
            "node_id": ray.get_runtime_context().get_node_id(),
        }
    )
    tune.report(final)


# ---------------------------------------------------------------------- reproduce
def trial_id(setup: str, row: str, seed: int) -> str:
    """File stem of a reproduce trial: ``A__harmonic__s3``."""
    return f"{setup}__{row}__s{seed}"


def base_settings(budget: Dict[str, Any], setup: str, seed: int) -> Settings:
    """The budget's base Settings for a setup and seed (rows change them further)."""
    preset = budget["preset"].format(setup=setup)
    return load_preset(
        preset,
        setup=setup,
        seed=seed,
        iterations=budget["iterations"],
        eval_interval=budget["eval_interval"],
        eval_episodes=budget["eval_episodes"],
        **budget.get("overrides", {}),
    )


def _log(prefix: str, msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {prefix} {msg}", flush=True)


def _curve_point(point: Dict[str, Any], eval_mode: str) -> Dict[str, Any]:
    """A TrainingRun evaluation point in the layout of a reproduce record's curve."""
    keep = ("sparsity_prunable", "sparsity_all", "num_params_per_actor", "wall_s", "episodes")
    return {
        "iteration": point["iterations_done"],
        **{f"reward_{m}": point[m]["mean_reward"] for m in ("stochastic", "greedy")},
        **{f"reward_{m}_std": point[m]["std_reward"] for m in ("stochastic", "greedy")},
        "reward": point[eval_mode]["mean_reward"],
        **{k: point[k] for k in keep},
    }


class _Stopped(Exception):
    """Raised inside a trial's training run to end it after ``stop_after`` iterations."""


def run_row_trial(
    row_key: str,
    setup: str,
    seed: int,
    budget: Dict[str, Any],
    raw_dir: str,
    runs_dir: str,
    report: Optional[Callable[[Dict], None]] = None,
    stop_after: Optional[int] = None,
) -> Dict[str, Any]:
    """Run one reproduce trial, write RAW/trials/<id>.json and return the record (module doc;
    its fields: :mod:`rllib_experiments.studies.common.records`).

    The trial's training run folder (progress.csv, the final checkpoint) is
    ``runs_dir/<trial id>``; an older folder there is kept under another name.

    ``stop_after`` (``verify --iterations-limit``): end the training at the first evaluation
    at or after that many iterations, with the same settings (so the same schedules: the
    iterations before are those of the whole run); the partial record, with ``curve`` up to
    there, ``stopped_after`` and no final figures, is returned and not written.
    """
    _single_thread()
    row = get_row(row_key)
    tid = trial_id(setup, row_key, seed)
    start = time.time()
    record: Dict[str, Any] = dict(
        trial=tid,
        row=row_key,
        label=row.label,
        setup=setup,
        seed=seed,
        budget=budget["name"],
        budget_config=dict(budget),
        kind=row.kind,
        eval_mode=row.eval_mode,
        eval_seed=EVAL_SEED,
        eval_episodes=budget["eval_episodes"],
        **provenance_fields(),
    )
    if row.kind == "baseline":
        env_kwargs = base_settings(budget, setup, seed).env_kwargs()
        summary = evaluate_baseline(row_key, env_kwargs, episodes=budget["eval_episodes"])
        record.update(
            final_reward=summary["mean_reward"],
            final_reward_std=summary["std_reward"],
            iterations=0,
            episodes_trained=0,
            curve=[],
            env_kwargs=env_kwargs,
        )
    else:
        settings = row.settings(base_settings(budget, setup, seed))
        folder = Path(runs_dir) / tid
        out.prepare_output(folder, resume=False, overwrite=True)
        run = TrainingRun(
            settings,
            folder,
            build=row.build,
            checkpoint_every=settings.iterations,
            evaluate_at_start=True,
            tensorboard=False,
            log=None,
        )

        points = []

        def on_evaluation(point):
            points.append(point)
            i = point["iterations_done"]
            if i == 0:
                return
            reward = point[row.eval_mode]["mean_reward"]
            left = (time.time() - start) / i * (settings.iterations - i)
            _log(
                f"[{tid}]",
                f"iter {i}/{settings.iterations} reward {reward:.1f} "
                f"sparsity {point['sparsity_prunable']:.3f} ({left:.0f} s left)",
            )
            if report is not None:
                report({"iteration": i, "reward": reward, "sparsity": point["sparsity_prunable"]})
            if stop_after is not None and i >= stop_after:
                raise _Stopped

        trace: Dict[str, list] = {k: [] for k in TRACE_COLUMNS}

        def on_iteration(progress_row):
            for k in TRACE_COLUMNS:
                v = progress_row.get(k)
                trace[k].append(None if v is None else round(float(v), 5))

        try:
            result = run.run(on_evaluation=on_evaluation, on_iteration=on_iteration)
        except _Stopped:
            _log(f"[{tid}]", f"stopped after {points[-1]['iterations_done']} iterations")
            record.update(
                curve=[_curve_point(p, row.eval_mode) for p in points],
                trace=trace,
                settings=settings.to_dict(),
                iterations=settings.iterations,
                stopped_after=points[-1]["iterations_done"],
            )
            return record
        curve = [_curve_point(p, row.eval_mode) for p in result["evaluations"]]
        try:  # diagnostic only: never lose a finished trial over it
            diagnostics = bias_only_rewards(
                run.final_actors, settings.env_kwargs(), settings.eval_episodes
            )
        except Exception as exc:  # noqa: BLE001
            diagnostics = {"bias_only_error": repr(exc)}
        try:  # what the actors cost a device: mean exported file size per user
            diagnostics["actor_bytes"] = {
                dtype: actor_file_bytes(run.final_actors, dtype) for dtype in ("float32", "int8")
            }
            diagnostics["actor_bytes_format"] = FORMAT_VERSION  # sizes depend on the writer
        except Exception as exc:  # noqa: BLE001
            diagnostics["actor_bytes_error"] = repr(exc)
        # What the final actors did, not only their reward (collisions, idle slots, fairness).
        diagnostics["final_summary"] = {
            m: dict(result["final_evaluation"][m]) for m in ("stochastic", "greedy")
        }
        last = curve[-1]
        record.update(
            final_reward=last["reward"],
            final_reward_std=last[f"reward_{row.eval_mode}_std"],
            final_stochastic=last["reward_stochastic"],
            final_greedy=last["reward_greedy"],
            sparsity_prunable=last["sparsity_prunable"],
            sparsity_all=last["sparsity_all"],
            num_params_per_actor=last["num_params_per_actor"],
            iterations=settings.iterations,
            episodes_trained=settings.iterations * settings.episodes_per_iteration,
            curve=curve,
            trace=trace,
            settings=settings.to_dict(),
            env_kwargs=settings.env_kwargs(),
            oracle_reference=result["oracle_reference"]["mean_reward"],
            run_folder=relative_run_folder(folder, raw_dir),
            resumed_at=list(result.get("resumed_at", [])),
            **diagnostics,
        )
    record["wall_s"] = time.time() - start
    record["finished_at"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    out.write_json_atomic(Path(raw_dir) / "trials" / f"{tid}.json", record)
    return record
