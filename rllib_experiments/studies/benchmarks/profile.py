"""Where one training iteration's time goes, and how far it is from the arithmetic roof.

    python -m rllib_experiments benchmark --profile [--row ours] [--setup A] [--num-users N]
        [--iterations 5] [--warmup 2] [--set FIELD=VALUE] [--json]

The row's algorithm is built as ``train`` builds it; after ``warmup`` iterations, each of
``iterations`` timed ``algo.train()`` calls is split by timers wrapped around the two calls
RLlib's PPO training step makes (:func:`profile_iterations`):

* ``sampling``: the env runner's ``sample()`` (the batched simulator and the actors' steps);
* ``learner``: ``LearnerGroup.update()`` (the episode connector, GAE, every epoch's forward
  and backward, the optimizer steps and, for a pruned row, the pruning step);
* ``other``: the rest of ``train()`` (weight sync to the env runner, metrics, RLlib's
  bookkeeping).

``evaluation`` is one evaluation of the actors (greedy and sampled, ``eval_episodes``
episodes each), timed in this process; a run makes one every ``eval_interval`` iterations in
a background process, so per iteration it costs ``evaluation_s / eval_interval`` of the
other core.

The roof: :func:`network_flops` counts the multiply-adds of the modules' weight matrices
(2 FLOPs each per sample and slot; dense, as torch computes them even where a mask zeroes
a weight), and :func:`training_flops_per_env_step` the FLOPs one env step costs in an
iteration: the actors' forward when sampling, then for the critic's values and
``num_epochs`` passes of forward and backward (backward counted as twice the forward).
:func:`matmul_flops_per_s` measures the machine's float32 matrix-product rate at the
learner's shapes on this process's torch threads: ``roof_s`` is the iteration's FLOPs at
that rate (the learner's share on ``learner_threads`` cores at once), the time no
implementation on these cores can beat.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

import numpy as np

from rllib_experiments.methods import get_row
from rllib_experiments.run.provenance import machine, provenance_fields
from rllib_experiments.settings import Settings

# torch and Ray are imported where a measurement runs: --help and the flag checks load neither.

PARTS = ("sampling", "learner", "other")


def network_flops(weights: Dict[str, Any]) -> int:
    """Forward FLOPs of a module per sample and time step, from its weights (name -> array
    or tensor): 2 per entry of each weight matrix (each is used once per step)."""
    return int(sum(2 * int(np.prod(w.shape)) for w in weights.values() if len(w.shape) == 2))


def critic_sequences_per_step(settings: Settings, num_users: int) -> int:
    """Sequences the critic runs per env step: one per user in the paper's mode (eq. 9), one
    in the centralized and state modes."""
    return num_users if settings.critic_mode == "paper" else 1


def training_flops_per_env_step(
    actor_flops: int, critic_flops: int, num_users: int, critic_sequences: int, num_epochs: int
) -> Dict[str, int]:
    """FLOPs per env step of one training iteration, by phase (see the module doc)."""
    passes = 3 * num_epochs  # forward + backward (twice the forward) per epoch
    return {
        "sampling": num_users * actor_flops,
        "learner": num_users * actor_flops * passes
        + critic_sequences * critic_flops * (1 + passes),
    }


def matmul_flops_per_s(rows: int = 800, inner: int = 256, cols: int = 512, seconds: float = 1.0):
    """float32 FLOP/s of ``[rows, inner] @ [inner, cols]`` products on this process's torch
    threads (the best of three timed rounds of about ``seconds / 3`` each)."""
    # imports torch: only when called
    import torch

    a = torch.randn(rows, inner)
    b = torch.randn(inner, cols)
    flops = 2.0 * rows * inner * cols
    for _ in range(3):  # warm up
        torch.mm(a, b)
    best = 0.0
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 3:
            torch.mm(a, b)
            n += 1
        best = max(best, n * flops / (time.perf_counter() - t0))
    return best


def _timed(owner, name: str, totals: Dict[str, float], key: str) -> None:
    """Wrap ``owner.name`` so each call adds its wall time to ``totals[key]``."""
    inner = getattr(owner, name)

    def call(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - t0

    setattr(owner, name, call)


def profile_iterations(
    settings: Settings,
    row: str,
    *,
    iterations: int = 5,
    warmup: int = 2,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, Any]:
    """Per-iteration time by part, one evaluation's time, the FLOP counts and the roof."""
    # imports ray, torch: only when called
    import ray

    # imports ray, torch: only when called
    from rllib_experiments.evaluation import algo_actors, evaluate
    from rllib_experiments.iagc.modules import CRITIC_ID
    from rllib_experiments.studies.benchmarks.loop import limit_threads

    threads = limit_threads()
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    say = log or (lambda line: None)
    algo = get_row(row).build(settings).build_algo()
    try:
        runner = algo.env_runner_group.local_env_runner
        if runner is None or settings.num_env_runners:
            raise ValueError(
                "--profile times the sampling of the local env runner: give num_env_runners=0"
            )
        totals = {part: 0.0 for part in PARTS}
        _timed(runner, "sample", totals, "sampling")
        _timed(algo.learner_group, "update", totals, "learner")
        for i in range(warmup):
            algo.train()
            say(f"warm-up iteration {i + 1}/{warmup}")
        totals.update({part: 0.0 for part in PARTS})
        env_steps, wall = 0, 0.0
        for i in range(iterations):
            t0 = time.perf_counter()
            result = algo.train()
            wall += time.perf_counter() - t0
            env_steps += int(result["env_runners"]["num_env_steps_sampled"])
            say(f"timed iteration {i + 1}/{iterations}: {time.perf_counter() - t0:.2f} s")
        totals["other"] = wall - totals["sampling"] - totals["learner"]
        actors = algo_actors(algo)
        t0 = time.perf_counter()
        evaluate(actors, settings.env_kwargs(), episodes=settings.eval_episodes)
        evaluation_s = time.perf_counter() - t0
        weights = algo.learner_group.get_weights()
    finally:
        algo.stop()
    num_users = len(actors)
    actor_flops = network_flops({k: v for k, v in actors[0].state_dict().items()})
    critic_flops = network_flops(weights[CRITIC_ID]) if CRITIC_ID in weights else 0
    per_step = training_flops_per_env_step(
        actor_flops,
        critic_flops,
        num_users,
        critic_sequences_per_step(settings, num_users),
        settings.num_epochs,
    )
    steps_per_iteration = env_steps / iterations
    rate = matmul_flops_per_s()
    per_iteration = {part: totals[part] / iterations for part in PARTS}
    per_iteration["total"] = wall / iterations
    flops_iteration = {k: v * steps_per_iteration for k, v in per_step.items()}
    return {
        "row": row,
        "setup": settings.setup,
        "num_users": num_users,
        "episodes_per_iteration": settings.episodes_per_iteration,
        "env_steps_per_iteration": steps_per_iteration,
        "num_epochs": settings.num_epochs,
        "iterations": iterations,
        "warmup": warmup,
        "torch_threads": threads,
        "learner_threads": settings.learner_threads,
        "per_iteration_s": per_iteration,
        "evaluation_s": evaluation_s,
        "eval_interval": settings.eval_interval,
        "evaluation_s_per_iteration": evaluation_s / settings.eval_interval,
        "flops": {
            "actor_per_agent_step": actor_flops,
            "critic_per_sequence_step": critic_flops,
            "per_env_step": per_step,
            "per_iteration": flops_iteration,
        },
        "matmul_flops_per_s": rate,
        "achieved_flops_per_s": {
            part: flops_iteration[part] / per_iteration[part]
            for part in ("sampling", "learner")
            if per_iteration[part] > 0
        },
        "roof_s_per_iteration": flops_iteration["sampling"] / rate
        + flops_iteration["learner"] / (rate * settings.learner_threads),
        "machine": machine(),
        **provenance_fields(),
    }


def report(out: Dict[str, Any]) -> str:
    """The profile as text."""
    it = out["per_iteration_s"]
    total = it["total"]
    lines = [
        f"profile of {out['row']}, setup {out['setup']}, N = {out['num_users']}: "
        f"{out['episodes_per_iteration']} episodes ({out['env_steps_per_iteration']:.0f} env "
        f"steps) per iteration, {out['num_epochs']} epochs, mean of {out['iterations']} "
        f"iterations after {out['warmup']} warm-up, torch threads {out['torch_threads']}, "
        f"learner threads {out['learner_threads']}",
        f"  iteration        {total:7.3f} s",
    ]
    for part in PARTS:
        lines.append(f"    {part:<13}  {it[part]:7.3f} s  {it[part] / total:6.1%}")
    lines.append(
        f"  evaluation       {out['evaluation_s']:7.3f} s once, every {out['eval_interval']} "
        f"iterations: {out['evaluation_s_per_iteration']:.3f} s per iteration (other core)"
    )
    f = out["flops"]
    lines.append(
        f"  FLOPs: actor {f['actor_per_agent_step']:,} per agent-step, critic "
        f"{f['critic_per_sequence_step']:,} per sequence-step; per iteration sampling "
        f"{f['per_iteration']['sampling'] / 1e9:.2f} G, learner "
        f"{f['per_iteration']['learner'] / 1e9:.2f} G"
    )
    achieved = ", ".join(
        f"{part} {v / 1e9:.1f} GFLOP/s" for part, v in out["achieved_flops_per_s"].items()
    )
    lines.append(
        f"  machine: float32 matrix products {out['matmul_flops_per_s'] / 1e9:.1f} GFLOP/s; "
        f"achieved: {achieved}"
    )
    lines.append(
        f"  roof: {out['roof_s_per_iteration']:.3f} s per iteration at that rate; measured "
        f"{total:.3f} s = {total / out['roof_s_per_iteration']:.1f}x the roof"
    )
    return "\n".join(lines)
