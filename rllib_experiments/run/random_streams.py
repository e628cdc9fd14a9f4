"""Every random stream of a training run, to checkpoint and restore (exact resume).

This process's torch, numpy and Python generators, and each batched env runner's (its
simulator's episode generators and its torch generator of action draws, through the
runner's ``get_random_state`` / ``set_random_state``). Remote learners' streams are not
included (their runs continue statistically).
"""

from __future__ import annotations

import random
from typing import Any, Dict

import numpy as np


def algo_random_state(algo) -> Dict[str, Any]:
    """The random streams of ``algo``'s process and of its batched env runners."""
    # imports torch: only when called
    import torch

    runners = {}
    local = algo.env_runner
    if hasattr(local, "get_random_state"):
        runners[0] = local.get_random_state()
    if algo.env_runner_group.num_remote_env_runners():
        remote = algo.env_runner_group.foreach_env_runner(
            lambda er: (
                (er.worker_index, er.get_random_state())
                if hasattr(er, "get_random_state")
                else None
            ),
            local_env_runner=False,
        )
        runners.update(dict(r for r in remote if r is not None))
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        "env_runners": runners,
    }


def set_algo_random_state(algo, state: Dict[str, Any]) -> None:
    """Continue every stream from :func:`algo_random_state`'s ``state``."""
    # imports torch: only when called
    import torch

    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    runners = state["env_runners"]
    if 0 in runners and hasattr(algo.env_runner, "set_random_state"):
        algo.env_runner.set_random_state(runners[0])
    remote = {k: v for k, v in runners.items() if k != 0}
    if remote:
        algo.env_runner_group.foreach_env_runner(
            lambda er: er.set_random_state(remote[er.worker_index]), local_env_runner=False
        )
