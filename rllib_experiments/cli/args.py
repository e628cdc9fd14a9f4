"""Argument types, flag aliases and the settings check shared by the experiment commands.

The argparse value types (:func:`int_at_least`, :func:`number_in`, :func:`key_value`) raise
``argparse.ArgumentTypeError`` saying what is allowed; they parse, and check only what
no lower layer owns. A value that a lower layer checks (a sparsity: its schedule's bounds)
is parsed as a plain number and checked once, by :meth:`Settings.validate
<rllib_experiments.settings.Settings.validate>`: :func:`validated_settings` reports its
:class:`~rllib_experiments.settings.SettingsError` against the flag that set the field
(each command's table field -> flag). :func:`deprecated_alias` keeps an old flag working.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from typing import Any, Dict, Mapping

from dsa_pettingzoo.cli.arg_types import int_at_least, number_in
from dsa_pettingzoo.config import SETUPS
from rllib_experiments.settings import Settings, SettingsError, preset_names
from rllib_experiments.studies.common.folders import TUNE_DIR
from rllib_experiments.studies.common.pooling import ALLOW_FLAG, MixedCodeError
from rllib_experiments.studies.common.runner import TrialOptions
from rllib_experiments.run import outputs as out
from rllib_experiments.studies.common.records import NotARecordError
from rllib_experiments.studies.common.runner import (
    SUPERSEDE_FLAG,
    RecordConflictError,
)

__all__ = [
    "int_at_least",
    "add_settings_flags",
    "number_in",
    "key_value",
    "flag_of_field",
    "validated_settings",
    "deprecated_alias",
    "add_trial_flags",
    "trial_options",
    "add_allow_mixed_flag",
    "output_errors",
]


def key_value(text: str):
    """KEY=VALUE with VALUE parsed as JSON when possible (numbers, lists, null), else a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip().replace("-", "_")
    if not key:
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def add_settings_flags(p: argparse.ArgumentParser) -> None:
    """The flags that set one run's Settings, the same in every command that builds Settings
    (``train``, ``tune_schedules``): the preset, the setup, the budget, the evaluation, the
    env runners, ``--env`` and ``--set``."""
    p.add_argument(
        "--preset",
        default=None,
        help=f"settings preset (one of {preset_names()} or a JSON file); default: paper_<setup>",
    )
    p.add_argument(
        "--setup",
        choices=list(SETUPS),
        default=None,
        help="system setup: A = 10 users, 5 channels, no primary users; "
        "B = A plus primary users (pi_k = 0.2); C = A plus bursty Markov primary "
        "users, different on every channel. Default: the preset's",
    )
    p.add_argument(
        "--iterations",
        type=int_at_least(1),
        default=None,
        help="training iterations I_T of a run (default: the preset's; 1000 in paper_A/B as in the paper)",
    )
    p.add_argument(
        "--episodes-per-iteration",
        type=int_at_least(1),
        default=None,
        help="whole episodes sampled per iteration (default: the preset's; 1 as in the paper)",
    )
    p.add_argument(
        "--eval-every",
        type=int_at_least(1),
        default=None,
        help="evaluate every this many iterations, and after the last (default: the "
        "preset's eval_interval: 10 in paper_A/B/C, 1 in tiny)",
    )
    p.add_argument(
        "--eval-episodes",
        type=int_at_least(1),
        default=None,
        help="episodes per evaluation, stochastic and greedy (default: the preset's "
        "eval_episodes: 100 in paper_A/B/C, 4 in tiny)",
    )
    p.add_argument(
        "--num-env-runners",
        type=int_at_least(0),
        default=None,
        help="remote env runner processes of a run (each takes a CPU more), 0 = sample in the "
        "training process (default: the preset's, 0)",
    )
    p.add_argument(
        "--env",
        type=key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment keyword argument of dsa_pettingzoo.parallel_env, repeatable, "
        "e.g. --env num_users=3 --env pu_prob=0.2 (values parsed as JSON)",
    )
    p.add_argument(
        "--set",
        type=key_value,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="any other Settings field, repeatable, e.g. --set actor_lr=3e-4 "
        "--set prune_mode=hold (the fields: rllib_experiments.settings.Settings)",
    )


def set_overrides(pairs, parser, own_flags: Mapping[str, str]) -> Dict[str, Any]:
    """The ``--set FIELD=VALUE`` pairs as a dict; a field Settings does not have, or one that
    has a flag of its own (``own_flags``: field -> flag), is an error naming it."""
    names = set(Settings.__dataclass_fields__)
    found: Dict[str, Any] = {}
    for key, value in pairs:
        if key not in names:
            parser.error(f"argument --set {key}: unknown setting; allowed: {sorted(names)}")
        if key in own_flags:
            parser.error(f"argument --set {key}: use {own_flags[key]} instead")
        found[key] = value
    return found


def check_device_here(parser, flag: str, device: str) -> None:
    """A learner on ``cuda`` where torch sees no GPU is an error naming ``flag``."""
    if device != "cuda":
        return
    # imports torch: only when a GPU is asked for (--help and the flag checks load none)
    import torch

    if not torch.cuda.is_available():
        parser.error(
            f"argument {flag}: cuda asked for, but torch sees no CUDA device on this machine "
            f"(torch {torch.__version__}); allowed here: cpu"
        )


def flag_of_field(field: str, flags: Mapping[str, str]) -> str:
    """The flag that sets a Settings field: its own flag, else ``--set FIELD``."""
    return flags.get(field, f"--set {field}")


def validated_settings(d: Dict[str, Any], parser, flags: Mapping[str, str]) -> Settings:
    """Settings from a dict, validated once; a bad field is reported against its flag
    (an environment argument as ``--env ARGUMENT``)."""
    try:
        return Settings.from_dict(d).validate()
    except SettingsError as err:
        flag = flag_of_field(err.field, flags)
        if err.field == "env" and err.argument is not None:
            flag = f"{flag} {err.argument}"
        parser.error(f"argument {flag}: {err}")


def deprecated_alias(new_flag: str):
    """argparse action of an old flag spelling: stores into the new flag's ``dest`` and
    prints one deprecation line. Add it with ``help=argparse.SUPPRESS`` (hidden)."""

    class DeprecatedAlias(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            print(f"{parser.prog}: {option_string} is deprecated, use {new_flag}", file=sys.stderr)
            setattr(namespace, self.dest, values)

    return DeprecatedAlias


def add_trial_flags(p, *, runs_dir: str, runs_help: str) -> None:
    """The Ray flags of the commands that run trials through Tune (reproduce, pruning_study,
    scale); :func:`trial_options` reads them."""
    p.add_argument(
        "--num-cpus",
        type=int_at_least(1),
        default=None,
        help="CPUs for a local Ray instance (default: all); each trial uses 1",
    )
    p.add_argument(
        "--max-concurrent",
        type=int_at_least(1),
        default=None,
        help="at most this many trials at once (default: as many as CPUs)",
    )
    p.add_argument(
        "--address",
        default=None,
        help="Ray cluster address (e.g. auto under `ray job submit`); default: local Ray",
    )
    p.add_argument(
        "--tune-dir",
        default=str(TUNE_DIR),
        help="Ray Tune's own experiment folder (logs; not needed for resuming); default "
        f"{TUNE_DIR} under the current directory",
    )
    p.add_argument(
        "--runs-dir",
        default=runs_dir,
        help=f"{runs_help}; default {runs_dir} under the current directory",
    )
    p.add_argument(
        SUPERSEDE_FLAG,
        action="store_true",
        help="rerun the planned trials whose records in --output were made otherwise (another "
        "budget, iteration count, settings or commit; or unreadable), moving those records "
        "to superseded/ beside trials/ (kept, listed in superseded/index.jsonl). Without it "
        "such a folder is refused (exit 2): a finished record is never replaced or joined "
        "by another kind",
    )


def trial_options(args) -> TrialOptions:
    """The flags of :func:`add_trial_flags` as the runner's options."""
    return TrialOptions(
        runs_dir=args.runs_dir,
        tune_dir=args.tune_dir,
        num_cpus=args.num_cpus,
        max_concurrent=args.max_concurrent,
        address=args.address,
    )


def add_allow_mixed_flag(p) -> None:
    """The flag of every report-building command that lets a report pool seeds made by
    different commits, a dirty tree or unknown code (refused without it; the tables mark those
    rows: :mod:`rllib_experiments.studies.common.pooling`)."""
    p.add_argument(
        ALLOW_FLAG,
        action="store_true",
        help="let the report pool seeds of one row made by different commits, a dirty tree or "
        "unknown code (older records); without it such a row stops the report with an error. "
        "The table marks the rows pooled so (†, the commits and their seeds)",
    )


@contextmanager
def output_errors(parser: argparse.ArgumentParser, flag: str = "--output"):
    """Errors of the output folder as ``parser.error`` naming ``flag`` (exit 2, no
    traceback): in use by another command, records made otherwise or not records, a
    folder or file that cannot be written (read-only, no permission); a report refusing to
    pool seeds of several commits names ``--allow-mixed-commits`` instead."""
    try:
        yield
    except MixedCodeError as err:  # a report asked to pool seeds of several commits
        parser.error(f"argument {ALLOW_FLAG} not given: {err}")
    except (
        out.OutputBusyError,
        out.OutputNotWritableError,
        RecordConflictError,
        NotARecordError,
    ) as err:
        parser.error(f"argument {flag}: {err}")
    except OSError as err:  # writing a report or record: read-only folder, no permission, full
        if err.filename is None:
            raise
        parser.error(
            f"argument {flag}: cannot write {err.filename} ({err.strerror or err}); choose a "
            "folder you can write to"
        )
