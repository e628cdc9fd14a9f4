"""The one training loop: ``train``, the Tune trials of ``tune_schedules`` and ``reproduce`` all run it.

:class:`TrainingRun` builds the RLlib algorithm from :class:`~rllib_experiments.settings.Settings`
(``build``, default :func:`rllib_experiments.algorithm.build_algo_config`; a Table I row
passes its own), then for each iteration i = 0..I_T-1:

1. ``algo.train()``: sample ``episodes_per_iteration`` episodes, update, prune to p_i
   (inside the learner, :mod:`pruning_callbacks`);
2. every ``eval_interval`` iterations and after the last one (and before the first, with
   ``evaluate_at_start``): evaluate the actors with :func:`rllib_experiments.evaluation.evaluate`,
   stochastic and greedy, and record the actors' sparsity both ways; by default
   (``background_eval``) in a worker process on a copy of the weights while the next
   iterations train (:mod:`rllib_experiments.run.background`: the same numbers), the
   last evaluation in this process;
3. append a row to progress.csv, log to TensorBoard, call ``on_iteration(row)`` (and
   ``on_evaluation(point)`` after an evaluation);
4. every ``checkpoint_every`` iterations and after the last one: checkpoint.

With a ``stop_rule`` (:class:`rllib_experiments.run.stop_rule.StopRule`) the run ends early
once the greedy evaluations met its goal at ``patience`` points in a row: after the
iteration in which the last of them came in (a background evaluation comes in a few
iterations after its weights), with a checkpoint and a final evaluation of that iteration;
result.json then says where (``stopped_early``) and ``budget.iterations_done``.

At the end it writes result.json. Files and their crash-safety: :mod:`rllib_experiments.run.outputs`.

Resume (``resume=True``) restores the newest intact checkpoint (weights, optimizer
states, pruning masks and schedule position, reward-normalisation statistics, iteration
counter, and every random stream: torch, numpy and Python in this process, and each batched
env runner's episode generators and action draws) and continues from the iteration after
it: the continued run is the uninterrupted one bit for bit, the same episodes, actions,
losses and weights (tests/test_resume.py; the float64 reward-normalisation statistics go
through the checkpoint unrounded, :meth:`rllib_experiments.iagc.modules.SharedCritic.get_state`).
Progress rows and TensorBoard events of later iterations are dropped. Damaged checkpoints (files that differ from the checkpoint's
manifest, or that fail to load) are set aside, never deleted, and the previous one is used.
Not restored: the random streams of remote learner processes (``num_learners >= 1``) and of
RLlib's own per-step env runner (``fast_sampling=False``): such runs continue statistically.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from dsa_pettingzoo import make_config
from rllib_experiments.algorithm import build_algo_config
from rllib_experiments.evaluation import (
    EVAL_SEED,
    actor_sparsity,
    algo_actors,
    evaluate,
    evaluate_baseline,
    evaluate_snapshot,
)
from rllib_experiments.run import outputs as out
from rllib_experiments.run import progress as prog
from rllib_experiments.run.background import BackgroundEvaluator
from rllib_experiments.run.provenance import provenance_fields
from rllib_experiments.run.random_streams import algo_random_state, set_algo_random_state
from rllib_experiments.run.stop_rule import StopRule
from rllib_experiments.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_CHECKPOINT_EVERY = 50


class TrainingStopped(Exception):
    """The run stopped at an iteration boundary on request (:meth:`TrainingRun.request_stop`),
    after a checkpoint of every iteration done: ``resume=True`` continues it exactly."""

    def __init__(self, iterations_done: int, output: Path):
        super().__init__(f"stopped after iteration {iterations_done}, checkpoint saved in {output}")
        self.iterations_done = iterations_done
        self.output = output


#: result.json keys of older runs -> today's. Before the target and the achieved sparsity
#: had keys of their own, ``final_sparsity`` held the achieved sparsity per user (today
#: ``achieved_sparsity``; ``final_sparsity`` is now the target, as in Settings) and
#: ``mean_final_sparsity`` its mean (today ``mean_achieved_sparsity``).
LEGACY_RESULT_KEYS = {
    "final_sparsity": "achieved_sparsity",
    "mean_final_sparsity": "mean_achieved_sparsity",
}


def achieved_sparsity(result: Dict[str, Any]) -> Tuple[Dict[str, float], float]:
    """(per user, mean) sparsity the actors' masks reached, from a result.json dict of
    today's layout or an older one (:data:`LEGACY_RESULT_KEYS`)."""
    if "achieved_sparsity" in result:
        return result["achieved_sparsity"], result["mean_achieved_sparsity"]
    return result["final_sparsity"], result["mean_final_sparsity"]


def learner_results(call_results) -> list:
    """Values of ``LearnerGroup.foreach_learner`` results (raise the first error)."""
    values = []
    for r in call_results:
        if hasattr(r, "ok"):
            if not r.ok:
                raise r.get()
            values.append(r.get())
        else:
            values.append(r)
    return values


class TrainingRun:
    """A training run writing into one output folder (see module doc).

    Args:
        settings: validated experiment settings.
        output: output folder (checked with :func:`run_outputs.prepare_output` by the caller).
        build: Settings -> AlgorithmConfig (default: IAGC-PPO, ``build_algo_config``).
        resume: continue from the newest checkpoint in ``output`` (from scratch if none).
        checkpoint_every: iterations between checkpoints (a final one is always taken).
        eval_seed: run seed of the evaluation episodes (default: the shared ``EVAL_SEED``).
        evaluate_at_start: also evaluate the untrained actors (iteration 0 of the curve).
        tensorboard: write TensorBoard event files.
        log: called with one progress line per iteration (None: silent).
        notice: called with what resuming found (a damaged checkpoint, the one restored);
            default ``log``, or standard error when ``log`` is None.
        run_info: more entries for run.json (e.g. the Table I row the run trains).
        background_eval: run the evaluations (all but the last) in a worker process while
            training continues (:mod:`rllib_experiments.run.background`; the same numbers,
            progress rows written once their evaluation is in).
        stop_rule: end the run once the goal of this rule is met (see module doc).
    """

    def __init__(
        self,
        settings: Settings,
        output,
        *,
        build: Optional[Callable] = None,
        resume: bool = False,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        eval_seed: int = EVAL_SEED,
        evaluate_at_start: bool = False,
        tensorboard: bool = True,
        log: Optional[Callable[[str], None]] = print,
        notice: Optional[Callable[[str], None]] = None,
        run_info: Optional[Dict[str, Any]] = None,
        background_eval: bool = True,
        stop_rule: Optional[StopRule] = None,
    ):
        self.settings = settings.validate()
        self.output = Path(output)
        self.build = build
        self.resume = resume
        if (
            isinstance(checkpoint_every, bool)
            or not isinstance(checkpoint_every, int)
            or checkpoint_every < 1
        ):
            raise ValueError(f"checkpoint_every must be an integer >= 1, got {checkpoint_every!r}")
        self.checkpoint_every = checkpoint_every
        self.eval_seed = int(eval_seed)
        self.evaluate_at_start = bool(evaluate_at_start)
        self.tensorboard = tensorboard
        self.log = log or (lambda line: None)
        self.notice = notice or log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.run_info = dict(run_info or {})
        self.background_eval = bool(background_eval)
        if stop_rule is not None and not isinstance(stop_rule, StopRule):
            raise ValueError(f"stop_rule must be a StopRule or None, got {stop_rule!r}")
        self.stop_rule = stop_rule
        self._stop_met: Optional[Dict[str, Any]] = None
        #: aloha and oracle on the evaluation episodes (set when the loop starts)
        self.references: Optional[Dict[str, Dict[str, Any]]] = None
        #: time.time() when the training loop began (after the build and the references)
        self.loop_started_at: Optional[float] = None
        self._background = None
        self._stop_requested = False
        self.algo = None
        #: The actors after the last iteration (torch modules independent of the algorithm).
        self.final_actors: Optional[List] = None

    # ------------------------------------------------------------------ set-up
    def run_options(self) -> Dict[str, Any]:
        """What run.json records: the settings and the run options."""
        options = {
            **self.run_info,
            "settings": self.settings.to_dict(),
            "checkpoint_every": self.checkpoint_every,
            "eval_seed": self.eval_seed,
        }
        if self.stop_rule is not None:
            options["stop_rule"] = self.stop_rule.to_dict()
        return options

    def target_sparsity(self):
        """The actors' final sparsity the goal of a stop rule asks for (0 for a dense run)."""
        s = self.settings
        return 0.0 if s.schedule == "none" else s.final_sparsity

    def _build(self):
        # imports ray: only when called
        from rllib_experiments.iagc.modules import actor_ids

        # The config's builder already probed the environment: read the agents off its spec.
        self.algo = (self.build or build_algo_config)(self.settings).build_algo()
        self.agents = actor_ids(self.algo.config.rl_module_spec)
        self.horizon = int(make_config(**self.settings.env_kwargs()).horizon)

    def _restore(self) -> Dict[str, Any]:
        """Restore the newest intact checkpoint if resuming; returns the run state to continue from.

        A checkpoint whose files differ from its manifest, or that fails to load, is damaged:
        it is renamed to ``iter_N.damaged-<time>`` (kept, so nothing written is lost, and never
        overwritten by the checkpoints the continued run takes) and the previous one is tried.
        """
        state = {"iterations_done": 0, "wall_time_s": 0.0, "sessions": 0, "evaluations": []}
        if not self.resume:
            return state
        # imports ray, scipy: only when called
        from pruning_callbacks.rllib.callback import ship_weights

        out.remove_partial_checkpoints(self.output)
        for ckpt in reversed(out.list_checkpoints(self.output)):
            problem = out.verify_checkpoint(ckpt)
            if problem is None:
                try:
                    saved = out.read_run_state(ckpt)
                    self.algo.restore_from_path(str(ckpt.resolve()))
                    ship_weights(self.algo)  # RLlib's own post-restore sync can be dropped
                    if int(self.algo.iteration) != int(saved["iterations_done"]):
                        raise RuntimeError(
                            f"it restored iteration {self.algo.iteration}, its "
                            f"run_state says {saved['iterations_done']}"
                        )
                    random_state = out.read_random_state(ckpt)
                except Exception as err:  # noqa: BLE001 -- any failure to load means damaged
                    problem = f"{type(err).__name__}: {err}"
                    self.algo.stop()  # a half-restored algorithm is not trusted: build anew
                    self._build()
                else:
                    if random_state is not None:
                        self._set_random_state(random_state)
                    self.notice(
                        f"resume: restored {ckpt} ({saved['iterations_done']} iterations done"
                        f"{'' if random_state else '; no random state saved: statistically, not exactly, the same run'})"
                    )
                    # where this run was resumed, this time included (checkpoints of older
                    # runs do not say where their earlier sessions began)
                    return {
                        **saved,
                        "resumed_at": [*saved.get("resumed_at", []), int(saved["iterations_done"])],
                    }
            kept = out.set_aside_damaged(ckpt)
            self.notice(
                f"resume: checkpoint {ckpt} is damaged ({problem}); kept as {kept.name}, "
                "trying the previous one"
            )
        self.notice(f"resume: no intact checkpoint in {self.output}, starting from iteration 0")
        return state

    def _random_state(self) -> Dict[str, Any]:
        return algo_random_state(self.algo)

    def _set_random_state(self, state: Dict[str, Any]) -> None:
        set_algo_random_state(self.algo, state)

    def _finished_result(self) -> Optional[Dict[str, Any]]:
        """Resuming a run that already reached its last iteration: its result, left untouched."""
        result_file = self.output / out.RESULT_FILE
        ckpt = out.latest_checkpoint(self.output) if self.resume else None
        if ckpt is None or not result_file.is_file():
            return None
        state = out.read_run_state(ckpt)
        if int(state["iterations_done"]) < self.settings.iterations and not state.get(
            "stopped_early"
        ):
            return None
        self.notice(
            f"resume: {self.output} is finished ({state['iterations_done']} iterations); "
            f"nothing to do, {out.RESULT_FILE} left as it is"
        )
        return json.loads(result_file.read_text())

    # ------------------------------------------------------------------ pieces
    def actors(self) -> List:
        """The users' actors with the learner's current weights (fresh local modules)."""
        return algo_actors(self.algo)

    def evaluate(self, actors=None) -> Dict[str, Dict]:
        """Stochastic and greedy evaluation of the actors (:func:`rllib_experiments.evaluation.evaluate`)."""
        return evaluate(
            actors if actors is not None else self.actors(),
            self.settings.env_kwargs(),
            episodes=self.settings.eval_episodes,
            eval_seed=self.eval_seed,
        )

    def evaluation_point(self, iterations_done: int, wall_s: float) -> Dict[str, Any]:
        """Evaluate now: the curve point after ``iterations_done`` iterations."""
        actors = self.actors()
        evaluation = self.evaluate(actors)
        return {
            "point": self._point(iterations_done, evaluation, actor_sparsity(actors), wall_s),
            "evaluation": evaluation,
            "actors": actors,
        }

    def _point(self, iterations_done, evaluation, sparsity, wall_s) -> Dict[str, Any]:
        return {
            "iterations_done": iterations_done,
            "episodes": iterations_done * self.settings.episodes_per_iteration,
            **{
                mode: {"mean_reward": v["mean_reward"], "std_reward": v["std_reward"]}
                for mode, v in evaluation.items()
            },
            **sparsity,
            "wall_s": wall_s,
        }

    def _submit_evaluation(self, iterations_done: int, wall_s: float):
        """Evaluate a copy of the current weights in the background; resolved by :meth:`_resolve`."""
        weights = self.algo.learner_group.get_weights(module_ids=self.agents)
        copied = {
            mid: {
                # on the CPU (a learner on a GPU gives CUDA tensors; on the CPU: a plain copy)
                k: v.detach().to("cpu", copy=True) if torch.is_tensor(v) else np.array(v, copy=True)
                for k, v in state.items()
            }
            for mid, state in weights.items()
        }
        future = self._background.submit(self.algo.config.rl_module_spec, copied, self.agents)
        return {"iterations_done": iterations_done, "wall_s": wall_s, "future": future}

    def _resolve(self, job) -> Dict[str, Any]:
        evaluation, sparsity = job["future"].result()
        return {
            "point": self._point(job["iterations_done"], evaluation, sparsity, job["wall_s"]),
            "evaluation": evaluation,
            "actors": None,
        }

    def pruning_summary(self) -> Optional[Dict[str, Any]]:
        """The learner's pruning state (None for a dense run)."""
        if self.settings.schedule == "none":
            return None
        found = learner_results(
            self.algo.learner_group.foreach_learner(lambda learner: learner.pruning_summary())
        )
        return found[0] if found else None

    # ------------------------------------------------------------------ main loop
    def request_stop(self) -> None:
        """Stop at the end of the current iteration: checkpoint it and raise
        :class:`TrainingStopped` from :meth:`run` (safe to call from a signal handler; a run
        already in its last iteration finishes instead)."""
        self._stop_requested = True

    def run(
        self,
        on_iteration: Optional[Callable[[Dict[str, Any]], None]] = None,
        on_evaluation: Optional[Callable[[Dict[str, Any]], None]] = None,
    ) -> Dict[str, Any]:
        """Train (or continue) to ``settings.iterations``; returns the result.json dict."""
        self.output.mkdir(parents=True, exist_ok=True)
        run_file = self.output / out.RUN_FILE
        if not run_file.exists():
            out.write_json_atomic(run_file, self.run_options())
        finished = self._finished_result()
        if finished is not None:
            return finished
        self._build()
        try:
            state = self._restore()
            return self._loop(state, on_iteration, on_evaluation or (lambda point: None))
        finally:
            self.algo.stop()

    def _loop(self, state, on_iteration, on_evaluation):
        s = self.settings
        done = int(state["iterations_done"])
        wall0 = float(state["wall_time_s"])
        evaluations = list(state.get("evaluations", []))
        progress_path = self.output / out.PROGRESS_FILE
        if progress_path.exists() or done:  # drop rows of iterations after the checkpoint
            prog.truncate_progress(progress_path, done)
        writer = prog.ProgressWriter(progress_path, prog.progress_columns(self.agents))
        tb = (
            out.open_tensorboard(self.output, purge_step=done if self.resume else None)
            if self.tensorboard
            else None
        )
        references = {
            name: evaluate_baseline(
                name, s.env_kwargs(), episodes=s.eval_episodes, eval_seed=self.eval_seed
            )
            for name in ("aloha", "oracle")
        }
        self.references = references
        self._background = (
            BackgroundEvaluator(
                evaluate_snapshot,
                s.env_kwargs(),
                episodes=s.eval_episodes,
                eval_seed=self.eval_seed,
                log_dir=self.output,
            )
            if self.background_eval
            else None
        )
        session_start = self.loop_started_at = time.time()
        iter_times = []
        last = None
        # Iterations trained but not yet written: [i, result, train_s, wall, t0, evaluation],
        # evaluation None (none due), a dict (done) or a background job (resolved in order).
        waiting: List[list] = []

        def write_ready(wait: bool) -> None:
            nonlocal last
            while waiting:
                i, result, train_s, wall, t0, evaluation = waiting[0]
                if isinstance(evaluation, dict) and "future" in evaluation:
                    if not (wait or evaluation["future"].done()):
                        return
                    last = self._resolve(evaluation)
                    evaluation = last["evaluation"]
                    evaluations.append(last["point"])
                    check_stop_rule()
                waiting.pop(0)
                row = prog.progress_row(
                    i,
                    result,
                    self.agents,
                    pruned=s.schedule != "none",
                    train_s=train_s,
                    wall=wall,
                    evaluation=evaluation,
                )
                writer.write(row)
                if tb is not None:
                    prog.tensorboard_log(tb, row)
                iter_times.append(time.time() - t0)
                self.log(prog.progress_line(row, s.iterations, float(np.mean(iter_times[-20:]))))
                if on_iteration is not None:
                    on_iteration(row)
                if evaluation is not None:
                    on_evaluation(last["point"])

        def check_stop_rule() -> None:
            if self.stop_rule is None or self._stop_met is not None:
                return
            met = self.stop_rule.met(
                evaluations, references["oracle"]["mean_reward"], self.target_sparsity()
            )
            if met is not None:
                self._stop_met = met
                self.log(
                    f"stop rule met: {self.stop_rule.goal.describe()} at "
                    f"{self.stop_rule.patience} evaluation(s) in a row, the last after "
                    f"iteration {met['iterations_done']}; stopping"
                )

        final_n = s.iterations
        try:
            if done == 0 and self.evaluate_at_start:
                last = self.evaluation_point(0, wall0)
                evaluations.append(last["point"])
                check_stop_rule()
                on_evaluation(last["point"])
            check_stop_rule()  # resumed after its goal was met, before the stop
            for i in range(done, s.iterations):
                if self._stop_met is not None:
                    final_n = i
                    break
                t0 = time.time()
                result = self.algo.train()
                train_s = time.time() - t0
                evaluation = None
                n = i + 1
                if n % s.eval_interval == 0 or n == s.iterations:
                    write_ready(wait=True)  # one evaluation in the background at a time
                    wall_s = wall0 + time.time() - session_start
                    if self._background is not None and n < s.iterations:
                        evaluation = self._submit_evaluation(n, wall_s)
                    else:  # the last one synchronously: its actors are the run's final actors
                        last = self.evaluation_point(n, wall_s)
                        evaluation = last["evaluation"]
                        evaluations.append(last["point"])
                        check_stop_rule()
                wall = wall0 + (time.time() - session_start)
                waiting.append([i, result, train_s, wall, t0, evaluation])
                stopping = self._stop_requested and n < s.iterations
                checkpoint = n % self.checkpoint_every == 0 or n == s.iterations or stopping
                write_ready(wait=checkpoint)
                stop_early = self._stop_met is not None and n < s.iterations
                if stop_early:
                    final_n = n
                    if not checkpoint:
                        write_ready(wait=True)
                    checkpoint = True
                if checkpoint:
                    if tb is not None:  # events up to the checkpoint must survive a kill
                        tb.flush()
                    out.save_checkpoint(
                        self.algo,
                        self.output,
                        n,
                        {
                            "iterations_done": n,
                            "wall_time_s": wall,
                            "sessions": int(state.get("sessions", 0)) + 1,
                            "resumed_at": list(state.get("resumed_at", [])),
                            "evaluations": evaluations,
                            **(
                                {"stopped_early": self._stopped_early(final_n)}
                                if stop_early
                                else {}
                            ),
                        },
                        random_state=self._random_state(),
                    )
                if stopping:
                    raise TrainingStopped(n, self.output)
        finally:
            if self._background is not None:
                self._background.close()
            writer.close()
            if tb is not None:
                tb.close()
        if last is None or last["point"]["iterations_done"] != final_n:
            last = self.evaluation_point(final_n, wall0)  # resumed after the last checkpoint
        if last["actors"] is None:  # stopped early on a background evaluation's point
            last["actors"] = self.actors()
        self.final_actors = last["actors"]
        result = self._final_result(
            last,
            references,
            wall0 + (time.time() - session_start),
            evaluations,
            int(state.get("sessions", 0)) + 1,
            list(state.get("resumed_at", [])),
        )
        out.write_json_atomic(self.output / out.RESULT_FILE, result)
        return result

    def _final_result(
        self, last, references, wall, evaluations, sessions, resumed_at
    ) -> Dict[str, Any]:
        s = self.settings
        aloha, oracle = references["aloha"], references["oracle"]
        point = last["point"]
        pruning = self.pruning_summary()
        stochastic, greedy = last["evaluation"]["stochastic"], last["evaluation"]["greedy"]
        early = {}
        if self.stop_rule is not None:
            early = {
                "stop_rule": self.stop_rule.to_dict(),
                "stopped_early": (
                    self._stopped_early(point["iterations_done"])
                    if self._stop_met is not None
                    else None
                ),
            }
        return {
            "final_evaluation": {
                "unit": "episode sum of the system throughput, sum_t sum_n log2(1+SNR) on ACK "
                "(the paper's reward unit)",
                "episodes": s.eval_episodes,
                "eval_seed": self.eval_seed,
                "std": "sample standard deviation over episodes (ddof 1)",
                "stochastic": stochastic,
                "greedy": greedy,
            },
            "mean_reward": stochastic["mean_reward"],
            "std_reward": stochastic["std_reward"],
            "greedy_mean_reward": greedy["mean_reward"],
            "greedy_std_reward": greedy["std_reward"],
            "aloha_reference": aloha,
            "beats_aloha": {
                "stochastic": stochastic["mean_reward"] > aloha["mean_reward"],
                "greedy": greedy["mean_reward"] > aloha["mean_reward"],
            },
            "oracle_reference": oracle,
            "ratio_to_oracle": {
                m: r["mean_reward"] / oracle["mean_reward"]
                for m, r in (("stochastic", stochastic), ("greedy", greedy))
            },
            "final_sparsity": s.to_dict()["final_sparsity"],  # the target p_final, as asked
            "achieved_sparsity": dict(zip(self.agents, point["sparsity_per_user"])),
            "mean_achieved_sparsity": float(point["sparsity_prunable"]),
            "sparsity_all_params": float(point["sparsity_all"]),
            "pruning": pruning,
            "settings": s.to_dict(),
            "budget": {
                "iterations": s.iterations,
                "episodes_per_iteration": s.episodes_per_iteration,
                "training_episodes": s.iterations * s.episodes_per_iteration,
                "env_steps": s.iterations * s.episodes_per_iteration * self.horizon,
                "eval_interval": s.eval_interval,
                "eval_episodes": s.eval_episodes,
                **({"iterations_done": point["iterations_done"]} if early else {}),
            },
            **early,
            "evaluations": evaluations,
            "wall_time_s": wall,
            "sessions": sessions,
            "resumed_at": resumed_at,
            "checkpoint": str(out.latest_checkpoint(self.output)),
            **provenance_fields(),
        }

    def _stopped_early(self, iterations_done: int) -> Dict[str, Any]:
        """Where the stop rule ended the run: the point that met it and the last iteration."""
        met = self._stop_met
        return {
            "iterations_done": int(iterations_done),
            "met_at_iteration": int(met["iterations_done"]),
            "met_ratio": self.stop_rule.goal.ratio_of(
                met, self.references["oracle"]["mean_reward"]
            ),
        }
