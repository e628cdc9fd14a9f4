"""Sparsity schedules of Section III-D (eqs. 10-14) as a registry of small dataclasses.

Needs neither torch nor ray. Names and classes:

- "linear": :class:`LinearSchedule` (eqs. 10-11)
- "polynomial": :class:`PolynomialSchedule` (eqs. 10-11, cubic)
- "harmonic": :class:`HarmonicSchedule` (eqs. 12-14)
- "none": :class:`DenseSchedule` (no pruning)
- "constant": :class:`ConstantSchedule` (p_final from iteration 0: the sparse-from-scratch
  algorithms of ``pruning_callbacks.algorithms``)

``make_schedule(name, **params)`` builds one, ``schedule_parameters(name)`` lists its
parameters, ``per_agent_schedules(agent_ids, name=..., **params)`` builds one per agent.
The equations are in ``equations``, the base classes in ``base``, the registry in
``registry`` (a new schedule: one file here and one line there). Command line::

    python -m pruning_callbacks schedules --schedule harmonic --iterations 1000 \
        --final-sparsity 0.95 --json
"""

from pruning_callbacks.schedules.base import (
    TIMING,
    Bounds,
    GradualSchedule,
    Parameter,
    Schedule,
    ScheduleError,
    parameter,
)
from pruning_callbacks.schedules.cli import main
from pruning_callbacks.schedules.constant import ConstantSchedule
from pruning_callbacks.schedules.dense import DenseSchedule
from pruning_callbacks.schedules.equations import (
    cosine_annealing,
    gradual_sparsity,
    harmonic_oscillation,
    harmonic_sparsity,
    sigma_linear,
    sigma_polynomial,
)
from pruning_callbacks.schedules.harmonic import HarmonicSchedule
from pruning_callbacks.schedules.linear import LinearSchedule
from pruning_callbacks.schedules.polynomial import PolynomialSchedule
from pruning_callbacks.schedules.registry import (
    DEFAULT_SCHEDULE,
    SCHEDULES,
    agent_values,
    check_schedule_keys,
    make_schedule,
    per_agent_schedules,
    register_schedule,
    schedule_class,
    schedule_parameters,
)

__all__ = [
    "DEFAULT_SCHEDULE",
    "SCHEDULES",
    "TIMING",
    "Bounds",
    "ConstantSchedule",
    "DenseSchedule",
    "GradualSchedule",
    "HarmonicSchedule",
    "LinearSchedule",
    "Parameter",
    "PolynomialSchedule",
    "Schedule",
    "ScheduleError",
    "agent_values",
    "check_schedule_keys",
    "cosine_annealing",
    "gradual_sparsity",
    "harmonic_oscillation",
    "harmonic_sparsity",
    "main",
    "make_schedule",
    "parameter",
    "per_agent_schedules",
    "register_schedule",
    "schedule_class",
    "schedule_parameters",
    "sigma_linear",
    "sigma_polynomial",
]
