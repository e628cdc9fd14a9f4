"""Evaluate a snapshot of the actors in another process while training continues.

The paper's evaluation (every ``eval_interval`` iterations, ``eval_episodes`` episodes,
stochastic and greedy) costs about as much as ten one-episode iterations' sampling, and it
only reads the actors' weights. :class:`BackgroundEvaluator` copies those weights at the
evaluation's iteration and hands them to one worker process (``spawn``: no state of the
trainer is inherited), which rebuilds the actors and runs
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

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Dict, Optional, Sequence, Tuple


def _init_worker(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


def evaluate_snapshot(module_spec, weights: Dict[str, Dict], agents: Sequence[str],
                      env_kwargs: Dict[str, Any], episodes: int,
                      eval_seed: int) -> Tuple[Dict[str, Dict], Dict[str, Any]]:
    """(evaluation, sparsity) of actors rebuilt from ``weights``: what the trainer would compute."""
    from rllib_experiments.evaluation import actor_sparsity, actors_from_weights, evaluate

    actors = actors_from_weights(module_spec, weights, agents)
    return (evaluate(actors, env_kwargs, episodes=episodes, eval_seed=eval_seed),
            actor_sparsity(actors))


class BackgroundEvaluator:
    """One worker process evaluating weight snapshots (see module doc).

    Args:
        env_kwargs, episodes, eval_seed: as :func:`rllib_experiments.evaluation.evaluate`.
        threads: torch threads of the worker (default: this process's, so that the
            kernels, and hence the numbers, are the ones a synchronous evaluation uses).
    """

    def __init__(self, env_kwargs: Dict[str, Any], *, episodes: int, eval_seed: int,
                 threads: Optional[int] = None):
        self.env_kwargs = dict(env_kwargs)
        self.episodes = int(episodes)
        self.eval_seed = int(eval_seed)
        self.threads = threads
        self._pool: Optional[ProcessPoolExecutor] = None

    def submit(self, module_spec, weights: Dict[str, Dict], agents: Sequence[str]) -> Future:
        """Start evaluating a snapshot; the future gives ``(evaluation, sparsity)``."""
        if self._pool is None:
            import torch

            threads = int(self.threads or torch.get_num_threads())
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(threads,))
        return self._pool.submit(evaluate_snapshot, module_spec, weights, list(agents),
                                 self.env_kwargs, self.episodes, self.eval_seed)

    def close(self) -> None:
        """Stop the worker (pending evaluations are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
