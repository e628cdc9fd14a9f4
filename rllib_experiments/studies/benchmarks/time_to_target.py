"""Time to a good policy: wall seconds and env steps until the learned users first reach a
fraction of the oracle's reward.

    python -m rllib_experiments benchmark --time-to-target [--row ours] [--setup A]
        [--num-users N] [--seeds 0 1 2 3 4] [--goal 0.95] [--eval-every 5]
        [--stop [final_sparsity|any_sparsity]]
        [--set FIELD=VALUE ...] [--json]

Each seed trains the configuration from scratch with :class:`rllib_experiments.training.TrainingRun`,
evaluating the greedy actors every ``eval_every`` iterations on the standard evaluation
episodes, in a background process on a copy of the weights (so an evaluation is off the
training's critical path, and shares the machine with it: its cost is in the wall time).

Per seed, for two goals (:class:`rllib_experiments.run.stop_rule.Goal`):

* ``any_sparsity``: the greedy reward >= ``goal`` x the oracle's on the same episodes;
* ``final_sparsity``: the same with every actor at its final sparsity (the actors a user
  would deploy; for a dense row the two are one);

it reports the first evaluation point that meets the goal: ``wall_s`` (seconds from the
start of the run, building the algorithm included, to the end of the iteration whose
weights met it), ``known_s`` (when that evaluation had come in), ``env_steps`` and
``iterations``, and ``stays``: whether every later evaluation met it too (None when the run
stopped there: ``stop``, one of the two goals, ends each run at its goal). A goal not met is ``reached: false`` with no time: never a time
of a run that did not get there. Over the seeds: the median, with a seed that did not reach
the goal counted as slower than every one that did (so the median is "not reached" when
half the seeds or more miss it).
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from dsa_pettingzoo.config import scale_size
from rllib_experiments.methods import get_row
from rllib_experiments.run.provenance import machine, provenance_fields
from rllib_experiments.run.stop_rule import Goal, StopRule
from rllib_experiments.settings import Settings, load_preset

# torch and Ray are imported where a run starts: the benchmark command's --help and flag
# checks load neither.

#: The two goals of a seed's row, by key.
GOAL_KINDS = ("any_sparsity", "final_sparsity")


def goals(ratio: float) -> Dict[str, Goal]:
    """The goals of :data:`GOAL_KINDS` at ``ratio`` of the oracle."""
    return {
        "any_sparsity": Goal(ratio, at_final_sparsity=False),
        "final_sparsity": Goal(ratio, at_final_sparsity=True),
    }


def benchmark_settings(
    row: str,
    setup: str = "A",
    num_users: Optional[int] = None,
    overrides: Optional[Dict[str, Any]] = None,
    preset: Optional[str] = None,
) -> Settings:
    """The row's settings on ``preset`` (default the paper preset of ``setup``), with N =
    ``num_users`` users and K = N/2 channels when given, then ``overrides`` (``env``: merged
    into the preset's); validated."""
    base = load_preset(preset or f"paper_{setup}", setup=setup).to_dict()
    if num_users is not None:
        base["env"] = {**base["env"], **scale_size(num_users)}
    settings = get_row(row).settings(Settings.from_dict(base).validate()).to_dict()
    overrides = dict(overrides or {})
    if "env" in overrides:
        overrides["env"] = {**settings["env"], **overrides["env"]}
    return Settings.from_dict({**settings, **overrides}).validate()


def describe_machine(m: Dict[str, Any]) -> str:
    return (
        f"{m['cpu']}, {m['cores_usable']} usable cores of {m['cores_machine']}, "
        f"torch threads {m['torch_threads']}, GPU {m['gpu'] or 'none'}"
    )


def first_reached(
    points: Sequence[Dict[str, Any]],
    goal: Goal,
    oracle_mean: float,
    final_sparsity,
    *,
    setup_s: float,
    env_steps_per_iteration: int,
    known_at: Optional[Dict[int, float]] = None,
    stopped: bool = False,
) -> Dict[str, Any]:
    """When ``goal`` was first met on a run's curve (``points``: the run's evaluation points in
    order; see the module doc for the keys)."""
    for k, point in enumerate(points):
        if goal.reached(point, oracle_mean, final_sparsity):
            later = points[k + 1 :]
            n = int(point["iterations_done"])
            known = (known_at or {}).get(n)
            return {
                "reached": True,
                "iterations": n,
                "env_steps": n * env_steps_per_iteration,
                "wall_s": setup_s + float(point["wall_s"]),
                "known_s": None if known is None else setup_s + known,
                "ratio": goal.ratio_of(point, oracle_mean),
                "sparsity": float(point["sparsity_prunable"]),
                "stays": (
                    None
                    if stopped and not later
                    else all(goal.reached(p, oracle_mean, final_sparsity) for p in later)
                ),
            }
    return {"reached": False}


def median_time(rows: Sequence[Dict[str, Any]], key: str) -> Optional[float]:
    """Median of ``key`` over the seeds' rows of one goal, a seed that did not reach it counted
    as slower than all that did; None ("not reached") when that median is such a seed."""
    if not rows:
        return None
    values = [float(r[key]) if r["reached"] else math.inf for r in rows]
    m = statistics.median(values)
    return None if math.isinf(m) else m


def summarize(seeds: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Per goal: the medians over the seeds and how many reached it."""
    out = {}
    for kind in GOAL_KINDS:
        rows = [s[kind] for s in seeds]
        out[kind] = {
            "reached": sum(r["reached"] for r in rows),
            "seeds": len(rows),
            "median_wall_s": median_time(rows, "wall_s"),
            "median_env_steps": median_time(rows, "env_steps"),
            "median_iterations": median_time(rows, "iterations"),
        }
    return out


def run_seed(
    settings: Settings,
    row: str,
    output: Path,
    *,
    ratio: float,
    stop: Optional[str],
    patience: int,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, Any]:
    """Train one seed from scratch in ``output`` and read its times (one row of the result);
    ``stop``: None, or the goal of :data:`GOAL_KINDS` that ends the run."""
    # imports ray, torch: only when called
    from rllib_experiments.training import TrainingRun

    if stop is not None and stop not in GOAL_KINDS:
        raise ValueError(f"stop must be None or one of {list(GOAL_KINDS)}, got {stop!r}")
    rule = StopRule(goals(ratio)[stop], patience) if stop else None
    known_at: Dict[int, float] = {}
    run = TrainingRun(
        settings,
        output,
        build=get_row(row).build,
        tensorboard=False,
        log=log,
        run_info={"row": row},
        stop_rule=rule,
    )

    def arrived(point: Dict[str, Any]) -> None:
        known_at[int(point["iterations_done"])] = time.time() - run.loop_started_at

    t0 = time.time()
    result = run.run(on_evaluation=arrived)
    total_s = time.time() - t0
    setup_s = run.loop_started_at - t0
    oracle = result["oracle_reference"]["mean_reward"]
    target = run.target_sparsity()
    steps = result["budget"]["env_steps"] // result["budget"]["iterations"]
    stopped = bool(result.get("stopped_early"))
    seed_row = {
        "seed": settings.seed,
        "setup_s": setup_s,
        "total_wall_s": total_s,
        "iterations_done": result["budget"].get("iterations_done", settings.iterations),
        "final_greedy_ratio": result["ratio_to_oracle"]["greedy"],
        "final_sparsity": result["mean_achieved_sparsity"],
        "oracle_mean": oracle,
        "stopped_early": result.get("stopped_early"),
    }
    for kind, goal in goals(ratio).items():
        seed_row[kind] = first_reached(
            result["evaluations"],
            goal,
            oracle,
            target,
            setup_s=setup_s,
            env_steps_per_iteration=steps,
            known_at=known_at,
            stopped=stopped,
        )
    return seed_row


def run_time_to_target(
    settings: Settings,
    row: str,
    seeds: Sequence[int],
    *,
    ratio: float = 0.95,
    stop: Optional[str] = None,
    patience: int = 1,
    output: Optional[Path] = None,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, Any]:
    """Time to ``ratio`` x the oracle for each seed of ``settings`` (see the module doc); the
    runs go to ``output``/seed<S> (kept) or a temporary folder (removed)."""
    # imports ray: only when called
    import ray

    # imports torch: only when called
    from rllib_experiments.studies.benchmarks.loop import limit_threads

    limit_threads()
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    say = log or (lambda line: None)
    rows: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dsa_ttt_") as tmp:
        root = Path(output) if output is not None else Path(tmp)
        for seed in seeds:
            say(f"seed {seed}: training {row} ({settings.iterations} iterations at most)")
            r = run_seed(
                settings.replace(seed=int(seed)),
                row,
                root / f"seed{seed}",
                ratio=ratio,
                stop=stop,
                patience=patience,
                log=None,
            )
            rows.append(r)
            say(seed_line(r, ratio))
    return {
        "row": row,
        "setup": settings.setup,
        "num_users": settings.env_kwargs().get("num_users"),
        "goal_ratio": ratio,
        "stop": stop,
        "patience": patience if stop else None,
        "eval_interval": settings.eval_interval,
        "settings": settings.to_dict(),
        "machine": machine(),
        "seeds": rows,
        "median": summarize(rows),
        **provenance_fields(),
    }


def _fmt(r: Dict[str, Any]) -> str:
    if not r["reached"]:
        return "not reached"
    stays = {True: "stays", False: "drops later", None: "stopped there"}[r["stays"]]
    return (
        f"{r['wall_s']:7.1f} s, {r['env_steps']:>9,} env steps, iteration {r['iterations']}"
        f" ({r['ratio']:.3f}, sparsity {r['sparsity']:.3f}; {stays})"
    )


def seed_line(r: Dict[str, Any], ratio: float) -> str:
    """One seed's times, one line per goal."""
    return (
        f"seed {r['seed']}: {ratio:g} x oracle at any sparsity: {_fmt(r['any_sparsity'])}; "
        f"at the final sparsity: {_fmt(r['final_sparsity'])}; whole run {r['total_wall_s']:.1f} s, "
        f"final {r['final_greedy_ratio']:.3f} x oracle"
    )


def report(out: Dict[str, Any]) -> str:
    """The result as text: the machine, each seed, the medians."""
    lines = [
        f"time to {out['goal_ratio']:g} x oracle: row {out['row']}, setup {out['setup']}, "
        f"N = {out['num_users']}, evaluation every {out['eval_interval']} iterations"
        + (
            f", each run stopped at the goal {out['stop']} (patience {out['patience']})"
            if out["stop"]
            else ""
        ),
        f"machine: {describe_machine(out['machine'])}",
    ]
    lines += ["  " + seed_line(r, out["goal_ratio"]) for r in out["seeds"]]
    for kind in GOAL_KINDS:
        m = out["median"][kind]
        when = (
            "not reached"
            if m["median_wall_s"] is None
            else f"{m['median_wall_s']:.1f} s, {m['median_env_steps']:,.0f} env steps"
        )
        lines.append(
            f"median over {m['seeds']} seeds, {kind.replace('_', ' ')}: {when} "
            f"({m['reached']} of {m['seeds']} seeds reached it)"
        )
    return "\n".join(lines)
