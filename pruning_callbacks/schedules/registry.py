"""The registry of schedules by name, and building them by name (one or one per agent).

The built-in schedules are registered at the end of this file: a new schedule is a file
beside them and one line there. A schedule defined elsewhere (a test, a user's module)
is registered with ``@register_schedule("name")`` above its ``@dataclass(frozen=True)``;
a remote Learner then only knows it if its process imports that module too.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Hashable, List, Mapping, Sequence, Type, TypeVar

from pruning_callbacks.schedules.base import (
    LEGACY_TIMING,
    TIMING,
    Parameter,
    Schedule,
    ScheduleError,
)
from pruning_callbacks.schedules.constant import ConstantSchedule
from pruning_callbacks.schedules.dense import DenseSchedule
from pruning_callbacks.schedules.harmonic import HarmonicSchedule
from pruning_callbacks.schedules.linear import LinearSchedule
from pruning_callbacks.schedules.polynomial import PolynomialSchedule

DEFAULT_SCHEDULE = "harmonic"
"""Schedule used when a schedule dict names none (the paper's proposal)."""

SCHEDULES: Dict[str, Type[Schedule]] = {}
"""Registered schedules by name (filled by :func:`register_schedule`)."""

S = TypeVar("S", bound=Type[Schedule])


def register_schedule(name: str) -> Callable[[S], S]:
    """Class decorator: make a frozen :class:`Schedule` dataclass available as ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a schedule name must be a non-empty string, got {name!r}")

    def register(cls: S) -> S:
        if not (isinstance(cls, type) and issubclass(cls, Schedule)):
            raise TypeError(f"register_schedule({name!r}) needs a Schedule subclass, got {cls!r}")
        params = cls.__dict__.get("__dataclass_params__")
        if params is None or not params.frozen:
            raise TypeError(f"{cls.__name__}: put @register_schedule above @dataclass(frozen=True)")
        old = SCHEDULES.get(name)
        if old is not None and (old.__module__, old.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise ValueError(
                f"schedule name {name!r} is taken by {old.__module__}.{old.__qualname__}"
            )
        cls.name = name
        SCHEDULES[name] = cls
        return cls

    return register


def schedule_class(name: str) -> Type[Schedule]:
    """The class registered as ``name``; ValueError naming the allowed names otherwise."""
    try:
        return SCHEDULES[name]
    except (KeyError, TypeError):
        raise ScheduleError(
            None, f"unknown schedule name {name!r}; allowed: {sorted(SCHEDULES)}"
        ) from None


def schedule_parameters(name: str) -> List[Parameter]:
    """Parameters of schedule ``name``: name, default, doc, type."""
    return schedule_class(name).parameters()


def check_schedule_keys(name: str, keys: Sequence[str], *, timing: bool = True) -> None:
    """ValueError naming every key that schedule ``name`` does not take, and the allowed ones."""
    allowed = [p.name for p in schedule_parameters(name)] + (list(TIMING) if timing else [])
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        raise ScheduleError(
            unknown[0], f"schedule {name!r}: unknown parameter(s) {unknown}; allowed: {allowed}"
        )


def make_schedule(name: str, **params: Any) -> Schedule:
    """The schedule registered as ``name`` with ``params`` (its own and the timing fields).

    Timing fields under their older names (:data:`~pruning_callbacks.schedules.base.LEGACY_TIMING`)
    are read as today's.
    """
    params = {LEGACY_TIMING.get(k, k): v for k, v in params.items()}
    check_schedule_keys(name, list(params))
    return schedule_class(name)(**params)


def _for_agent(value: Any, key: str, index: int, agent_id: Hashable, agent_ids: Sequence) -> Any:
    """Pick an agent's value from a scalar, a dict keyed by agent id, or a sequence."""
    if isinstance(value, Mapping):
        if agent_id not in value:
            raise ScheduleError(
                key, f"{key}: no value for agent {agent_id!r} (given for {sorted(map(str, value))})"
            )
        return value[agent_id]
    if isinstance(value, (list, tuple)):
        if len(value) != len(agent_ids):
            raise ScheduleError(
                key,
                f"{key}: a sequence needs one value per agent ({len(agent_ids)}), got {len(value)}",
            )
        return value[index]
    return value


def agent_values(agent_ids: Sequence[Hashable], key: str, value: Any) -> List[Any]:
    """Each agent's value of parameter ``key``, given as :func:`per_agent_schedules` takes it
    (a scalar, a dict keyed by agent id, or one value per agent); ScheduleError otherwise."""
    agent_ids = list(agent_ids)
    return [_for_agent(value, key, n, aid, agent_ids) for n, aid in enumerate(agent_ids)]


def per_agent_schedules(
    agent_ids: Sequence[Hashable], name: Any = DEFAULT_SCHEDULE, **params: Any
) -> Dict[Hashable, Schedule]:
    """One schedule per agent; ``name`` and every parameter may differ between agents.

    Each value is a scalar (same for all agents), a dict keyed by agent id, or a
    list/tuple in the order of ``agent_ids``. A dict may leave out the agents whose
    schedule has no such parameter, so schedules with different parameters mix.
    Example: ``per_agent_schedules(["a", "b", "c"], name={"a": "harmonic", "b":
    "linear", "c": "none"}, final_sparsity={"a": 0.95, "b": 0.8}, end={"a": 1000,
    "b": 500})``; ``end=1000`` would fail, as "none" takes no ``end``.
    """
    agent_ids = list(agent_ids)
    out = {}
    for n, aid in enumerate(agent_ids):
        agent_name = _for_agent(name, "name", n, aid, agent_ids)
        takes = {p.name for p in schedule_parameters(agent_name)} | set(TIMING)
        own = {
            k: _for_agent(v, k, n, aid, agent_ids)
            for k, v in params.items()
            if not (isinstance(v, Mapping) and aid not in v and k not in takes)
        }
        out[aid] = make_schedule(agent_name, **own)
    return out


register_schedule("none")(DenseSchedule)
register_schedule("harmonic")(HarmonicSchedule)
register_schedule("linear")(LinearSchedule)
register_schedule("polynomial")(PolynomialSchedule)
register_schedule("constant")(ConstantSchedule)
