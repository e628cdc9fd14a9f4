"""Env steps per second of the whole training loop: our IAGC configuration vs a naive one.

    python -m rllib_experiments benchmark [--setup A] [--episodes-per-iteration 16]
        [--iterations 3] [--warmup 1] [--num-epochs 4] [--learner-threads 1]
        [--only ours|naive] [--json]

Both run in one process, one after the other, on the same environment (setup A: 10 users,
5 channels, 100-slot episodes), with the same batch (``episodes_per_iteration`` whole
episodes per training iteration) and the same number of passes over it (``num_epochs``,
one minibatch per pass):

* ours: :func:`rllib_experiments.algorithm.build_algo_config` with the paper preset: the
  paper's actors (2x128 ReLU + LSTM 128) and shared critic, the batched env runner
  (``BatchedDSAEnvRunner``, one vectorised simulator for all episodes of an iteration)
  and the whole-episode learner connector; with ``learner_threads`` T its learner runs
  the modules on T threads (the same result; wall time falls, CPU time does not).
* naive (:func:`naive_config`): RLlib's default PPO (new API stack) with one default LSTM
  module per user (``DefaultModelConfig(use_lstm=True, lstm_cell_size=128)``, each with
  its own value branch), the standard ``MultiAgentEnvRunner`` over the PettingZoo env, one
  env per env runner, no remote env runners.

Both algorithms are built, each runs ``warmup`` untimed iterations, then their
``iterations`` timed ``algo.train()`` calls alternate (ours, naive, ours, ...;
:func:`measure`), so both see the same machine load. Reported (:func:`run_loop`): env
steps/s of wall time, env steps per CPU second of this process (everything runs in it: no
remote env runners, local learner; robust to other jobs on a shared machine) and their
ratios. Where the time goes is in docs/iagc.md (cProfile of both phases).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, Optional

from rllib_experiments.algorithm import build_algo_config, probe_env
from rllib_experiments.settings import load_preset

# torch, Ray and the modules built on them are imported where a benchmark runs: the
# benchmark command's --help and flag checks load neither.


def limit_threads() -> int:
    """Torch's threads in this process: OMP_NUM_THREADS (set to 1 when unset); returns them."""
    # imports torch: only when called
    import torch

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    return torch.get_num_threads()


def naive_config(settings, info: Dict[str, Any]):
    """RLlib's default multi-agent PPO on the same environment and batch as ``settings``: one
    default LSTM module per user (``info``: :func:`rllib_experiments.algorithm.probe_env`)."""
    # imports ray: only when called
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    # imports ray, torch: only when called
    from rllib_experiments.dsa.env import DSAMultiAgentEnv
    from rllib_experiments.iagc.modules import policy_mapping_fn

    batch = settings.episodes_per_iteration * info["horizon"]
    model = DefaultModelConfig(use_lstm=True, lstm_cell_size=settings.lstm_size)
    return (
        PPOConfig()
        .environment(DSAMultiAgentEnv, env_config=settings.env_kwargs())
        .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
        .multi_agent(policies=list(info["agents"]), policy_mapping_fn=policy_mapping_fn)
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={aid: RLModuleSpec(model_config=model) for aid in info["agents"]}
            )
        )
        .training(
            train_batch_size_per_learner=batch,
            minibatch_size=batch,
            num_epochs=settings.num_epochs,
            lr=settings.actor_lr,
            gamma=settings.gamma,
        )
        .debugging(seed=settings.seed)
    )


def measure(
    algo_configs: Dict[str, Any],
    iterations: int,
    warmup: int,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, Dict[str, Any]]:
    """Build every algorithm, warm each up, then time their iterations interleaved.

    Interleaving (ours, naive, ours, naive, ...) exposes both to the same machine load.
    Both wall time and the driver process's CPU time are recorded: with no remote env
    runners and a local learner all the work happens in this process, so env steps per
    CPU second are insensitive to other jobs on a shared machine. ``log`` gets one line
    per timed iteration.
    """
    algos = {name: cfg.build_algo() for name, cfg in algo_configs.items()}
    stats = {name: dict(env_steps=0, wall_s=0.0, cpu_s=0.0) for name in algos}
    try:
        for algo in algos.values():
            for _ in range(warmup):
                algo.train()
        for i in range(iterations):
            for name, algo in algos.items():
                wall0, cpu0 = time.perf_counter(), time.process_time()
                result = algo.train()
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                st = stats[name]
                st["env_steps"] += int(result["env_runners"]["num_env_steps_sampled"])
                st["wall_s"] += wall
                st["cpu_s"] += cpu
                if log is not None:
                    log(
                        f"  {name}: iteration {i + 1}/{iterations} wall {wall:.1f} s, "
                        f"cpu {cpu:.1f} s"
                    )
    finally:
        for algo in algos.values():
            algo.stop()
    out = {}
    for name, st in stats.items():
        out[name] = {
            "env_steps": st["env_steps"],
            "wall_s": st["wall_s"],
            "cpu_s": st["cpu_s"],
            "env_steps_per_s": st["env_steps"] / st["wall_s"],
            "env_steps_per_cpu_s": st["env_steps"] / st["cpu_s"],
        }
    return out


def run_loop(
    *,
    setup: str = "A",
    episodes_per_iteration: int = 16,
    iterations: int = 3,
    warmup: int = 1,
    num_epochs: Optional[int] = None,
    critic_mode: str = "paper",
    learner_threads: int = 1,
    only: Optional[str] = None,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, Any]:
    """Measure ours and naive (or ``only`` one of them) on the paper preset of ``setup``;
    the measurements (:func:`measure`), how they were taken and, with both, the ratios
    ``ratio`` (wall) and ``ratio_cpu`` (CPU time) of ours to naive."""
    # imports ray: only when called
    import ray

    torch_threads = limit_threads()
    overrides = dict(episodes_per_iteration=episodes_per_iteration, critic_mode=critic_mode)
    if num_epochs is not None:
        overrides["num_epochs"] = num_epochs
    settings = load_preset(f"paper_{setup}", **overrides)
    info = probe_env(settings)
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    out: Dict[str, Any] = {
        "setup": setup,
        "episodes_per_iteration": episodes_per_iteration,
        "env_steps_per_iteration": episodes_per_iteration * info["horizon"],
        "num_epochs": settings.num_epochs,
        "iterations": iterations,
        "warmup": warmup,
        "torch_threads": torch_threads,
        "learner_threads": learner_threads,
    }
    configs = {}
    if only in (None, "ours"):
        configs["ours"] = build_algo_config(settings.replace(learner_threads=learner_threads))
    if only in (None, "naive"):
        configs["naive"] = naive_config(settings, info)
    out.update(measure(configs, iterations, warmup, log))
    if "ours" in out and "naive" in out:
        out["ratio"] = out["ours"]["env_steps_per_s"] / out["naive"]["env_steps_per_s"]
        out["ratio_cpu"] = out["ours"]["env_steps_per_cpu_s"] / out["naive"]["env_steps_per_cpu_s"]
    return out
