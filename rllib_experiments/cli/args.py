"""Argument types and settings checks shared by the experiment commands.

The argparse value types (:func:`int_at_least`, :func:`number_in`, :data:`sparsity`,
:func:`key_value`) raise ``argparse.ArgumentTypeError`` saying what is allowed. The
checks (:func:`validated_settings`, :func:`check_env`, :func:`check_pruning`) run
before Ray starts and report a bad value against the flag that set it: errors carry
the field (:class:`~rllib_experiments.settings.SettingsError`) or the environment
argument (:class:`dsa_pettingzoo.ConfigError`) they are about, and each command maps
fields to its own flags.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Dict, Mapping

from dsa_pettingzoo.cli.arg_types import int_at_least, number_in
from rllib_experiments.settings import Settings, SettingsError
from rllib_experiments.studies.common.folders import TUNE_DIR
from rllib_experiments.studies.common.runner import TrialOptions

__all__ = ["int_at_least", "number_in", "sparsity", "key_value", "flag_of_field",
           "validated_settings", "check_env", "check_pruning", "add_trial_flags", "trial_options"]

#: A sparsity p in [0, 1).
sparsity = number_in(0.0, 1.0, include_high=False)


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


def flag_of_field(field: str, flags: Mapping[str, str]) -> str:
    """The flag that sets a Settings field: its own flag, else ``--set FIELD``."""
    return flags.get(field, f"--set {field}")


def validated_settings(d: Dict[str, Any], parser, flags: Mapping[str, str]) -> Settings:
    """Settings from a dict, validated; a bad field is reported against its flag."""
    try:
        return Settings.from_dict(d).validate()
    except SettingsError as err:
        parser.error(f"argument {flag_of_field(err.field, flags)}: {err}")


def check_env(settings: Settings, parser, flags: Mapping[str, str]) -> None:
    """Validate the environment kwargs with dsa_pettingzoo's own checks (error names the flag)."""
    from dsa_pettingzoo import ConfigError, make_config

    try:
        make_config(**settings.env_kwargs())
    except ConfigError as err:
        flag = flags["setup"] if err.argument == "setup" else f"{flags['env']} {err.argument}"
        parser.error(f"argument {flag}: {err}")


def check_pruning(settings: Settings, parser, flags: Mapping[str, str]) -> None:
    """Build the per-user pruning config now, so bad sparsities fail before Ray starts."""
    from dsa_pettingzoo import agent_id, make_config
    from rllib_experiments.algorithm import check_per_user_values, pruning_config

    users = make_config(**settings.env_kwargs()).num_users
    try:
        check_per_user_values(settings, users)
        if settings.schedule != "none":
            pruning_config(settings, [agent_id(n) for n in range(users)])
    except SettingsError as err:
        parser.error(f"argument {flag_of_field(err.field, flags)}: {err}")
    except ValueError as err:  # the schedule's own parameter checks
        parser.error(f"argument {flags['schedule']}: {err}")


def add_trial_flags(p, *, runs_dir: str, runs_help: str) -> None:
    """The Ray flags of the commands that run trials through Tune (reproduce, pruning_study,
    scale); :func:`trial_options` reads them."""
    p.add_argument("--num-cpus", type=int_at_least(1), default=None,
                   help="CPUs for a local Ray instance (default: all); each trial uses 1")
    p.add_argument("--max-concurrent", type=int_at_least(1), default=None,
                   help="at most this many trials at once (default: as many as CPUs)")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (e.g. auto under `ray job submit`); default: local Ray")
    p.add_argument("--tune-dir", default=str(TUNE_DIR),
                   help="Ray Tune's own experiment folder (logs; not needed for resuming); default "
                        f"{TUNE_DIR} under the current directory")
    p.add_argument("--runs-dir", default=runs_dir,
                   help=f"{runs_help}; default {runs_dir} under the current directory")


def trial_options(args) -> TrialOptions:
    """The flags of :func:`add_trial_flags` as the runner's options."""
    return TrialOptions(runs_dir=args.runs_dir, tune_dir=args.tune_dir, num_cpus=args.num_cpus,
                        max_concurrent=args.max_concurrent, address=args.address)
