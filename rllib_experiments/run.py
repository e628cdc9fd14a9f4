"""One IAGC-PPO training run: the loop shared by ``train`` (CLI) and ``tune_schedules`` (Tune).

:class:`TrainingRun` builds the RLlib algorithm from :class:`~rllib_experiments.config.Settings`
(``build_algo_config``), then for each iteration i = 0..I_T-1:

1. ``algo.train()``: sample ``episodes_per_iteration`` episodes, PPO update, pruning to p_i
   (inside the learner, :mod:`pruning_callbacks`);
2. every ``eval_interval`` iterations and after the last one: evaluate the actors on
   ``eval_episodes`` episodes of the batched simulator, stochastic and greedy
   (:mod:`rllib_experiments.run_evaluation`);
3. append a row to progress.csv, log to TensorBoard, call ``on_iteration(row)``;
4. every ``checkpoint_every`` iterations and after the last one: checkpoint.

At the end it writes result.json. Files and their crash-safety: :mod:`rllib_experiments.run_outputs`.

Resume (``resume=True``) restores the newest complete checkpoint (weights, optimizer
states, pruning masks and schedule position, reward-normalisation statistics, iteration
counter) and continues from the iteration after it; progress rows and TensorBoard events
of later iterations are dropped. Not restored: the random state of the training episodes
and action draws (the continuation is statistically, not bitwise, the same run).

:func:`tune_trainable` is the Tune function trainable: the same run, reporting each row.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np

from rllib_experiments import run_outputs as out
from rllib_experiments.config import Settings

logger = logging.getLogger(__name__)

DEFAULT_EVAL_SEED = 1000
"""Run seed of the evaluation episodes (the same episodes for every training seed and for ALOHA)."""
DEFAULT_CHECKPOINT_EVERY = 50


def _mean(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(values)) if values else None


def _results(call_results) -> list:
    """Values of LearnerGroup.foreach_learner results (raise the first error)."""
    values = []
    for r in call_results:
        if hasattr(r, "ok"):
            if not r.ok:
                raise r.get()
            values.append(r.get())
        else:
            values.append(r)
    return values


def actor_zero_fraction(actor) -> float:
    """Fraction of exactly-zero entries over the weight matrices (ndim >= 2) of one actor."""
    total = zeros = 0
    for p in actor.parameters():
        if p.dim() >= 2:
            total += p.numel()
            zeros += int((p.detach() == 0).sum())
    return zeros / total if total else 0.0


class TrainingRun:
    """A training run writing into one output folder (see module doc).

    Args:
        settings: validated experiment settings.
        output: output folder (checked with :func:`run_outputs.prepare_output` by the caller,
            or here when ``prepare=True``).
        resume: continue from the newest checkpoint in ``output`` (from scratch if none).
        checkpoint_every: iterations between checkpoints (a final one is always taken).
        eval_seed: run seed of the evaluation episodes.
        tensorboard: write TensorBoard event files.
        log: called with one progress line per iteration (None: silent).
    """

    def __init__(self, settings: Settings, output, *, resume: bool = False,
                 checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
                 eval_seed: int = DEFAULT_EVAL_SEED, tensorboard: bool = True,
                 log: Optional[Callable[[str], None]] = print):
        self.settings = settings.validate()
        self.output = Path(output)
        self.resume = resume
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be an integer >= 1, got {checkpoint_every!r}")
        self.checkpoint_every = checkpoint_every
        self.eval_seed = int(eval_seed)
        self.tensorboard = tensorboard
        self.log = log or (lambda line: None)
        self.algo = None

    # ------------------------------------------------------------------ set-up
    def run_options(self) -> Dict[str, Any]:
        """What run.json records: the settings and the run options."""
        return {"settings": self.settings.to_dict(), "checkpoint_every": self.checkpoint_every,
                "eval_seed": self.eval_seed}

    def _build(self):
        from rllib_experiments.config import build_algo_config, module_specs, probe_env

        info = probe_env(self.settings)
        self.agents = list(info["agents"])
        self.num_users = len(self.agents)
        self.horizon = int(info["horizon"])
        self.spec = module_specs(self.settings, self.agents, info["obs_space"], info["act_space"])
        self.algo = build_algo_config(self.settings).build_algo()

    def _restore(self) -> Dict[str, Any]:
        """Restore the newest checkpoint if resuming; returns the run state to continue from."""
        state = {"iterations_done": 0, "wall_time_s": 0.0, "sessions": 0, "evaluations": []}
        if not self.resume:
            return state
        out.remove_partial_checkpoints(self.output)
        ckpt = out.latest_checkpoint(self.output)
        if ckpt is None:
            self.log(f"resume: no complete checkpoint in {self.output}, starting from iteration 0")
            return state
        saved = out.read_run_state(ckpt)
        self.algo.restore_from_path(str(ckpt.resolve()))
        if int(self.algo.iteration) != int(saved["iterations_done"]):
            raise RuntimeError(f"checkpoint {ckpt} restored iteration {self.algo.iteration}, "
                               f"its run_state says {saved['iterations_done']}")
        self.log(f"resume: restored {ckpt} ({saved['iterations_done']} iterations done)")
        return saved

    # ------------------------------------------------------------------ pieces
    def actors(self):
        """The users' actors with the learner's current weights (fresh local modules)."""
        from rllib_experiments.run_evaluation import actors_from_weights

        weights = self.algo.learner_group.get_weights(module_ids=self.agents)
        return actors_from_weights(self.spec, weights, self.agents)

    def evaluate(self, actors=None) -> Dict[str, Dict]:
        """Stochastic and greedy evaluation of the current actors (see run_evaluation)."""
        from rllib_experiments.run_evaluation import evaluate_actor_modules

        return evaluate_actor_modules(actors if actors is not None else self.actors(),
                                      self.settings.env_kwargs(),
                                      episodes=self.settings.eval_episodes, eval_seed=self.eval_seed)

    def pruning_summary(self) -> Optional[Dict[str, Any]]:
        """The learner's pruning state (None for a dense run)."""
        if self.settings.schedule == "none":
            return None
        found = _results(self.algo.learner_group.foreach_learner(lambda l: l.pruning_summary()))
        return found[0] if found else None

    def _columns(self):
        cols = ["iteration", "env_steps", "episodes", "time_s", "wall_time_s", "env_steps_per_s",
                "train_reward", "train_return", "mean_sparsity", "mean_target_sparsity",
                "policy_loss", "critic_loss", "entropy"]
        for mode in ("stochastic", "greedy"):
            cols += [f"eval_{mode}_mean", f"eval_{mode}_std"]
        cols += [f"sparsity_{a}" for a in self.agents] + [f"target_{a}" for a in self.agents]
        return cols

    def _row(self, i: int, result: Dict, train_s: float, wall: float, evaluation) -> Dict[str, Any]:
        from rllib_experiments.modules import CRITIC_ID

        runners = result.get("env_runners", {})
        learners = result.get("learners", {})
        steps = runners.get("num_env_steps_sampled")
        ret = runners.get("episode_return_mean")
        row = {
            "iteration": i,
            "env_steps": result.get("num_env_steps_sampled_lifetime"),
            "episodes": runners.get("num_episodes_lifetime"),
            "time_s": train_s,
            "wall_time_s": wall,
            "env_steps_per_s": (steps / train_s) if steps and train_s > 0 else None,
            "train_return": ret,
            # Mean over users of their episode return; for the sum_rate reward (every user gets the
            # system throughput) this is the paper's unit.
            "train_reward": (ret / self.num_users) if ret is not None else None,
            "policy_loss": _mean([learners.get(a, {}).get("policy_loss") for a in self.agents]),
            "entropy": _mean([learners.get(a, {}).get("entropy") for a in self.agents]),
            "critic_loss": learners.get(CRITIC_ID, {}).get("vf_loss"),
        }
        if self.settings.schedule != "none":
            for a in self.agents:
                row[f"sparsity_{a}"] = learners.get(a, {}).get("sparsity")
                row[f"target_{a}"] = learners.get(a, {}).get("target_sparsity")
            row["mean_sparsity"] = _mean([row[f"sparsity_{a}"] for a in self.agents])
            row["mean_target_sparsity"] = _mean([row[f"target_{a}"] for a in self.agents])
        else:
            row["mean_sparsity"] = row["mean_target_sparsity"] = 0.0
        if evaluation is not None:
            for mode, summary in evaluation.items():
                row[f"eval_{mode}_mean"] = summary["mean_reward"]
                row[f"eval_{mode}_std"] = summary["std_reward"]
        return {k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in row.items()}

    def _progress_line(self, row, total, seconds_per_iter) -> str:
        i = row["iteration"]
        left = (total - i - 1) * seconds_per_iter
        parts = [f"iter {i + 1:>{len(str(total))}}/{total}"]
        if row.get("train_reward") is not None:
            parts.append(f"reward {row['train_reward']:8.1f}")
        if row.get("eval_stochastic_mean") is not None:
            parts.append(f"eval {row['eval_stochastic_mean']:.1f} (greedy {row['eval_greedy_mean']:.1f})")
        parts.append(f"sparsity {row['mean_sparsity']:.3f}/{row['mean_target_sparsity']:.3f}")
        if row.get("env_steps_per_s") is not None:
            parts.append(f"{row['env_steps_per_s']:6.0f} env steps/s")
        parts.append(f"ETA {_fmt_time(left)}")
        return " | ".join(parts)

    def _tb_log(self, writer, row) -> None:
        i = row["iteration"]
        for key, value in row.items():
            if key == "iteration" or value is None or isinstance(value, str):
                continue
            group = "eval" if key.startswith("eval_") else (
                "sparsity" if key.startswith(("sparsity_", "target_", "mean_sparsity", "mean_target")) else
                "train")
            writer.add_scalar(f"{group}/{key}", value, i)

    # ------------------------------------------------------------------ main loop
    def run(self, on_iteration: Optional[Callable[[Dict[str, Any]], None]] = None) -> Dict[str, Any]:
        """Train (or continue) to ``settings.iterations``; returns the result.json dict."""
        s = self.settings
        self.output.mkdir(parents=True, exist_ok=True)
        run_file = self.output / out.RUN_FILE
        if not run_file.exists():
            out.write_json_atomic(run_file, self.run_options())
        self._build()
        try:
            state = self._restore()
            return self._loop(state, on_iteration)
        finally:
            self.algo.stop()

    def _loop(self, state, on_iteration):
        from rllib_experiments.run_evaluation import aloha_reference

        s = self.settings
        done = int(state["iterations_done"])
        wall0 = float(state["wall_time_s"])
        evaluations = list(state.get("evaluations", []))
        progress_path = self.output / out.PROGRESS_FILE
        if progress_path.exists() or done:  # drop rows of iterations after the checkpoint
            out.truncate_progress(progress_path, done)
        writer = out.ProgressWriter(progress_path, self._columns())
        tb = out.open_tensorboard(self.output, purge_step=done if self.resume else None) \
            if self.tensorboard else None
        aloha = aloha_reference(s.env_kwargs(), episodes=s.eval_episodes, eval_seed=self.eval_seed)
        session_start = time.time()
        iter_times = []
        final_eval = None
        try:
            for i in range(done, s.iterations):
                t0 = time.time()
                result = self.algo.train()
                train_s = time.time() - t0
                evaluation = None
                if (i + 1) % s.eval_interval == 0 or i == s.iterations - 1:
                    evaluation = self.evaluate()
                    if i == s.iterations - 1:
                        final_eval = evaluation
                    evaluations.append({"iteration": i, **{m: {"mean_reward": v["mean_reward"],
                                                              "std_reward": v["std_reward"]}
                                                           for m, v in evaluation.items()}})
                wall = wall0 + (time.time() - session_start)
                row = self._row(i, result, train_s, wall, evaluation)
                writer.write(row)
                if tb is not None:
                    self._tb_log(tb, row)
                iter_times.append(time.time() - t0)
                self.log(self._progress_line(row, s.iterations, float(np.mean(iter_times[-20:]))))
                if on_iteration is not None:
                    on_iteration(row)
                n = i + 1
                if n % self.checkpoint_every == 0 or n == s.iterations:
                    if tb is not None:  # events up to the checkpoint must survive a kill
                        tb.flush()
                    out.save_checkpoint(self.algo, self.output, n, {
                        "iterations_done": n, "wall_time_s": wall,
                        "sessions": int(state.get("sessions", 0)) + 1,
                        "evaluations": evaluations})
        finally:
            writer.close()
            if tb is not None:
                tb.close()
        if final_eval is None:  # resumed after the last iteration's checkpoint
            final_eval = self.evaluate()
        result = self._final_result(final_eval, aloha, wall0 + (time.time() - session_start),
                                    evaluations, int(state.get("sessions", 0)) + 1)
        out.write_json_atomic(self.output / out.RESULT_FILE, result)
        return result

    def _final_result(self, final_eval, aloha, wall, evaluations, sessions) -> Dict[str, Any]:
        s = self.settings
        actors = self.actors()
        zero_fraction = {a: actor_zero_fraction(m) for a, m in zip(self.agents, actors)}
        pruning = self.pruning_summary()
        if pruning is not None:
            sparsity = {a: pruning["modules"][a]["sparsity"] for a in self.agents}
        else:
            sparsity = {a: 0.0 for a in self.agents}
        stochastic, greedy = final_eval["stochastic"], final_eval["greedy"]
        return {
            "final_evaluation": {
                "unit": "episode sum of the system throughput, sum_t sum_n log2(1+SNR) on ACK "
                        "(the paper's reward unit)",
                "episodes": s.eval_episodes,
                "eval_seed": self.eval_seed,
                "stochastic": stochastic,
                "greedy": greedy,
            },
            "mean_reward": stochastic["mean_reward"],
            "std_reward": stochastic["std_reward"],
            "greedy_mean_reward": greedy["mean_reward"],
            "greedy_std_reward": greedy["std_reward"],
            "aloha_reference": aloha,
            "beats_aloha": {"stochastic": stochastic["mean_reward"] > aloha["mean_reward"],
                            "greedy": greedy["mean_reward"] > aloha["mean_reward"]},
            "final_sparsity": sparsity,
            "final_weight_zero_fraction": zero_fraction,
            "mean_final_sparsity": float(np.mean(list(sparsity.values()))),
            "pruning": pruning,
            "settings": s.to_dict(),
            "budget": {"iterations": s.iterations, "episodes_per_iteration": s.episodes_per_iteration,
                       "training_episodes": s.iterations * s.episodes_per_iteration,
                       "env_steps": s.iterations * s.episodes_per_iteration * self.horizon,
                       "eval_interval": s.eval_interval, "eval_episodes": s.eval_episodes},
            "evaluations": evaluations,
            "wall_time_s": wall,
            "sessions": sessions,
            "checkpoint": str(out.latest_checkpoint(self.output)),
        }


def _fmt_time(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


# ---------------------------------------------------------------------- Tune
#: Progress columns reported to Tune every iteration (per-user columns stay in progress.csv).
TUNE_METRICS = ("iteration", "train_reward", "eval_stochastic_mean", "eval_greedy_mean",
                "mean_sparsity", "mean_target_sparsity", "env_steps_per_s", "wall_time_s")


def tune_trainable(config: Dict[str, Any]) -> None:
    """Tune function trainable: one :class:`TrainingRun` per trial, reporting every progress row.

    ``config`` keys: ``settings`` (a Settings dict), ``output_root`` (folder holding one
    sub-folder per trial), and optionally ``schedule``, ``seed``, ``final_sparsity``,
    ``critic_mode`` (the grid axes, overriding ``settings``), ``checkpoint_every``,
    ``eval_seed``. A trial restarted by Tune continues from its own last checkpoint.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch
    from ray import tune

    torch.set_num_threads(1)
    overrides = {k: config[k] for k in ("schedule", "seed", "final_sparsity", "critic_mode") if k in config}
    settings = Settings.from_dict({**config["settings"], **overrides}).validate()
    output = Path(config["output_root"]) / trial_name(settings)
    resume = out.has_results(output)
    run = TrainingRun(settings, output, resume=resume,
                      checkpoint_every=int(config.get("checkpoint_every", DEFAULT_CHECKPOINT_EVERY)),
                      eval_seed=int(config.get("eval_seed", DEFAULT_EVAL_SEED)), log=None)
    last_row = {}

    def report(row):
        row = {k: v for k, v in row.items() if k in TUNE_METRICS and v is not None}
        last_row.clear()
        last_row.update(row)
        if row["iteration"] < settings.iterations - 1:
            tune.report(row)

    result = run.run(on_iteration=report)
    final = {k: v for k, v in last_row.items() if v is not None}
    final.update({
        "final_mean_reward": result["mean_reward"], "final_std_reward": result["std_reward"],
        "final_greedy_mean_reward": result["greedy_mean_reward"],
        "final_greedy_std_reward": result["greedy_std_reward"],
        "aloha_mean_reward": result["aloha_reference"]["mean_reward"],
        "final_mean_sparsity": result["mean_final_sparsity"],
        "trial_output": str(output), "done_iterations": settings.iterations,
    })
    tune.report(final)


def trial_name(settings: Settings) -> str:
    """Folder name of a Tune trial: schedule, final sparsity, critic mode, seed."""
    if settings.schedule == "none":
        return f"none_dense_{settings.critic_mode}_seed{settings.seed}"
    p = settings.final_sparsity
    p = "-".join(f"{x:g}" for x in p) if isinstance(p, (list, tuple)) else f"{p:g}"
    return f"{settings.schedule}_p{p}_{settings.critic_mode}_seed{settings.seed}"
