"""Env steps per second of the whole training loop: our IAGC configuration vs a naive one.

    python -m rllib_experiments benchmark [--setup A] [--episodes-per-iteration 16]
        [--iterations 3] [--warmup 1] [--num-epochs 4] [--learner-threads 1]
        [--only ours|naive] [--json]
    python -m rllib_experiments benchmark --scale [--sizes 10 20 50 100] [--learners 2]
        [--learner-threads 1] [--env-runners 0] [--bf16] [--iterations 3] [--warmup 1] [--json]

``--scale``: the `ours` loop at N users, one process vs the fastest configuration
(:mod:`rllib_experiments.studies.benchmarks.scale`). Otherwise:

Both run in one process, one after the other, on the same environment (setup A: 10 users,
5 channels, 100-slot episodes), with the same batch (``--episodes-per-iteration`` whole
episodes per training iteration) and the same number of passes over it (``--num-epochs``,
one minibatch per pass):

* ours: :func:`rllib_experiments.algorithm.build_algo_config` with the paper preset: the
  paper's actors (2x128 ReLU + LSTM 128) and shared critic, the batched env runner
  (``BatchedDSAEnvRunner``, one vectorised simulator for all episodes of an iteration)
  and the whole-episode learner connector; with ``--learner-threads T`` its learner runs
  the modules on T threads (the same result; wall time falls, CPU time does not).
* naive: RLlib's default PPO (new API stack) with one default LSTM module per user
  (``DefaultModelConfig(use_lstm=True, lstm_cell_size=128)``, each with its own value
  branch), the standard ``MultiAgentEnvRunner`` over the PettingZoo env, one env per
  env runner, no remote env runners.

Both algorithms are built, each runs ``--warmup`` untimed iterations, then their
``--iterations`` timed ``algo.train()`` calls alternate (ours, naive, ours, ...), so
both see the same machine load. Reported: env steps/s of wall time, env steps per CPU
second of this process (everything runs in it: no remote env runners, local learner;
robust to other jobs on a shared machine) and their ratios. Where the time goes is in
docs/iagc.md (cProfile of both phases). Set OMP_NUM_THREADS=1 on shared machines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, Optional, Sequence

from dsa_pettingzoo.config import SETUPS
from rllib_experiments.cli.args import int_at_least, key_value
from rllib_experiments.settings import CRITIC_MODES


def _naive_config(settings, info):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from rllib_experiments.dsa.env import DSAMultiAgentEnv
    from rllib_experiments.iagc.modules import policy_mapping_fn

    batch = settings.episodes_per_iteration * info["horizon"]
    model = DefaultModelConfig(use_lstm=True, lstm_cell_size=settings.lstm_size)
    return (
        PPOConfig()
        .environment(DSAMultiAgentEnv, env_config=settings.env_kwargs())
        .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
        .multi_agent(policies=list(info["agents"]), policy_mapping_fn=policy_mapping_fn)
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={
            aid: RLModuleSpec(model_config=model) for aid in info["agents"]}))
        .training(train_batch_size_per_learner=batch, minibatch_size=batch,
                  num_epochs=settings.num_epochs, lr=settings.actor_lr, gamma=settings.gamma)
        .debugging(seed=settings.seed)
    )


def measure(algo_configs: Dict[str, Any], iterations: int, warmup: int,
            progress: bool = True) -> Dict[str, Dict[str, Any]]:
    """Build every algorithm, warm each up, then time their iterations interleaved.

    Interleaving (ours, naive, ours, naive, ...) exposes both to the same machine load.
    Both wall time and the driver process's CPU time are recorded: with no remote env
    runners and a local learner all the work happens in this process, so env steps per
    CPU second are insensitive to other jobs on a shared machine.
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
                if progress:
                    print(f"  {name}: iteration {i + 1}/{iterations} wall {wall:.1f} s, "
                          f"cpu {cpu:.1f} s", file=sys.stderr, flush=True)
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments benchmark",
        description="Env steps/s of the full RLlib training loop: ours vs a naive configuration "
                    "(same environment, same batch), printed side by side with their ratio.")
    p.add_argument("--setup", choices=list(SETUPS), default="A", help="paper system setup (default A)")
    p.add_argument("--episodes-per-iteration", type=int_at_least(1), default=16,
                   help="whole episodes per training iteration, both configurations (default 16)")
    p.add_argument("--iterations", type=int_at_least(1), default=3, help="timed iterations each (default 3)")
    p.add_argument("--warmup", type=int_at_least(0), default=1, help="untimed iterations first (default 1)")
    p.add_argument("--num-epochs", type=int_at_least(1), default=None,
                   help="passes over each batch, both configurations (default: the preset's, 4)")
    p.add_argument("--critic", choices=list(CRITIC_MODES), default="paper",
                   help="our critic mode (default paper)")
    p.add_argument("--learner-threads", type=int_at_least(1), default=1,
                   help="threads of our one learner (learner_threads: the same result, the "
                   "modules' forward and backward split over threads): ours in the whole-loop "
                   "comparison, the fast configuration with --scale (there it needs --learners "
                   "0 or 1); default 1")
    p.add_argument("--only", choices=["ours", "naive"], default=None,
                   help="measure one configuration only (no ratio)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    scale = p.add_argument_group("--scale: the ours loop at N users, single process vs fast")
    scale.add_argument("--scale", action="store_true",
                       help="measure ours at each --sizes N (K = N/2), one process vs the fast "
                       "configuration, interleaved")
    scale.add_argument("--sizes", type=int_at_least(2), nargs="+", default=None, metavar="N",
                       help="numbers of users (even; default 10 20 50 100)")
    scale.add_argument("--learners", type=int_at_least(0), default=2,
                       help="learners of the fast configuration (default 2: data-parallel)")
    scale.add_argument("--env-runners", type=int_at_least(0), default=0,
                       help="remote env runners of the fast configuration (default 0)")
    scale.add_argument("--bf16", action="store_true",
                       help="bfloat16 autocast of the actors' training pass in the fast "
                       "configuration (not validated for training quality)")
    scale.add_argument("--set", dest="overrides", action="append", default=[], type=key_value,
                       metavar="FIELD=VALUE",
                       help="a Settings field for both configurations (repeatable; e.g. a "
                       "CI-sized run: --set hidden_sizes=[16] --set lstm_size=16)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.sizes is not None and any(n % 2 for n in args.sizes):
        parser.error(f"--sizes: every N must be even (K = N/2 channels), got {args.sizes}")
    if args.scale and args.learner_threads > 1 and args.learners > 1:
        parser.error(f"--learner-threads {args.learner_threads} needs one learner: give "
                     f"--learners 0 or 1, got --learners {args.learners}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import ray
    import torch

    from rllib_experiments.algorithm import build_algo_config, probe_env
    from rllib_experiments.settings import load_preset

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    overrides = dict(episodes_per_iteration=args.episodes_per_iteration, critic_mode=args.critic)
    if args.num_epochs is not None:
        overrides["num_epochs"] = args.num_epochs
    if args.scale:
        return _scale(args)
    settings = load_preset(f"paper_{args.setup}", **overrides)
    info = probe_env(settings)
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    out: Dict[str, Any] = {
        "setup": args.setup,
        "episodes_per_iteration": args.episodes_per_iteration,
        "env_steps_per_iteration": args.episodes_per_iteration * info["horizon"],
        "num_epochs": settings.num_epochs,
        "iterations": args.iterations,
        "warmup": args.warmup,
        "torch_threads": torch.get_num_threads(),
        "learner_threads": args.learner_threads,
    }
    configs = {}
    if args.only in (None, "ours"):
        configs["ours"] = build_algo_config(settings.replace(learner_threads=args.learner_threads))
    if args.only in (None, "naive"):
        configs["naive"] = _naive_config(settings, info)
    out.update(measure(configs, args.iterations, args.warmup))
    if "ours" in out and "naive" in out:
        out["ratio"] = out["ours"]["env_steps_per_s"] / out["naive"]["env_steps_per_s"]
        out["ratio_cpu"] = out["ours"]["env_steps_per_cpu_s"] / out["naive"]["env_steps_per_cpu_s"]
    if args.json:
        print(json.dumps(out))
    else:
        print(f"setup {args.setup}, {out['env_steps_per_iteration']} env steps per iteration, "
              f"{settings.num_epochs} epochs, {args.iterations} timed iterations "
              f"(after {args.warmup} warm-up), torch threads {out['torch_threads']}, "
              f"learner threads {out['learner_threads']}")
        for name in ("ours", "naive"):
            if name in out:
                r = out[name]
                print(f"{name:>6}: {r['env_steps_per_s']:8.1f} env steps/s wall, "
                      f"{r['env_steps_per_cpu_s']:8.1f} per CPU second "
                      f"({r['env_steps']} env steps in {r['wall_s']:.1f} s wall, "
                      f"{r['cpu_s']:.1f} s CPU)")
        if "ratio" in out:
            print(f" ratio: {out['ratio']:.1f}x wall, {out['ratio_cpu']:.1f}x CPU time "
                  "(target >= 10x)")
    return 0


def print_scale(out: Dict[str, Any]) -> None:
    """The rows of ``benchmark --scale``, one line per N."""
    print(f"ours at N users (K = N/2), setup {out['setup']}: single process vs {out['fast']}, "
          f"{out['iterations']} interleaved iterations each")
    for r in out["scale"]:
        print(f"  N={r['num_users']:4d}: {r['agent_steps_per_s']:9.0f} agent-steps/s "
              f"(single {r['agent_steps_per_s_single']:9.0f}), ratio {r['ratio']:.2f}, "
              f"peak {r['peak_rss_mb']:.0f} MB")



def _scale(args) -> int:
    import ray

    from rllib_experiments.studies.benchmarks.scale import DEFAULT_SIZES, run_scale  # torch and Ray

    if not ray.is_initialized():
        ray.init(num_cpus=max(2, args.learners + args.env_runners), include_dashboard=False,
                 log_to_driver=False)
    out = run_scale(args.sizes or DEFAULT_SIZES, setup=args.setup, iterations=args.iterations,
                    warmup=args.warmup, learners=args.learners,
                    learner_threads=args.learner_threads, env_runners=args.env_runners,
                    bf16=args.bf16, overrides=dict(args.overrides),
                    log=lambda line: print(line, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps({"scale": out["scale"]}))
    else:
        print_scale(out)
    return 0
