"""RLlib callback that keeps the Learner's pruning in step with the training iteration.

The callback never touches weights itself (pruning outside ``Learner.update`` would not
reach the env runners, see docs/pruning.md). It tells every Learner the index i of the
next training iteration (``algorithm.iteration``: iterations completed so far) at
algorithm start, after every ``train()`` and after a checkpoint load; the Learner
(:class:`~pruning_callbacks.rllib.learner.PruningLearnerMixin`) computes each actor's
target p_i from its schedule and prunes inside its next update, so the normal post-update
weight sync ships the pruned actors to every env runner.

:func:`add_pruning` lives here, above pruning_config and learner in the import order
(schedules <- pruning_config <- learner <- callback), because it needs both the settings
and the callback.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Union

import ray
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE
from ray.rllib.utils.metrics import WEIGHTS_SEQ_NO

from pruning_callbacks.rllib.learner import PruningLearnerMixin
from pruning_callbacks.rllib.pruning_config import LEARNER_CONFIG_KEY, PruningConfig


def _results(remote_call_results) -> list:
    out = []
    for r in remote_call_results:
        if not r.ok:
            raise r.get()
        out.append(r.get())
    return out


def _is_pruning_learner(learner) -> bool:
    # a config whose schedules are all dense ("none") is valid: the learner then holds no masks
    return (
        isinstance(learner, PruningLearnerMixin)
        and getattr(learner, "_pruning_config", None) is not None
    )


def _masks_from_start(learner) -> bool:
    return learner.pruning_masks_from_start()


def push_iteration(algorithm) -> Dict[str, float]:
    """Tell every Learner the index of the next training iteration; returns its targets."""
    i = int(algorithm.iteration)
    targets = _results(
        algorithm.learner_group.foreach_learner(lambda learner: learner.set_pruning_iteration(i))
    )
    return targets[0] if targets else {}


def ship_weights(algorithm) -> None:
    """Give every env runner (training and evaluation) the Learner's actors now, and wait.

    RLlib's own ``EnvRunnerGroup.sync_weights`` is fire-and-forget for remote runners
    and drops a request when two are already in flight to that runner (its actor
    manager allows two per tag), which happens under load right after a checkpoint
    restore: the remote runner then samples with the weights it was built with until the
    next ``train()``. Here the state goes out as one blocking call per runner, queued
    behind any in-flight ones, with weight sequence number 0, which a runner never
    skips (``MultiAgentEnvRunner.set_state``).
    """
    groups = [
        g
        for g in (algorithm.env_runner_group, getattr(algorithm, "eval_env_runner_group", None))
        if g is not None
    ]
    if not groups:
        return
    state = algorithm.learner_group.get_state(
        components=f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}", inference_only=True
    )[COMPONENT_LEARNER]
    state = {COMPONENT_RL_MODULE: state[COMPONENT_RL_MODULE], WEIGHTS_SEQ_NO: 0}
    for group in groups:
        if group.local_env_runner is not None:
            group.local_env_runner.set_state(state)
        if group.num_remote_env_runners():
            ref = ray.put(state)
            group.foreach_env_runner(
                lambda runner: runner.set_state(ray.get(ref)), local_env_runner=False
            )


def finalize_pruning(algorithm) -> Dict[str, float]:
    """Prune every actor to exactly its final sparsity now and sync all env runners.

    Use it when training ends before ``PruningConfig.final_iteration`` (or when that is
    None). Returns the learner's actual sparsity by module id.
    """
    sparsity = _results(
        algorithm.learner_group.foreach_learner(lambda learner: learner.finalize_pruning())
    )
    ship_weights(algorithm)
    return sparsity[0] if sparsity else {}


class PruningCallback(RLlibCallback):
    """Use with ``config.callbacks(PruningCallback)`` (or :func:`add_pruning`).

    The learner class must include ``PruningLearnerMixin`` and the config must carry
    ``learner_config_dict["pruning"]``; otherwise the algorithm's start fails with an
    error saying so (instead of silently training dense actors).
    """

    def on_algorithm_init(self, *, algorithm, metrics_logger=None, **kwargs: Any) -> None:
        ok = _results(algorithm.learner_group.foreach_learner(_is_pruning_learner))
        if not ok or not all(ok):
            raise ValueError(
                "PruningCallback needs a learner class with PruningLearnerMixin (e.g. "
                "config.learners(learner_class=PrunedPPOTorchLearner)) and "
                "config.learners(learner_config_dict={'pruning': {...}}); "
                f"got learner class {algorithm.config.learner_class.__name__} and "
                f"learner_config_dict keys {sorted(algorithm.config.learner_config_dict or {})}"
            )
        push_iteration(algorithm)
        # sparse-from-scratch actors are masked at build: RLlib's set-up sync of the env
        # runners is fire-and-forget for remote ones, so make sure they sample sparse
        if any(_results(algorithm.learner_group.foreach_learner(_masks_from_start))):
            ship_weights(algorithm)

    def on_train_result(
        self, *, algorithm, metrics_logger=None, result=None, **kwargs: Any
    ) -> None:
        push_iteration(algorithm)

    def on_checkpoint_loaded(self, *, algorithm, **kwargs: Any) -> None:
        push_iteration(algorithm)
        # RLlib's post-restore sync may be dropped under load (see ship_weights)
        ship_weights(algorithm)


def add_pruning(algo_config: Any, pruning: Union[PruningConfig, Mapping[str, Any]]) -> Any:
    """Put ``pruning`` into ``algo_config.learner_config_dict`` and add the PruningCallback.

    ``pruning`` is a :class:`PruningConfig` or its dict form, validated here. It is
    stored as a plain dict, so Tune may replace it with a ``grid_search`` later. Existing
    callbacks are kept (the callbacks become a list). Returns ``algo_config``. The
    learner class is not changed: it must include ``PruningLearnerMixin``.
    """
    cfg = PruningConfig.from_dict(pruning)
    algo_config.learners(learner_config_dict={LEARNER_CONFIG_KEY: cfg.to_dict()})
    current = algo_config.callbacks_class
    current = list(current) if isinstance(current, (list, tuple)) else [current]
    current = [c for c in current if c is not RLlibCallback and c is not None]
    if not any(isinstance(c, type) and issubclass(c, PruningCallback) for c in current):
        current.append(PruningCallback)
    algo_config.callbacks(current if len(current) > 1 else current[0])
    return algo_config
