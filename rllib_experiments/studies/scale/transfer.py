"""Row ``ours_from_A`` of the scale study (``python -m rllib_experiments scale``): ours' final
actors of setup A evaluated unchanged in setups B and C (:func:`transfer_trials`)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Sequence

from rllib_experiments.run.outputs import write_json_atomic
from rllib_experiments.studies.common.records import relative_run_folder, run_folder
from rllib_experiments.studies.scale.stats import LABELS, OURS, TRANSFER

#: Exports the actors of a run folder's final checkpoint into a new folder:
#: ``export_actors(run_folder, folder)`` (:func:`rllib_experiments.run.export.export_checkpoint`).
ExportActors = Callable[[Path, Path], Any]

#: How far a re-evaluated checkpoint's reward may be from its record's ``final_greedy``.
REEVALUATION_TOLERANCE = 1e-6


def exported_greedy(export_dir: Path, env_kwargs: Dict[str, Any], source: Dict[str, Any]):
    """The greedy summary of the actors exported to ``export_dir`` in ``env_kwargs``, on the
    evaluation episodes of record ``source`` (its ``eval_episodes`` and ``eval_seed``)."""
    from rllib_experiments.evaluation import evaluate_baseline  # imports torch: only when run

    return evaluate_baseline(
        f"exported:{export_dir}",
        env_kwargs,
        episodes=int(source["eval_episodes"]),
        eval_seed=int(source["eval_seed"]),
        greedy=True,
    )


def transfer_trials(
    output: Path,
    env_for: Callable[[str, int], Dict[str, Any]],
    sizes: Sequence[int],
    setups: Sequence[str],
    seeds: Sequence[int],
    export_actors: ExportActors,
    log=None,
) -> int:
    """Row ``ours_from_A`` (:data:`~rllib_experiments.studies.scale.stats.TRANSFER`): for every (N, setup
    other than A, seed) without its record, the final actors of ours' run in setup A with the
    same N and seed, evaluated greedily and unchanged on this setup's episodes (``env_for(setup,
    N)``: its environment; records in ``output/N<N>/trials``). The A run's checkpoint is
    checked first: exported (``export_actors``), it must replay the A record's
    ``final_greedy`` in A (within REEVALUATION_TOLERANCE), else no record is written. ``episodes_trained`` and
    ``cpu_s`` are the A run's. Returns how many records were written."""
    from rllib_experiments.studies.common.trials import trial_id  # imports torch: only when run

    log = log or (lambda msg: print(msg, flush=True))
    done = 0
    for n in sizes:
        trials = Path(output) / f"N{n}" / "trials"
        for seed in seeds:
            todo = [
                s
                for s in setups
                if s != "A" and not (trials / f"{trial_id(s, TRANSFER, seed)}.json").exists()
            ]
            if not todo:
                continue
            source_path = trials / f"{trial_id('A', OURS, seed)}.json"
            if not source_path.exists():
                log(
                    f"scale: {TRANSFER} at N = {n}, seed {seed} waits for A's run of ours "
                    f"({source_path.name} is not on record)"
                )
                continue
            source = json.loads(source_path.read_text())
            folder = run_folder(source, trials.parent) or Path("")
            if not folder.is_dir():
                log(
                    f"scale: {TRANSFER} at N = {n}, seed {seed}: the run folder of {source_path.name} "
                    f"({folder}) is not on this machine"
                )
                continue
            start, cpu0 = time.time(), time.process_time()
            with tempfile.TemporaryDirectory() as tmp:
                actors = Path(tmp) / "actors"
                export_actors(folder, actors)
                replay = exported_greedy(actors, source["env_kwargs"], source)["mean_reward"]
                if abs(replay - float(source["final_greedy"])) > REEVALUATION_TOLERANCE:
                    log(
                        f"scale: {TRANSFER} at N = {n}, seed {seed}: the checkpoint in {folder} plays "
                        f"{replay:.6f} in A, the record says {source['final_greedy']:.6f}: not "
                        "the run's final actors, no record written"
                    )
                    continue
                for setup in todo:
                    env_kwargs = env_for(setup, n)
                    summary = exported_greedy(actors, env_kwargs, source)
                    rec = dict(
                        trial=trial_id(setup, TRANSFER, seed),
                        row=TRANSFER,
                        label=LABELS[TRANSFER],
                        setup=setup,
                        seed=seed,
                        num_users=n,
                        budget=source["budget"],
                        kind="transfer",
                        trained_in="A",
                        source_trial=source["trial"],
                        run_folder=relative_run_folder(folder, trials.parent),
                        eval_mode="greedy",
                        eval_seed=source["eval_seed"],
                        eval_episodes=source["eval_episodes"],
                        final_reward=summary["mean_reward"],
                        final_greedy=summary["mean_reward"],
                        final_reward_std=summary["std_reward"],
                        iterations=source["iterations"],
                        episodes_trained=source["episodes_trained"],
                        cpu_s=source["cpu_s"],
                        curve=[],
                        env_kwargs=env_kwargs,
                        final_summary={"greedy": summary},
                        replay_in_A=replay,
                        eval_cpu_s=time.process_time() - cpu0,
                        eval_wall_s=time.time() - start,
                        finished_at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                    )
                    write_json_atomic(trials / f"{rec['trial']}.json", rec)
                    log(f"scale: {rec['trial']} (N = {n}): {rec['final_reward']:.1f}")
                    done += 1
    return done
