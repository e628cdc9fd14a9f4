"""Evaluate a snapshot of the actors in another process while training continues.

The worker runs a task the trainer names (``task(module_spec, weights, agents, env_kwargs,
episodes, eval_seed)``, a module-level function pickled by reference: the trainer passes
:func:`rllib_experiments.evaluation.evaluate_snapshot`), so this run-folder machinery needs
nothing of the experiment core above it.

The paper's evaluation (every ``eval_interval`` iterations, ``eval_episodes`` episodes,
stochastic and greedy) costs about as much as ten one-episode iterations' sampling, and it
only reads the actors' weights. :class:`BackgroundEvaluator` copies those weights at the
evaluation's iteration and hands them to one worker process (a fresh Python: no state of
the trainer is inherited), which rebuilds the actors and runs
:func:`rllib_experiments.evaluation.evaluate` on the same episodes and with the same torch
thread count as the trainer would. The numbers are therefore bit-identical to a
synchronous evaluation (tests/test_background_eval.py); only when they arrive differs,
and :class:`~rllib_experiments.training.TrainingRun` writes its progress rows in order
once they have.

One worker, started on the first evaluation (its start-up, about the import of torch and
RLlib, overlaps training too); it holds one core while it evaluates, so it pays on a
machine with a core to spare, and only costs memory (one more Python process) where every
core already trains.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import traceback
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

from rllib_experiments.run.framework_log import route_framework_logs


class BackgroundEvaluator:
    """One worker process evaluating weight snapshots (see module doc).

    The worker is ``python -m rllib_experiments.run.background``, fed pickled jobs on
    its standard input (not a multiprocessing pool: a ``spawn`` child re-imports the
    parent's ``__main__``, which a script without a main guard, or a Ray worker, does not
    survive). It exits when its input closes, so it never outlives the trainer.

    Args:
        env_kwargs, episodes, eval_seed: as :func:`rllib_experiments.evaluation.evaluate`.
        threads: torch threads of the worker (default: this process's, so that the
            kernels, and hence the numbers, are the ones a synchronous evaluation uses).
    """

    def __init__(
        self,
        task: Callable,
        env_kwargs: Dict[str, Any],
        *,
        episodes: int,
        eval_seed: int,
        threads: Optional[int] = None,
        log_dir: Optional[Path] = None,
    ):
        self.task = task
        self.log_dir = log_dir
        self.env_kwargs = dict(env_kwargs)
        self.episodes = int(episodes)
        self.eval_seed = int(eval_seed)
        self.threads = threads
        self._proc: Optional[subprocess.Popen] = None
        self._reader: Optional[threading.Thread] = None

    def _start(self) -> None:
        # imports torch: only when called
        import torch

        threads = int(self.threads or torch.get_num_threads())
        env = dict(
            os.environ,
            OMP_NUM_THREADS=str(threads),
            PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, str(threads), str(self.log_dir or "")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def submit(self, module_spec, weights: Dict[str, Dict], agents: Sequence[str]) -> Future:
        """Start evaluating a snapshot; the future gives ``(evaluation, sparsity)``.

        One job at a time: the trainer resolves each before it submits the next.
        """
        if self._reader is not None and self._reader.is_alive():
            raise RuntimeError("the background evaluator runs one evaluation at a time")
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        job = (
            self.task,
            module_spec,
            weights,
            list(agents),
            self.env_kwargs,
            self.episodes,
            self.eval_seed,
        )
        pickle.dump(job, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self._proc.stdin.flush()
        future: Future = Future()

        def read(stdout=self._proc.stdout):
            try:
                ok, value = pickle.load(stdout)
            except Exception as err:  # noqa: BLE001 - the worker died: say so in the future
                future.set_exception(RuntimeError(f"background evaluation worker failed: {err!r}"))
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(RuntimeError(f"background evaluation failed:\n{value}"))

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        return future

    def close(self) -> None:
        """Stop the worker (after the evaluation it is running, if any)."""
        if self._proc is not None:
            self._proc.stdin.close()
            self._proc.wait()
            self._proc = None


def _serve(threads: int, log_dir: Optional[Path]) -> None:
    """Worker loop: read a job, write ``(True, result)`` or ``(False, traceback)``, until EOF."""
    # imports torch: only when called
    import torch

    torch.set_num_threads(threads)
    route_framework_logs(log_dir)
    jobs, results = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed must not corrupt the results stream
    while True:
        try:
            job = pickle.load(jobs)
        except EOFError:
            return
        try:
            task, *arguments = job
            reply = (True, task(*arguments))
        except Exception:  # noqa: BLE001 - reported to the trainer
            reply = (False, traceback.format_exc())
        pickle.dump(reply, results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), Path(sys.argv[2]) if sys.argv[2:] and sys.argv[2] else None)
