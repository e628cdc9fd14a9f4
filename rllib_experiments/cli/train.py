"""Train IAGC-PPO (one LSTM actor per user, one shared critic) with optional actor pruning.

Examples::

    python -m rllib_experiments train                      # short demo, compared with slotted ALOHA
    python -m rllib_experiments train --setup A --schedule harmonic --final-sparsity 0.95 \\
        --seed 0 --output runs/A_harmonic_s0               # the paper's budget (preset paper_A)
    python -m rllib_experiments train --output runs/A_harmonic_s0 --resume   # after an interruption
    python -m rllib_experiments train --preset tiny --env num_users=3 --env pu_prob=0.2 --output runs/t

Writes progress.csv, TensorBoard logs, checkpoints and result.json into the output folder
(see :mod:`rllib_experiments.run.outputs`). Docs: docs/training.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from pruning_callbacks.schedules import SCHEDULES
from rllib_experiments.cli.args import (
    add_settings_flags,
    check_device_here,
    int_at_least,
    key_value,
    number_in,
    set_overrides,
    validated_settings,
)
from rllib_experiments.evaluation import EVAL_SEED
from rllib_experiments.methods import ROWS, get_row
from rllib_experiments.run import outputs as out
from rllib_experiments.run.framework_log import LOG_FILE, RAY_INIT_KWARGS, route_framework_logs
from rllib_experiments.run.outputs import has_results
from rllib_experiments.run.stop_rule import Goal, StopRule
from rllib_experiments.run.ray_address import (
    CONNECT_TIMEOUT_S,
    RayAddressError,
    check_ray_address,
    given_address,
)
from rllib_experiments.settings import CRITIC_MODES, LEARNER_DEVICES, Settings, load_preset
from rllib_experiments.studies.common.trials import trial_name
from rllib_experiments.training import (
    DEFAULT_CHECKPOINT_EVERY,
    TrainingRun,
    TrainingStopped,
    achieved_sparsity,
)

DEMO_ROW = "ours"
"""Table I row of the no-flag demo: the 95%-sparse configuration (a few minutes on 2 cores)."""

#: Settings field -> the CLI flag that sets it (for error messages and --resume checks); a
#: field without one is set, and named in errors, as ``--set FIELD``.
FLAG_OF = {
    "setup": "--setup",
    "schedule": "--schedule",
    "final_sparsity": "--final-sparsity",
    "seed": "--seed",
    "iterations": "--iterations",
    "episodes_per_iteration": "--episodes-per-iteration",
    "critic_mode": "--critic",
    "num_env_runners": "--num-env-runners",
    "eval_interval": "--eval-every",
    "learner_device": "--device",
    "eval_episodes": "--eval-episodes",
    "env": "--env",
    "schedule_params": "--schedule-param",
}


def learning_rows() -> List[str]:
    """Keys of the rows of Table I that train (``--row`` choices)."""
    return [k for k, r in ROWS.items() if r.kind == "learning"]


def learning_row(text: str) -> str:
    """argparse type of ``--row``: a learning row's key or a variant of one."""
    try:
        row = get_row(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if row.kind != "learning":
        raise argparse.ArgumentTypeError(
            f"row {text!r} does not train; allowed: {learning_rows()} or a variant BASE+MOD..."
        )
    return text


def build_parser(prog: str = "python -m rllib_experiments train") -> argparse.ArgumentParser:
    """The argument parser (every flag documented in --help)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Train IAGC-PPO on the DSA environment (one recurrent actor per user, one "
        "shared critic on the learner) with optional magnitude pruning of the actors. With no "
        f"flags: the demo, row {DEMO_ROW!r} of Table I (95%-sparse actors, setup A, a few "
        "minutes), compared with slotted ALOHA and the oracle. Rewards are in "
        "the paper's unit (episode sum of the system throughput).",
        epilog="Stopping: SIGTERM (or Ctrl-C, SIGINT) stops the run at the end of the current "
        "iteration, writes a checkpoint of it, prints the --resume command and exits with "
        "status 128 + the signal (143 for SIGTERM, 130 for SIGINT); --resume then continues "
        "it exactly. A second signal stops at once. Exit status 2: a bad flag or input.",
    )
    add_settings_flags(p)
    p.add_argument(
        "--schedule",
        choices=sorted(SCHEDULES),
        default=None,
        help="sparsity schedule of the actors' pruning, none = dense (default: the preset's, none)",
    )
    p.add_argument(
        "--final-sparsity",
        type=float,
        nargs="+",
        default=None,
        metavar="P",
        help="final sparsity p_final in [0, 1): one value, or one per user (default: the "
        "preset's, 0.95)",
    )
    p.add_argument(
        "--seed",
        type=int_at_least(0),
        default=None,
        help="training seed (default: the preset's, 0)",
    )
    p.add_argument(
        "--output",
        default=None,
        help="output folder (default runs/<setup>_<schedule>_p<p>_<critic>_seed<seed>, "
        "runs/demo-N for the demo)",
    )
    p.add_argument(
        "--critic",
        choices=list(CRITIC_MODES),
        default=None,
        help="critic input: paper = each user's own history (eq. 9); centralized = all "
        "users' observations (default: the preset's, paper)",
    )
    p.add_argument(
        "--device",
        choices=list(LEARNER_DEVICES),
        default=None,
        help="where the learner trains the modules: cpu, or cuda (one GPU; sampling and "
        "evaluation stay on the CPU; default: the preset's, cpu)",
    )
    p.add_argument(
        "--eval-seed",
        type=int_at_least(0),
        default=None,
        help="seed of the evaluation episodes, shared with the ALOHA reference "
        f"(default {EVAL_SEED}, the seed every command evaluates on)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int_at_least(1),
        default=None,
        help="iterations between checkpoints; one is always taken at the end (default 50)",
    )
    p.add_argument(
        "--row",
        type=learning_row,
        default=None,
        metavar="ROW",
        help="start from the settings of a row of Table I (rllib_experiments.methods) "
        f"applied to the preset, and train with the row's algorithm: one of "
        f"{', '.join(learning_rows())}, or a variant BASE+MOD... such as "
        "harmonic+head_dense (rllib_experiments.methods.variants); default: none (the "
        f"preset as it is), {DEMO_ROW} when no flag is given",
    )
    p.add_argument(
        "--schedule-param",
        type=key_value,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of the sparsity schedule, repeatable, e.g. --schedule-param "
        "period=60 --schedule-param amplitude=0.05 for harmonic (all of a schedule's "
        "parameters: python -m pruning_callbacks schedules --help)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in --output from its last checkpoint "
        "(its saved settings are used)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start again in an --output that holds results; the old folder is renamed "
        "to <output>.old-<time>, never deleted",
    )
    p.add_argument(
        "--address",
        default=None,
        help="Ray cluster address: auto, HOST:PORT or ray://HOST:PORT (default: RAY_ADDRESS, "
        "as set by `ray job submit`, else a local Ray instance); one that does not accept a "
        f"connection within {CONNECT_TIMEOUT_S:g} s is an error before anything is written",
    )
    p.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard logs")
    p.add_argument(
        "--sync-eval",
        action="store_true",
        help="evaluate in this process, pausing training (default: in a background "
        "process on a copy of the weights while training continues; the same numbers)",
    )
    p.add_argument(
        "--stop-at-ratio",
        type=number_in(0.01, 2.0),
        default=None,
        metavar="R",
        help="end the run early once the greedy evaluation reaches R x the oracle's reward "
        "with the actors at their final sparsity (a pruned run), at --patience evaluations "
        "in a row; result.json says where it stopped (default: train every iteration)",
    )
    p.add_argument(
        "--patience",
        type=int_at_least(1),
        default=None,
        metavar="P",
        help="evaluations in a row that must meet --stop-at-ratio (default 1; evaluations "
        "come every --eval-every iterations)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line per iteration")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="also show Ray's and RLlib's own messages here (always kept in OUTPUT/framework.log)",
    )
    return p


# ---------------------------------------------------------------------- settings from flags
def explicit_overrides(args, parser) -> Dict[str, Any]:
    """Settings fields the user set with flags (not the preset's values)."""
    o: Dict[str, Any] = {}
    for field, value in (
        ("setup", args.setup),
        ("schedule", args.schedule),
        ("seed", args.seed),
        ("iterations", args.iterations),
        ("episodes_per_iteration", args.episodes_per_iteration),
        ("critic_mode", args.critic),
        ("num_env_runners", args.num_env_runners),
        ("eval_interval", args.eval_every),
        ("eval_episodes", args.eval_episodes),
        ("learner_device", args.device),
    ):
        if value is not None:
            o[field] = value
    if args.final_sparsity is not None:
        fs = args.final_sparsity
        o["final_sparsity"] = fs[0] if len(fs) == 1 else list(fs)
    o.update(set_overrides(args.set, parser, FLAG_OF))
    if args.env:
        o["env"] = dict(args.env)
    if args.schedule_param:
        o["schedule_params"] = dict(args.schedule_param)
    return o


def settings_from_args(
    args, parser, row: Optional[str] = None, base: Optional[Dict] = None
) -> Settings:
    """Validated Settings from the preset (or ``base``), the row and the flags; errors name the flag.

    Order: the preset (paper_<setup> by default), then the row's settings function
    (``--row``), then every flag the user gave.
    """
    overrides = explicit_overrides(args, parser)
    if base is None:
        name = args.preset or f"paper_{args.setup or 'A'}"
        try:
            preset = load_preset(name, **({"setup": args.setup} if args.setup else {}))
        except ValueError as err:
            parser.error(f"argument --preset: {err}")
        if row is not None:
            try:
                preset = get_row(row).settings(preset)
            except ValueError as err:  # e.g. a variant asking for more than its scope can prune
                parser.error(f"argument --row: {err}")
        base = preset.to_dict()
    base = Settings.from_dict(base).to_dict()  # settings saved by older versions, read as today's
    d = {
        **base,
        **overrides,
        "env": {**base.get("env", {}), **overrides.get("env", {})},
        "schedule_params": {
            **base.get("schedule_params", {}),
            **overrides.get("schedule_params", {}),
        },
    }
    settings = validated_settings(d, parser, FLAG_OF)
    check_device_here(parser, FLAG_OF["learner_device"], settings.learner_device)
    return settings


def default_output(settings: Settings, demo: bool) -> Path:
    """runs/<name>; for the demo the first runs/demo-N that holds no results."""
    if not demo:
        return Path("runs") / f"{settings.setup}_{trial_name(settings)}"
    n = 1
    while has_results(Path("runs") / f"demo-{n}"):
        n += 1
    return Path("runs") / f"demo-{n}"


def resolve(argv: Optional[List[str]] = None):
    """Parse and check everything that can fail before Ray starts; returns (args, settings, options)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    demo = len(argv) == 0
    if args.resume and args.overwrite:
        parser.error("argument --overwrite: not allowed with --resume")
    try:  # before any folder is made: a wrong address must not leave an empty one
        check_ray_address(args.address)
    except RayAddressError as err:
        parser.error(f"argument --address: {err}" if err.source == "--address" else str(err))
    if args.patience is not None and args.stop_at_ratio is None:
        parser.error("argument --patience: needs --stop-at-ratio")
    options = {
        "checkpoint_every": args.checkpoint_every or DEFAULT_CHECKPOINT_EVERY,
        "eval_seed": EVAL_SEED if args.eval_seed is None else args.eval_seed,
    }
    if args.stop_at_ratio is not None:  # only then: a run without one records none
        options["stop_rule"] = StopRule(
            Goal(args.stop_at_ratio, at_final_sparsity=True), args.patience or 1
        )
    if args.resume:
        if args.output is None:
            parser.error("argument --resume: needs --output, the folder of the run to continue")
        run_file = Path(args.output) / out.RUN_FILE
        if not run_file.is_file():
            parser.error(
                f"argument --resume: {args.output!r} holds no run ({out.RUN_FILE} missing)"
            )
        saved = json.loads(run_file.read_text())
        if args.preset is not None:
            parser.error(
                "argument --preset: not allowed with --resume (the run's saved settings are used)"
            )
        if args.row is not None:
            parser.error(
                "argument --row: not allowed with --resume (the run's saved settings are used)"
            )
        settings = settings_from_args(args, parser, base=saved["settings"])
        started = Settings.from_dict(saved["settings"]).to_dict()
        changed = {
            k: (started.get(k), v) for k, v in settings.to_dict().items() if started.get(k) != v
        }
        for key, flag in (
            ("checkpoint_every", args.checkpoint_every),
            ("eval_seed", args.eval_seed),
        ):
            if flag is not None and flag != saved[key]:
                changed[key] = (saved[key], flag)
        saved_rule = StopRule.from_dict(saved.get("stop_rule"))
        if "stop_rule" in options and options["stop_rule"] != saved_rule:
            changed["stop_at_ratio"] = (
                None if saved_rule is None else saved_rule.to_dict(),
                options["stop_rule"].to_dict(),
            )
        if changed:
            key = sorted(changed)[0]
            flag = FLAG_OF.get(
                key,
                "--" + key.replace("_", "-")
                if key in options or key == "stop_at_ratio"
                else "--set " + key,
            )
            parser.error(
                f"argument {flag}: the run in {args.output!r} was started with {key}="
                f"{changed[key][0]!r}, not {changed[key][1]!r}; --resume continues it with "
                "its saved settings (drop the flag, or start a new --output)"
            )
        options = {
            "checkpoint_every": saved["checkpoint_every"],
            "eval_seed": saved["eval_seed"],
            "row": saved.get("row"),
            **({"stop_rule": saved_rule} if saved_rule is not None else {}),
        }
        output = Path(args.output)
        args.output_locks = [_lock_output(parser, output)]
    else:
        row = DEMO_ROW if demo else args.row
        options["row"] = row
        settings = settings_from_args(args, parser, row=row)
        output = Path(args.output) if args.output else default_output(settings, demo)
        args.created_output = not output.exists()
        try:  # another command's folder: say whose before anything else
            out.check_owner(output, "train")
        except out.OutputExistsError as err:
            parser.error(f"argument --output: {err}")
        foreign = out.foreign_entries(output)
        if foreign:
            parser.error(
                f"argument --output: {str(output)!r} is not empty and holds no run "
                f"({', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}); a new run "
                "starts in a new or empty folder: choose another --output"
            )
        try:
            out.check_owner(output, "train")
        except out.OutputExistsError as err:
            parser.error(f"argument --output: {err}")
        if output.exists() and not output.is_dir():
            parser.error(f"argument --output: {str(output)!r} exists and is not a folder")
        args.output_locks = [_lock_output(parser, output)]  # before anything is moved
        try:
            moved = out.prepare_output(output, resume=False, overwrite=args.overwrite)
        except out.OutputExistsError as err:
            parser.error(f"argument --output: {err}")
        if moved is not None:  # the old folder went aside with its lock: lock the new one
            args.output_locks.append(_lock_output(parser, output))
            print(f"--overwrite: the previous results were moved to {moved}")
    return args, settings, options, output, demo


def _lock_output(parser, output: Path):
    """The output folder, created and locked for this run (the lock: ``FOLDER/.running.lock``,
    :func:`rllib_experiments.run.outputs.hold`, held until the run ends); a folder another
    command holds, or that cannot be written, is an error naming --output."""
    try:
        out.check_writable(output)
        return out.hold(output, "train")
    except (out.OutputBusyError, out.OutputNotWritableError) as err:
        parser.error(f"argument --output: {err}")


def _init_ray(address: Optional[str]) -> None:
    # imports ray: only when called
    import ray

    if ray.is_initialized():
        return
    kwargs = dict(logging_level=logging.WARNING, log_to_driver=False, **RAY_INIT_KWARGS)
    if address is None and not os.environ.get("RAY_ADDRESS"):
        # A new local instance: env runners (Ray workers, niceness 15 by default) at normal priority.
        kwargs.update(include_dashboard=False, _system_config={"worker_niceness": 0})
    ray.init(address=address, **kwargs)


def _remove_if_only_log(output: Path) -> None:
    """Remove a folder this command made when it holds nothing but the framework log."""
    log = output / LOG_FILE
    if output.is_dir() and {p.name for p in output.iterdir()} <= {LOG_FILE}:
        route_framework_logs(None)
        log.unlink(missing_ok=True)
        output.rmdir()


def report(result: Dict[str, Any], output: Path) -> str:
    """Closing lines: final evaluation against slotted ALOHA and the oracle on the same episodes."""
    fe = result["final_evaluation"]
    aloha, oracle = result["aloha_reference"], result["oracle_reference"]
    lines = [
        f"Final evaluation over {fe['episodes']} episodes (seed {fe['eval_seed']}), "
        f"episode sum of system throughput:"
    ]
    for mode in ("stochastic", "greedy"):
        r = fe[mode]
        ratio = r["mean_reward"] / aloha["mean_reward"] if aloha["mean_reward"] else float("nan")
        lines.append(
            f"  IAGC-PPO {mode:<10} {r['mean_reward']:8.1f} +- {r['std_reward']:6.1f}   "
            f"{result['ratio_to_oracle'][mode]:5.3f} x oracle, {ratio:5.3f} x ALOHA"
        )
    lines.append(
        f"  slotted ALOHA       {aloha['mean_reward']:8.1f} +- {aloha['std_reward']:6.1f}   "
        "(same episodes)"
    )
    lines.append(
        f"  oracle              {oracle['mean_reward']:8.1f} +- {oracle['std_reward']:6.1f}   "
        "(central planner that knows every SNR and PU state; same episodes)"
    )

    early = result.get("stopped_early")
    if early:
        lines.append(
            f"  stopped early by --stop-at-ratio {result['stop_rule']['ratio']:g}: the goal was "
            f"met after iteration {early['met_at_iteration']} ({early['met_ratio']:.3f} x "
            f"oracle), the run ended after iteration {early['iterations_done']} of "
            f"{result['budget']['iterations']}"
        )
    elif result.get("stop_rule"):
        lines.append(
            f"  --stop-at-ratio {result['stop_rule']['ratio']:g} was not met: the run trained "
            f"all {result['budget']['iterations']} iterations"
        )
    lines.append(
        f"  mean final actor sparsity {achieved_sparsity(result)[1]:.3f} of the weight "
        f"matrices, {result['sparsity_all_params']:.3f} of all parameters; wall time "
        f"{result['wall_time_s']:.0f} s; outputs in {output}"
    )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    args, settings, options, output, demo = resolve(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    torch.set_num_threads(1)

    if demo:
        episodes = settings.episodes_per_iteration
        print(
            f"Demo: row {DEMO_ROW!r} of Table I, IAGC-PPO with actors pruned to "
            f"{settings.final_sparsity:.0%} ({settings.schedule} schedule), setup {settings.setup}, "
            f"{settings.iterations} iterations of {episodes} episodes; output {output}. "
            "Run with --help for the full options."
        )
    route_framework_logs(output, verbose=args.verbose)
    try:
        _init_ray(args.address)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as err:
        address, source = given_address(args.address)
        if getattr(args, "created_output", False):
            _remove_if_only_log(output)
        print(
            f"python -m rllib_experiments train: error: cannot start or reach Ray"
            f"{f' at {source}={address!r}' if source else ''}: {err}",
            file=sys.stderr,
        )
        return 2
    row = options.pop("row", None)
    build = None
    if row is not None:
        build = get_row(row).build
    run = TrainingRun(
        settings,
        output,
        resume=args.resume,
        tensorboard=not args.no_tensorboard,
        background_eval=not args.sync_eval,
        log=None if args.quiet else (lambda line: print(line, flush=True)),
        notice=lambda line: print(line, flush=True),
        build=build,
        run_info={"row": row},
        **options,
    )
    received = _stop_on_signals(run)
    try:
        result = run.run()
    except TrainingStopped as stop:
        name = signal.Signals(received[0]).name if received else "a stop request"
        print(
            f"Stopped by {name} after iteration {stop.iterations_done} of {settings.iterations}; "
            f"its checkpoint is saved in {output}. Continue the run with:\n"
            f"  python -m rllib_experiments train --output {output} --resume",
            flush=True,
        )
        return 128 + (received[0] if received else signal.SIGTERM)
    finally:
        for lock in args.output_locks:
            lock.close()
    print(report(result, output))
    return 0


#: Signals that stop a run at the next iteration boundary (exit status 128 + the signal).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _stop_on_signals(run: TrainingRun) -> List[int]:
    """On SIGTERM or SIGINT, ask ``run`` to stop after the current iteration (a checkpoint
    of it is written); a second one acts at once, as before. Returns the list that collects
    the signals received."""
    received: List[int] = []
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handler(signum, frame):
        received.append(signum)
        signal.signal(signum, previous[signum])
        print(
            f"{signal.Signals(signum).name} received: stopping after the current iteration "
            "(a checkpoint is written, then the command exits); send it again to stop at once",
            file=sys.stderr,
            flush=True,
        )
        run.request_stop()

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)
    return received
