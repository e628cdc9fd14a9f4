"""Search spaces of ``tune_schedules --search-space FILE``: a small JSON or YAML file.

Example (``rllib_experiments/search_spaces/pruning.yaml`` ships with the package)::

    metric: greedy                  # maximise the final greedy (or "stochastic") evaluation
    parameters:
      schedule: {choice: [harmonic, linear, polynomial]}
      prune_start_fraction: {uniform: [0.0, 0.3]}   # i_start / iterations
      prune_end_fraction: {uniform: [0.5, 1.0]}     # i_P / iterations
      amplitude: {uniform: [0.0, 0.2]}              # harmonic A of eq. (13)
      period_fraction: {uniform: [0.05, 0.5]}       # harmonic P / iterations
      prune_interval: {choice: [1, 5, 20]}          # i_prune
      final_sparsity: 0.95                          # a fixed value
      prune_scope: {choice: [all, head_dense]}
      actor_lr: {loguniform: [1.0e-4, 3.0e-3]}
      seed: {choice: [0, 1]}

A parameter is a fixed value or one distribution: ``choice`` (a list), ``uniform`` /
``loguniform`` ([low, high] floats), ``randint`` ([low, high] integers, high included).
Names are :class:`~rllib_experiments.settings.Settings` fields (scalars) or one of
:data:`DERIVED`, which are given relative to the budget or apply to one schedule:
``prune_start_fraction`` / ``prune_end_fraction`` (i_start, i_P as fractions of the
iterations), ``amplitude`` and ``period_fraction`` (harmonic only: ignored, and
recorded as unused, when the sampled schedule is another). ``--search grid`` takes
``choice`` and fixed values only and runs every combination.

Everything here is pure (no Ray): :func:`load_search_space` validates a file
(:class:`SearchSpaceError` names the parameter), :func:`settings_for` turns one sampled
point into Settings, :func:`corner_points` and :func:`pair_points` give the points that are
checked before any trial starts (every choice and both ends of every range, one parameter at
a time and every two together; a pruning end past the iterations is refused). A key given
twice in the file is refused, and a number written as text (YAML 1.1 reads ``1e-4``, without
a dot, as a string) is refused with the spelling to use (``1.0e-4``).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import numpy as np
import yaml

from rllib_experiments.settings import Settings, SettingsError

DISTRIBUTIONS = ("choice", "uniform", "loguniform", "randint")
#: Parameters that are not Settings fields under their own name.
DERIVED = ("prune_start_fraction", "prune_end_fraction", "amplitude", "period_fraction")
#: Which evaluation a search maximises (key of the trial's reports).
METRICS = {"greedy": "eval_greedy_mean", "stochastic": "eval_stochastic_mean"}
#: Settings fields a search may not vary (they change what a trial is, not how it trains).
FIXED_FIELDS = (
    "setup",
    "env",
    "iterations",
    "eval_interval",
    "eval_episodes",
    "num_env_runners",
    "num_envs_per_env_runner",
    "schedule_params",
    "hidden_sizes",
)
HARMONIC_ONLY = ("amplitude", "period_fraction")
FRACTIONS = ("prune_start_fraction", "prune_end_fraction", "period_fraction")
#: Settings field -> the derived parameters that set it (to name them in errors).
DERIVED_FROM = {
    "prune_start": ("prune_start_fraction",),
    "prune_end": ("prune_end_fraction",),
    "schedule_params": ("amplitude", "period_fraction"),
}


class SearchSpaceError(ValueError):
    """A bad search space; ``parameter`` names the entry (None: the file as a whole)."""

    def __init__(self, parameter, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass
class SearchSpace:
    """A validated search space: ``parameters`` name -> fixed value or {dist: args}."""

    parameters: Dict[str, Any]
    metric: str = "greedy"
    source: str = ""

    @property
    def metric_key(self) -> str:
        return METRICS[self.metric]

    def distributions(self) -> Dict[str, Dict[str, Any]]:
        return {k: v for k, v in self.parameters.items() if isinstance(v, Mapping)}

    def fixed(self) -> Dict[str, Any]:
        return {k: v for k, v in self.parameters.items() if not isinstance(v, Mapping)}

    def grid_size(self) -> int:
        """Number of combinations (``--search grid``); SearchSpaceError if a range is not a choice."""
        n = 1
        for name, spec in self.distributions().items():
            ((dist, values),) = spec.items()
            if dist != "choice":
                raise SearchSpaceError(
                    name,
                    f"search space {name}: --search grid takes 'choice' "
                    f"lists and fixed values only, got {dist!r}",
                )
            n *= len(values)
        return n

    def to_dict(self) -> Dict[str, Any]:
        return {"metric": self.metric, "parameters": self.parameters}


class _DuplicateKey(ValueError):
    """A key given twice in one mapping of a search-space file."""

    def __init__(self, key):
        super().__init__(key)
        self.key = key


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _unique_pairs(pairs):
    d = {}
    for key, value in pairs:
        if key in d:
            raise _DuplicateKey(key)
        d[key] = value
    return d


def _read(path: Path) -> Any:
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    return json.loads(text, object_pairs_hook=_unique_pairs)


def _numeric_text(value) -> bool:
    """A string that reads as a number (YAML 1.1 reads ``1e-4`` as text: no dot)."""
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _check_not_numeric_text(name: str, values) -> None:
    for v in values:
        if _numeric_text(v):
            raise SearchSpaceError(
                name,
                f"search space {name}: {v!r} is text, not a number (YAML reads an exponent "
                f"without a dot as a string: write {_with_dot(v)})",
            )


def _with_dot(text: str) -> str:
    mantissa, _, exponent = text.lower().partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}e{exponent}" if exponent else mantissa


def load_search_space(path) -> SearchSpace:
    """Read and validate a search-space file (module doc); SearchSpaceError on any problem."""
    path = Path(path)
    if not path.is_file():
        raise SearchSpaceError(None, f"search space file {str(path)!r} does not exist")
    try:
        data = _read(path)
    except _DuplicateKey as err:
        raise SearchSpaceError(
            err.key, f"search space file {str(path)!r}: key {err.key!r} given twice"
        ) from None
    except Exception as err:  # noqa: BLE001 -- any parse error is the file's
        raise SearchSpaceError(
            None,
            f"search space file {str(path)!r} is not valid "
            f"{'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: {err}",
        ) from None
    return parse_search_space(data, source=str(path))


def parse_search_space(data: Any, source: str = "") -> SearchSpace:
    """Validate the content of a search-space file (a dict with ``parameters``)."""
    if (
        not isinstance(data, Mapping)
        or not isinstance(data.get("parameters"), Mapping)
        or not data["parameters"]
    ):
        raise SearchSpaceError(
            None,
            "a search space is a mapping with a non-empty 'parameters' "
            "mapping (and optionally 'metric')",
        )
    unknown = sorted(set(data) - {"parameters", "metric"})
    if unknown:
        raise SearchSpaceError(
            unknown[0],
            f"search space: unknown top-level keys {unknown}; allowed: parameters, metric",
        )
    metric = data.get("metric", "greedy")
    if metric not in METRICS:
        raise SearchSpaceError(
            "metric", f"search space metric must be one of {list(METRICS)}, got {metric!r}"
        )
    allowed = sorted({f.name for f in fields(Settings)} - set(FIXED_FIELDS) | set(DERIVED))
    params: Dict[str, Any] = {}
    for name, spec in data["parameters"].items():
        if name not in allowed:
            raise SearchSpaceError(
                name, f"search space parameter {name!r} is not allowed; allowed: {allowed}"
            )
        _check_not_numeric_text(name, _raw_values(spec))
        params[name] = _check_spec(name, spec)
        if name in FRACTIONS:
            values = _values(params[name])
            if not all(_number(v) and 0 <= v <= 1 for v in values):
                raise SearchSpaceError(
                    name,
                    f"search space {name}: a fraction of the iterations, "
                    f"every value in [0, 1]; got {values}",
                )
    if ("prune_start" in params and "prune_start_fraction" in params) or (
        "prune_end" in params and "prune_end_fraction" in params
    ):
        raise SearchSpaceError(
            name,
            "search space: give i_start / i_P either as a fraction or as an iteration, not both",
        )
    return SearchSpace(params, metric, source)


def _values(spec) -> list:
    """The values a spec can take at its ends (a fixed value, every choice, both bounds)."""
    if not isinstance(spec, Mapping):
        return [spec]
    ((dist, args),) = spec.items()
    return list(args)


def _raw_values(spec) -> list:
    """The values written in a spec, before it is checked (for the numeric-text hint)."""
    if isinstance(spec, Mapping):
        values = [v for args in spec.values() for v in (args if isinstance(args, list) else [args])]
        return values
    return list(spec) if isinstance(spec, (list, tuple)) else [spec]


def _number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _check_spec(name: str, spec: Any) -> Any:
    if not isinstance(spec, Mapping):
        if isinstance(spec, (list, tuple)):
            raise SearchSpaceError(
                name, f"search space {name}: a list must be given as {{choice: {list(spec)}}}"
            )
        return spec
    if len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise SearchSpaceError(
            name,
            f"search space {name}: give one of {list(DISTRIBUTIONS)}, "
            f"e.g. {{uniform: [0.0, 1.0]}}; got {dict(spec)!r}",
        )
    ((dist, args),) = spec.items()
    if dist == "choice":
        if not isinstance(args, (list, tuple)) or not args:
            raise SearchSpaceError(name, f"search space {name}: choice needs a non-empty list")
        return {"choice": list(args)}
    if (
        not isinstance(args, (list, tuple))
        or len(args) != 2
        or not all(_number(a) for a in args)
        or not args[0] < args[1]
    ):
        raise SearchSpaceError(
            name,
            f"search space {name}: {dist} needs [low, high] numbers with low < high, got {args!r}",
        )
    if dist == "loguniform" and args[0] <= 0:
        raise SearchSpaceError(
            name, f"search space {name}: loguniform needs low > 0, got {args[0]}"
        )
    if dist == "randint" and not all(float(a).is_integer() for a in args):
        raise SearchSpaceError(
            name, f"search space {name}: randint needs integer bounds, got {args}"
        )
    return {dist: [int(a) for a in args] if dist == "randint" else [float(a) for a in args]}


def settings_for(base: Mapping[str, Any], point: Mapping[str, Any]) -> Settings:
    """Settings of one sampled point over the base Settings dict (validated).

    Derived parameters become Settings fields (fractions times the iterations, harmonic
    parameters into ``schedule_params``); harmonic-only ones are dropped for another schedule.
    """
    d = dict(base)
    point = dict(point)
    iterations = int(point.get("iterations", d["iterations"]))
    schedule = point.get("schedule", d["schedule"])
    params = dict(d.get("schedule_params") or {})
    if schedule != "harmonic":
        params = {}
    for name in HARMONIC_ONLY:
        value = point.pop(name, None)
        if value is None or schedule != "harmonic":
            continue
        params["amplitude" if name == "amplitude" else "period"] = (
            float(value) if name == "amplitude" else max(1.0, float(value) * iterations)
        )
    start = point.pop("prune_start_fraction", None)
    if start is not None:
        point["prune_start"] = int(round(float(start) * iterations))
    end = point.pop("prune_end_fraction", None)
    if end is not None:
        first = int(point.get("prune_start", d.get("prune_start", 0)))
        point["prune_end"] = max(first + 1, int(round(float(end) * iterations)))
    d.update(point)
    d["schedule_params"] = params
    return Settings.from_dict(d).validate()


#: Search parameters that a variant modifier of the same value sets
#: (:mod:`rllib_experiments.methods.variants`), in the order the modifiers are applied.
MODIFIER_OF = {
    "prune_start_fraction": "start",
    "prune_end_fraction": "end",
    "amplitude": "amp",
    "period_fraction": "period",
    "prune_interval": "iprune",
    "final_sparsity": "p",
    "actor_lr": "alr",
    "critic_lr": "clr",
}
#: Search parameters whose value is itself a modifier (``head_dense``, ``hold``, ...).
NAMED_MODIFIERS = ("prune_scope", "prune_mode")
#: The Table I rows a point's ``schedule`` starts a variant from.
SCHEDULE_ROWS = ("harmonic", "linear", "polynomial")


def _decimal(value) -> str:
    """A number as variant modifiers write it: plain decimal digits, no exponent, round-tripping."""
    return np.format_float_positional(float(value), trim="-")


def variant_key(point: Mapping[str, Any]) -> Optional[str]:
    """The pruning-study row ``SCHEDULE+MOD+...`` of a point, or None when a parameter has no
    modifier (e.g. ``entropy_coeff``). Harmonic-only parameters of another schedule are left
    out, as :func:`settings_for` ignores them. The key is a candidate: a caller checks that
    the row's Settings equal :func:`settings_for`'s (tune_search does)."""
    schedule = point.get("schedule")
    if schedule not in SCHEDULE_ROWS:
        return None
    unused = set(unused_parameters(point))
    known = set(MODIFIER_OF) | set(NAMED_MODIFIERS) | {"schedule", "seed"}
    if set(point) - known:
        return None
    mods = [str(point[n]) for n in NAMED_MODIFIERS if n in point]
    mods += [
        prefix + _decimal(point[n])
        for n, prefix in MODIFIER_OF.items()
        if n in point and n not in unused
    ]
    return "+".join([schedule, *mods])


def unused_parameters(point: Mapping[str, Any]) -> List[str]:
    """Parameters of a point that its schedule ignores (harmonic-only ones of another schedule)."""
    if point.get("schedule", "harmonic") == "harmonic":
        return []
    return [k for k in HARMONIC_ONLY if k in point]


def corner_points(space: SearchSpace) -> List[Dict[str, Any]]:
    """Points checked before any trial starts: each choice and each range end, one at a time,
    the other parameters at their first choice / lower end."""

    def first(spec):
        if not isinstance(spec, Mapping):
            return spec
        ((dist, args),) = spec.items()
        return args[0]

    base = {k: first(v) for k, v in space.parameters.items()}
    points = [dict(base)]
    for name, spec in space.distributions().items():
        ((dist, args),) = spec.items()
        for value in args[1:] if dist == "choice" else args[-1:]:
            points.append({**base, name: value})
    return points


def pair_points(space: SearchSpace) -> List[Dict[str, Any]]:
    """Points that vary two parameters together: every pair of their values at the ends
    (each choice, both range ends), the other parameters at their first choice / lower end.
    A combination no trial could run (minibatch_episodes above episodes_per_iteration) is
    found here, where :func:`corner_points` varies one parameter at a time."""
    ends = {}
    for name, spec in space.parameters.items():
        ends[name] = _values(spec) if isinstance(spec, Mapping) else [spec]
    base = {k: v[0] for k, v in ends.items()}
    varied = [k for k, v in ends.items() if len(v) > 1]
    points = []
    for i, a in enumerate(varied):
        for b in varied[i + 1 :]:
            for va in ends[a][1:]:
                for vb in ends[b][1:]:
                    points.append({**base, a: va, b: vb})
    return points


def check_space(space: SearchSpace, base: Mapping[str, Any]) -> None:
    """Build the Settings of every corner point, then of every pair of parameters at their
    ends: a value or a combination no trial could run fails now, as a SearchSpaceError
    naming the parameter(s). A pruning end past the iterations is refused too (the run
    would never reach its final sparsity)."""
    first = corner_points(space)[0]
    for point in corner_points(space) + pair_points(space):
        varied = [k for k in point if point[k] != first.get(k)]
        try:
            settings = settings_for(base, point)
        except SettingsError as err:
            name = _parameter_of(space, err.field)
            both = [k for k in varied if k != name]
            if len(varied) > 1 and both:
                names = " and ".join([name, *both] if name in varied else varied)
                raise SearchSpaceError(
                    name,
                    f"search space {names}: not every combination can run: {err} (at {point})",
                ) from None
            raise SearchSpaceError(name, f"search space {name}: {err} (at {point})") from None
        if settings.prune_end is not None and settings.prune_end > settings.iterations:
            name = _parameter_of(space, "prune_end")
            raise SearchSpaceError(
                name,
                f"search space {name}: prune_end {settings.prune_end} is past the "
                f"{settings.iterations} iterations (the run would never reach its final "
                f"sparsity) (at {point})",
            )


def _parameter_of(space: SearchSpace, field: str) -> str:
    """The search parameter that sets a Settings field (the field itself when none does)."""
    if field in space.parameters:
        return field
    return next((d for d in DERIVED_FROM.get(field, ()) if d in space.parameters), field)


def point_id(point: Mapping[str, Any]) -> str:
    """Short stable hash of a point (its trial folder's suffix)."""
    text = json.dumps({k: point[k] for k in sorted(point)}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]
