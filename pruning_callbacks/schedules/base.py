"""The schedule base classes; a schedule's parameters are its dataclass fields.

A schedule is a frozen dataclass whose fields, declared with :func:`parameter`, are its
parameters: what ``make_schedule``, ``PruningConfig.schedule`` and the command line accept
for its name. A parameter declares the values it allows (:class:`Bounds`), and
:meth:`Schedule.__post_init__` checks every field against them, once, in declaration
order. Every schedule also carries the mask-update timing (``prune_interval``,
``final_iteration``), which the pruning config sets from its mode and i_prune.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, List, NamedTuple, Optional, Union

TIMING = ("prune_interval", "final_iteration")
"""Fields of every schedule that set when masks update; not a schedule's own parameters."""

LEGACY_TIMING = {"update_every": "prune_interval"}
"""Older names of the timing fields -> today's (``make_schedule`` still reads them)."""


class ScheduleError(ValueError):
    """A bad schedule parameter; ``parameter`` names it (None: the schedule name itself)."""

    def __init__(self, parameter: Optional[str], message: str):
        super().__init__(message)
        self.parameter = parameter


Bound = Union[float, str, None]
"""A number, the name of another parameter of the same schedule, or None (unbounded)."""


@dataclass(frozen=True)
class Bounds:
    """The values a parameter allows: a real number between ``low`` and ``high``.

    A bound is included unless ``low_open``/``high_open``; ``integer`` also asks for a
    whole number. A bound that names another parameter compares with that parameter's
    value, which is declared (and so checked) before this one.
    """

    low: Bound = None
    high: Bound = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def describe(self, schedule: Any = None) -> str:
        """'in [0, 1)', 'an integer >= 1', '> start=3' (the other parameter's value if known)."""
        low, high = self._text(self.low, schedule), self._text(self.high, schedule)
        if low is not None and high is not None:
            text = (
                f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"
            )
        elif low is not None:
            text = f"{'>' if self.low_open else '>='} {low}"
        elif high is not None:
            text = f"{'<' if self.high_open else '<='} {high}"
        else:
            text = "a number"
        return f"an integer {text}" if self.integer else text

    def check(self, name: str, value: Any, schedule: Any) -> None:
        """ScheduleError naming ``name`` and the allowed values unless ``value`` is one."""
        if not self._allows(value, schedule):
            raise ScheduleError(name, f"{name} must be {self.describe(schedule)}, got {value!r}")

    def _allows(self, value: Any, schedule: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.integer and int(value) != value:
            return False
        low, high = self._value(self.low, schedule), self._value(self.high, schedule)
        if low is not None and (value <= low if self.low_open else value < low):
            return False
        return high is None or (value < high if self.high_open else value <= high)

    @staticmethod
    def _value(bound: Bound, schedule: Any) -> Optional[float]:
        if isinstance(bound, str):  # another parameter: unknown without a schedule
            return None if schedule is None else getattr(schedule, bound)
        return bound

    @staticmethod
    def _text(bound: Bound, schedule: Any) -> Optional[str]:
        if bound is None:
            return None
        if isinstance(bound, str):
            return bound if schedule is None else f"{bound}={getattr(schedule, bound)!r}"
        return f"{bound:g}"


def parameter(
    default: Any,
    doc: str,
    type: Optional[Callable[[str], Any]] = None,  # noqa: A002
    *,
    allowed: Optional[Bounds] = None,
    kw_only: bool = False,
) -> Any:
    """A schedule parameter: a dataclass field with a default, a one-line doc and its bounds.

    ``type`` parses its command-line value (default: the type of ``default``). A default
    of None is always allowed.
    """
    return field(
        default=default,
        kw_only=kw_only,
        metadata={"doc": doc, "type": type or _type_of(default), "allowed": allowed},
    )


def _type_of(value: Any) -> Callable[[str], Any]:
    return str if value is None else type(value)


class Parameter(NamedTuple):
    """One parameter of a schedule, as listed by ``schedule_parameters``."""

    name: str
    default: Any
    doc: str
    type: Callable[[str], Any]


@dataclass(frozen=True)
class Schedule:
    """Target sparsity p_i per training iteration i (0-based) and when masks update.

    Subclasses implement :meth:`sparsity` and have a ``final_sparsity`` (field or class
    attribute): the sparsity the actor is finalized to.

    Mask-update rule (Remark 2, i_prune = ``prune_interval``): the masks are recomputed
    after iterations i with (i + 1) % prune_interval == 0. When ``final_iteration`` (I_T)
    is known, iteration I_T - 1 is always an update (the finalization to p_final) and
    no iteration after it is one (the masks stay finalized).
    """

    name: ClassVar[str] = ""
    """Set by ``register_schedule``."""
    prunes: ClassVar[bool] = True
    """False for a dense schedule: modules with it get no masks at all."""

    prune_interval: int = parameter(
        1,
        "i_prune: masks recomputed after iterations i with (i+1) % prune_interval == 0",
        allowed=Bounds(low=1, integer=True),
        kw_only=True,
    )
    final_iteration: Optional[int] = parameter(
        None,
        "I_T: iteration I_T-1 finalizes to final_sparsity; None = not known",
        int,
        allowed=Bounds(low=1, integer=True),
        kw_only=True,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            allowed, value = f.metadata.get("allowed"), getattr(self, f.name)
            if allowed is not None and not (value is None and f.default is None):
                allowed.check(f.name, value, self)

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
        return (i + 1) % self.prune_interval == 0

    def params(self) -> Dict[str, Any]:
        """The schedule's own parameters (without the timing fields), in declaration order."""
        return {p.name: getattr(self, p.name) for p in self.parameters()}

    def to_dict(self) -> Dict[str, Any]:
        """``{"name": ..., **params, **timing}``; ``make_schedule(**d)`` rebuilds it."""
        return {"name": self.name, **self.params(), **{k: getattr(self, k) for k in TIMING}}

    @classmethod
    def check_value(cls, name: str, value: Any) -> None:
        """Check one value against parameter ``name``'s declared :class:`Bounds`, without
        building a schedule (a bound naming another parameter is then not compared)."""
        f = {f.name: f for f in dataclasses.fields(cls)}[name]
        allowed = f.metadata.get("allowed")
        if allowed is not None and not (value is None and f.default is None):
            allowed.check(name, value, None)

    @classmethod
    def parameters(cls) -> List[Parameter]:
        """The schedule's own parameters with their defaults and docs (the bounds appended)."""
        out = []
        for f in dataclasses.fields(cls):
            if f.name in TIMING:
                continue
            doc, allowed = f.metadata.get("doc", ""), f.metadata.get("allowed")
            if allowed is not None:
                doc = f"{doc}, {allowed.describe()}" if doc else allowed.describe()
            out.append(
                Parameter(f.name, f.default, doc, f.metadata.get("type") or _type_of(f.default))
            )
        return out


@dataclass(frozen=True)
class GradualSchedule(Schedule):
    """Fields shared by the schedules of eqs. (10)-(14): p_final, i_start, i_P."""

    final_sparsity: float = parameter(
        0.95, "p_final", allowed=Bounds(low=0.0, high=1.0, high_open=True)
    )
    start: int = parameter(
        0, "i_start, first pruning iteration", allowed=Bounds(low=0, integer=True)
    )
    end: int = parameter(
        1000,
        "i_P, iteration where p_final is reached",
        allowed=Bounds(low="start", low_open=True, integer=True),
    )
