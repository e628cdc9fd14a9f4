"""Sparsity schedules of Section III-D (eqs. 10-14) as a registry of small dataclasses.

Needs neither torch nor ray. Names and classes:

- "linear": :class:`LinearSchedule` (eqs. 10-11)
- "polynomial": :class:`PolynomialSchedule` (eqs. 10-11, cubic)
- "harmonic": :class:`HarmonicSchedule` (eqs. 12-14)
- "none": :class:`DenseSchedule` (no pruning)

``make_schedule(name, **params)`` builds one, ``schedule_parameters(name)`` lists its
parameters, ``per_agent_schedules(agent_ids, name=..., **params)`` builds one per agent.
A new schedule is one file here with a class under ``@register_schedule("name")``:
every module of this package is imported below, so it is registered in every process
that imports the package (remote Learners too). Command line::

    python -m pruning_callbacks.schedules --schedule harmonic --iterations 1000 \
        --final-sparsity 0.95 --json
"""

import importlib
import pkgutil

from pruning_callbacks.schedules.base import (
    DEFAULT_SCHEDULE,
    SCHEDULES,
    TIMING,
    GradualSchedule,
    Parameter,
    Schedule,
    ScheduleError,
    check_schedule_keys,
    make_schedule,
    parameter,
    per_agent_schedules,
    register_schedule,
    schedule_class,
    schedule_parameters,
)
from pruning_callbacks.schedules.equations import (
    cosine_annealing,
    gradual_sparsity,
    harmonic_oscillation,
    harmonic_sparsity,
    sigma_linear,
    sigma_polynomial,
)
from pruning_callbacks.schedules.dense import DenseSchedule
from pruning_callbacks.schedules.harmonic import HarmonicSchedule
from pruning_callbacks.schedules.linear import LinearSchedule
from pruning_callbacks.schedules.polynomial import PolynomialSchedule
from pruning_callbacks.schedules.cli import main

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):  # __main__ would run the command line
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "DEFAULT_SCHEDULE", "SCHEDULES", "TIMING", "DenseSchedule", "GradualSchedule", "HarmonicSchedule",
    "LinearSchedule", "Parameter", "PolynomialSchedule", "Schedule", "ScheduleError", "check_schedule_keys",
    "cosine_annealing", "gradual_sparsity", "harmonic_oscillation", "harmonic_sparsity", "main",
    "make_schedule", "parameter", "per_agent_schedules", "register_schedule", "schedule_class",
    "schedule_parameters", "sigma_linear", "sigma_polynomial",
]
