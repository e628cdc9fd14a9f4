"""Base class and registry of sparsity schedules.

A schedule is a frozen dataclass registered under a name::

    @register_schedule("linear")
    @dataclass(frozen=True)
    class LinearSchedule(GradualSchedule):
        def sparsity(self, i): ...

Its dataclass fields (with :func:`parameter` for a doc line) are its parameters: they
are what :func:`make_schedule`, ``PruningConfig.schedule`` and the command line accept
for that name. Every schedule also carries the mask-update timing (``update_every``,
``final_iteration``), which the pruning config sets from its mode and i_prune.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import (
    Any, Callable, ClassVar, Dict, Hashable, List, Mapping, NamedTuple, Optional, Sequence, Type, TypeVar,
)

DEFAULT_SCHEDULE = "harmonic"
"""Schedule used when a schedule dict names none (the paper's proposal)."""

TIMING = ("update_every", "final_iteration")
"""Fields of every schedule that set when masks update; not a schedule's own parameters."""


def parameter(default: Any, doc: str, type: Optional[Callable[[str], Any]] = None) -> Any:  # noqa: A002
    """A schedule parameter: dataclass field with a default and a one-line doc.

    ``type`` parses its command-line value (default: the type of ``default``).
    """
    return field(default=default, metadata={"doc": doc, "type": type or _type_of(default)})


def _type_of(value: Any) -> Callable[[str], Any]:
    return str if value is None else type(value)


class ScheduleError(ValueError):
    """A bad schedule parameter; ``parameter`` names it (None: the schedule name itself)."""

    def __init__(self, parameter: Optional[str], message: str):
        super().__init__(message)
        self.parameter = parameter


class Parameter(NamedTuple):
    """One parameter of a schedule, as listed by :func:`schedule_parameters`."""

    name: str
    default: Any
    doc: str
    type: Callable[[str], Any]


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < low:
        raise ScheduleError(name, f"{name} must be an integer >= {low}, got {value!r}")


@dataclass(frozen=True)
class Schedule:
    """Target sparsity p_i per training iteration i (0-based) and when masks update.

    Subclasses implement :meth:`sparsity` and have a ``final_sparsity`` (field or class
    attribute): the sparsity the actor is finalized to.

    Mask-update rule (Remark 2, i_prune = ``update_every``): the masks are recomputed
    after iterations i with (i + 1) % update_every == 0. When ``final_iteration`` (I_T)
    is known, iteration I_T - 1 is always an update (the finalization to p_final) and
    no iteration after it is one (the masks stay finalized).
    """

    name: ClassVar[str] = ""
    prunes: ClassVar[bool] = True
    """False for a dense schedule: modules with it get no masks at all."""

    update_every: int = field(default=1, kw_only=True, metadata={
        "doc": "i_prune: masks recomputed after iterations i with (i+1) % update_every == 0", "type": int})
    final_iteration: Optional[int] = field(default=None, kw_only=True, metadata={
        "doc": "I_T: iteration I_T-1 finalizes to final_sparsity; None = not known", "type": int})

    def __post_init__(self) -> None:
        _check_int("update_every", self.update_every, 1)
        if self.final_iteration is not None:
            _check_int("final_iteration", self.final_iteration, 1)

    def sparsity(self, i: float) -> float:
        """Target sparsity p_i at training iteration i (0-based)."""
        raise NotImplementedError

    def __call__(self, i: float) -> float:
        return self.sparsity(i)

    def values(self, iterations: int) -> List[float]:
        """[p_0, ..., p_{iterations-1}]."""
        return [self.sparsity(i) for i in range(iterations)]

    def is_final_iter(self, i: int) -> bool:
        """True from iteration final_iteration - 1 on (never when final_iteration is None)."""
        return self.final_iteration is not None and i >= self.final_iteration - 1

    def is_mask_update_iter(self, i: int) -> bool:
        """Are the masks recomputed after iteration i? See the class doc for the rule."""
        if not self.prunes:
            return False
        if self.is_final_iter(i):
            return i == self.final_iteration - 1
        return (i + 1) % self.update_every == 0

    def params(self) -> Dict[str, Any]:
        """The schedule's own parameters (without the timing fields), in declaration order."""
        return {p.name: getattr(self, p.name) for p in self.parameters()}

    def to_dict(self) -> Dict[str, Any]:
        """``{"name": ..., **params, **timing}``; ``make_schedule(**d)`` rebuilds it."""
        return {"name": self.name, **self.params(), **{k: getattr(self, k) for k in TIMING}}

    @classmethod
    def parameters(cls) -> List[Parameter]:
        """The schedule's own parameters with their defaults and docs."""
        return [
            Parameter(f.name, f.default, f.metadata.get("doc", ""), f.metadata.get("type") or _type_of(f.default))
            for f in dataclasses.fields(cls)
            if f.name not in TIMING
        ]


@dataclass(frozen=True)
class GradualSchedule(Schedule):
    """Fields shared by the schedules of eqs. (10)-(14): p_final, i_start, i_P."""

    final_sparsity: float = parameter(0.95, "p_final in [0, 1)")
    start: int = parameter(0, "i_start, first pruning iteration (>= 0)")
    end: int = parameter(1000, "i_P, iteration where p_final is reached (> start)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.final_sparsity < 1.0:
            raise ScheduleError("final_sparsity", f"final_sparsity must be in [0, 1), got {self.final_sparsity!r}")
        if int(self.start) != self.start or self.start < 0:
            raise ScheduleError("start", f"start (i_start) must be an integer >= 0, got {self.start!r}")
        if int(self.end) != self.end or self.end <= self.start:
            raise ScheduleError("end", f"end (i_P) must be an integer > start={self.start}, got {self.end!r}")


# ------------------------------------------------------------------ registry
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
        if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"schedule name {name!r} is taken by {old.__module__}.{old.__qualname__}")
        cls.name = name
        SCHEDULES[name] = cls
        return cls

    return register


def schedule_class(name: str) -> Type[Schedule]:
    """The class registered as ``name``; ValueError naming the allowed names otherwise."""
    try:
        return SCHEDULES[name]
    except (KeyError, TypeError):
        raise ScheduleError(None, f"unknown schedule name {name!r}; allowed: {sorted(SCHEDULES)}") from None


def schedule_parameters(name: str) -> List[Parameter]:
    """Parameters of schedule ``name``: name, default, doc, type."""
    return schedule_class(name).parameters()


def check_schedule_keys(name: str, keys: Sequence[str], *, timing: bool = True) -> None:
    """ValueError naming every key that schedule ``name`` does not take, and the allowed ones."""
    allowed = [p.name for p in schedule_parameters(name)] + (list(TIMING) if timing else [])
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        raise ScheduleError(unknown[0], f"schedule {name!r}: unknown parameter(s) {unknown}; allowed: {allowed}")


def make_schedule(name: str, **params: Any) -> Schedule:
    """The schedule registered as ``name`` with ``params`` (its own and the timing fields)."""
    check_schedule_keys(name, list(params))
    return schedule_class(name)(**params)


# ------------------------------------------------------------------ per agent
def _for_agent(value: Any, key: str, index: int, agent_id: Hashable, agent_ids: Sequence) -> Any:
    """Pick an agent's value from a scalar, a dict keyed by agent id, or a sequence."""
    if isinstance(value, Mapping):
        if agent_id not in value:
            raise ScheduleError(key, f"{key}: no value for agent {agent_id!r} (given for {sorted(map(str, value))})")
        return value[agent_id]
    if isinstance(value, (list, tuple)):
        if len(value) != len(agent_ids):
            raise ScheduleError(key, f"{key}: a sequence needs one value per agent ({len(agent_ids)}), got {len(value)}")
        return value[index]
    return value


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
