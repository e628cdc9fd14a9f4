"""Pruning settings for RLlib, carried in ``AlgorithmConfig.learner_config_dict["pruning"]``.

One place for every setting: :class:`PruningConfig`, validated here, once, when it is
built (a Learner rebuilds it from the dict it receives, which checks that dict).
Which check lives where: the choices (algorithm, distribution, mode, ranking, regrow_from),
the timing (prune_interval, final_iteration, update_interval, drop_end) and the drop
fraction are checked in :meth:`PruningConfig.__post_init__`;
every schedule parameter (final_sparsity, start, end, ...) by its schedule's declared
:class:`~pruning_callbacks.schedules.Bounds`, when the per-module schedules are built
there. Errors are :class:`PruningConfigError`, naming the field (and the schedule
parameter). Needs neither torch nor ray.

:func:`~pruning_callbacks.rllib.callback.add_pruning` writes it into an algorithm
config and adds the callback. The learner class must include
:class:`~pruning_callbacks.rllib.learner.PruningLearnerMixin` (for plain PPO:
``config.learners(learner_class=PrunedPPOTorchLearner)``).
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional, Sequence

from pruning_callbacks.algorithms import (
    DEFAULT_ALGORITHM,
    DISTRIBUTIONS,
    algorithm_entry,
    algorithm_names,
)
from pruning_callbacks.mask_options import MODES, RANKINGS, REGROW_FROM
from pruning_callbacks.schedules import (
    DEFAULT_SCHEDULE,
    TIMING,
    Schedule,
    check_schedule_keys,
    per_agent_schedules,
    schedule_class,
)

LEGACY_FIELDS = {"scope": "ranking", "prune_every": "prune_interval"}
"""Older names of PruningConfig fields -> today's: :meth:`PruningConfig.from_dict` reads them."""

FROM_SCRATCH_SCHEDULES = ("constant", "none")
"""Schedules a sparse-from-scratch algorithm takes: at its target from the start, or dense."""

DROP_END_FRACTION = 0.75
"""drop_end = round(0.75 final_iteration) when not given (Evci et al. stop updating at 75 %)."""

LEARNER_CONFIG_KEY = "pruning"
"""Key of the pruning settings in ``AlgorithmConfig.learner_config_dict``."""

DEFAULT_EXCLUDE = ("vf.*", "*critic_encoder*")
"""RLlib's default PPO module keeps its value head in ``vf`` and, with
``vf_share_layers=False``, a separate ``encoder.critic_encoder``: both stay dense
(Remark 1: critics are never pruned)."""


class PruningConfigError(ValueError):
    """A bad pruning setting: ``field`` names the PruningConfig field, ``parameter`` the
    schedule parameter when the field is ``schedule`` (None: the schedule name itself)."""

    def __init__(self, field: str, message: str, parameter: Optional[str] = None):
        super().__init__(message)
        self.field = field
        self.parameter = parameter


@dataclass
class PruningConfig:
    """Pruning of actor modules inside an RLlib Learner (Section III-D, Remarks 1-2).

    Fields:
        modules: module ids of the actors to prune; None = every module of the
            learner's MultiRLModule that is not ``learner_only`` (so a learner-only
            critic is never touched). List them explicitly when the MultiRLModule holds
            other modules that must stay dense.
        schedule: ``{"name": ..., **params}``: a registered schedule name (default
            "harmonic") and that schedule's own parameters
            (:func:`~pruning_callbacks.schedules.schedule_parameters`). Each value,
            the name too, is a scalar (all actors), a dict keyed by module id, or a list
            in the order of ``modules`` (then ``modules`` is required). The timing
            fields (prune_interval, final_iteration) come from ``mode``, ``prune_interval``
            and ``final_iteration`` below, not from here.
        mode: "hold" (masks re-applied after every optimizer step and recomputed every
            iteration, so the mask follows the schedule) or "regrow" (Remark 2: masks
            recomputed every ``prune_interval`` iterations, weights train freely between).
        prune_interval: i_prune of Remark 2, used by regrow mode: masks recomputed after
            iterations i with (i + 1) % prune_interval == 0. Paper: 5. See
            :attr:`schedule_prune_interval`.
        ranking: "layer" (default: every matrix pruned to p) or "global" (one ranking
            over all matrices of an actor).
        prune_biases: prune biases too (default False).
        regrow_from: hold mode, value of weights released when the target drops:
            "zero" (default) or "pruned_value" (the value they had when pruned).
        include: fnmatch patterns narrowing the prunable parameters (None = all weight
            matrices).
        exclude: fnmatch patterns of parameters kept dense (default: RLlib PPO value parts).
        final_iteration: I_T. At iteration I_T - 1 (0-based) every actor is finalized:
            pruned to exactly its final_sparsity, masks held from then on. None = never
            automatically (call :func:`~pruning_callbacks.rllib.callback.finalize_pruning`).
        algorithm: the sparse training algorithm, a name of
            :data:`~pruning_callbacks.algorithms.ALGORITHMS`: "magnitude" (default: gradual
            magnitude pruning along the schedule), "static", "set", "rigl" (sparse from
            scratch: their schedule must be "constant", or "none" for a dense module; they
            hold their masks at every step, so mode, prune_interval and regrow_from do not
            apply to them, and they need ranking "layer").
        distribution: how a module's sparsity is spread over its tensors: "uniform"
            (default: each to the target) or "erk" (Erdős–Rényi kernel; ranking "layer").
        update_interval: Delta T of SET and RigL: their masks move after iterations i with
            (i + 1) % update_interval == 0 (default 10).
        drop_fraction: SET and RigL's initial drop fraction f_0, in (0, 1] (default 0.3).
        drop_end: iteration where the drop fraction's cosine decay reaches 0 (no mask
            update from then on); None = round(0.75 final_iteration).
    """

    modules: Optional[List[str]] = None
    schedule: Dict[str, Any] = field(
        default_factory=lambda: {"name": "harmonic", "final_sparsity": 0.95, "end": 1000}
    )
    mode: str = "hold"
    prune_interval: int = 5
    ranking: str = "layer"
    prune_biases: bool = False
    regrow_from: str = "zero"
    include: Optional[List[str]] = None
    exclude: List[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    final_iteration: Optional[int] = None
    algorithm: str = DEFAULT_ALGORITHM
    distribution: str = "uniform"
    update_interval: int = 10
    drop_fraction: float = 0.3
    drop_end: Optional[int] = None

    def __post_init__(self) -> None:
        if self.modules is not None:
            if isinstance(self.modules, (str, bytes)) or not isinstance(self.modules, Sequence):
                raise PruningConfigError(
                    "modules",
                    f"pruning.modules must be a list of module ids or None, got {self.modules!r}",
                )
            self.modules = list(self.modules)
            if len(set(self.modules)) != len(self.modules) or not self.modules:
                raise PruningConfigError(
                    "modules",
                    f"pruning.modules must be non-empty and without repeats, got {self.modules}",
                )
        if not isinstance(self.schedule, Mapping):
            raise PruningConfigError(
                "schedule",
                f"pruning.schedule must be a dict {{'name': ..., **params}}, got {self.schedule!r}",
            )
        self.schedule = dict(self.schedule)
        self._check_schedule_keys()
        if self.modules is None and any(
            isinstance(v, (list, tuple)) for v in self.schedule.values()
        ):
            raise PruningConfigError(
                "modules",
                "pruning.schedule: a list of per-module values needs pruning.modules (their order)",
            )
        for name, allowed in (("mode", MODES), ("ranking", RANKINGS), ("regrow_from", REGROW_FROM)):
            if getattr(self, name) not in allowed:
                raise PruningConfigError(
                    name,
                    f"pruning.{name} must be one of {list(allowed)}, got {getattr(self, name)!r}",
                )
        if not isinstance(self.prune_biases, bool):
            raise PruningConfigError(
                "prune_biases",
                f"pruning.prune_biases must be true or false, got {self.prune_biases!r}",
            )
        if not _is_int(self.prune_interval, 1):
            raise PruningConfigError(
                "prune_interval",
                f"pruning.prune_interval must be an integer >= 1, got {self.prune_interval!r}",
            )
        if self.final_iteration is not None and not _is_int(self.final_iteration, 1):
            raise PruningConfigError(
                "final_iteration",
                "pruning.final_iteration must be None or an "
                f"integer >= 1, got {self.final_iteration!r}",
            )
        self._check_algorithm()
        self.include = None if self.include is None else list(self.include)
        self.exclude = list(self.exclude)
        # validate every schedule now rather than in a remote Learner
        if self.modules is not None:
            self.schedules(self.modules)
        elif not any(isinstance(v, (Mapping, list, tuple)) for v in self.schedule.values()):
            self.schedules(["any module"])

    def _check_schedule_keys(self) -> None:
        timing = sorted(set(self.schedule) & set(TIMING))
        if timing:
            raise PruningConfigError(
                "schedule",
                f"pruning.schedule: {timing} are set by pruning.mode, pruning.prune_interval and "
                "pruning.final_iteration, not inside the schedule",
                timing[0],
            )
        name = self.schedule.get("name", DEFAULT_SCHEDULE)
        try:
            if isinstance(name, (Mapping, list, tuple)):
                # the keys then differ per module: schedules() checks them module by module
                for each in name.values() if isinstance(name, Mapping) else name:
                    schedule_class(each)
            else:
                check_schedule_keys(name, [k for k in self.schedule if k != "name"], timing=False)
        except ValueError as e:  # ScheduleError names the parameter
            raise PruningConfigError(
                "schedule", f"pruning.schedule: {e}", getattr(e, "parameter", None)
            ) from None

    def _check_algorithm(self) -> None:
        try:
            entry = algorithm_entry(self.algorithm)
        except (ValueError, TypeError):
            raise PruningConfigError(
                "algorithm",
                f"pruning.algorithm must be one of {algorithm_names()}, got {self.algorithm!r}",
            ) from None
        if self.distribution not in DISTRIBUTIONS:
            raise PruningConfigError(
                "distribution",
                f"pruning.distribution must be one of {list(DISTRIBUTIONS)}, "
                f"got {self.distribution!r}",
            )
        if self.ranking != "layer" and (self.distribution != "uniform" or entry.from_scratch):
            raise PruningConfigError(
                "ranking",
                f"pruning.ranking must be 'layer' with pruning.algorithm {self.algorithm!r} "
                f"and pruning.distribution {self.distribution!r}, got {self.ranking!r} (a "
                "global ranking spreads the sparsity over the tensors itself)",
            )
        if not _is_int(self.update_interval, 1):
            raise PruningConfigError(
                "update_interval",
                f"pruning.update_interval must be an integer >= 1, got {self.update_interval!r}",
            )
        f = self.drop_fraction
        if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0.0 < f <= 1.0:
            raise PruningConfigError(
                "drop_fraction", f"pruning.drop_fraction must be a number in (0, 1], got {f!r}"
            )
        if self.drop_end is not None and not _is_int(self.drop_end, 1):
            raise PruningConfigError(
                "drop_end",
                f"pruning.drop_end must be None or an integer >= 1, got {self.drop_end!r}",
            )
        if entry.from_scratch:
            name = self.schedule.get("name", DEFAULT_SCHEDULE)
            if isinstance(name, Mapping):
                names = list(name.values())
            else:
                names = list(name) if isinstance(name, (list, tuple)) else [name]
            wrong = sorted({str(n) for n in names if n not in FROM_SCRATCH_SCHEDULES})
            if wrong:
                raise PruningConfigError(
                    "schedule",
                    f"pruning.schedule: algorithm {self.algorithm!r} is sparse from the start, "
                    f"so its schedule name must be one of {list(FROM_SCRATCH_SCHEDULES)} "
                    f"('constant' at final_sparsity; 'none' keeps a module dense), got {wrong}",
                    "name",
                )
        if entry.regrows and self.drop_end is None and self.final_iteration is None:
            raise PruningConfigError(
                "drop_end",
                f"pruning.drop_end: algorithm {self.algorithm!r} needs the iteration where its "
                "drop fraction reaches 0: give pruning.drop_end or pruning.final_iteration",
            )

    @property
    def drop_end_iteration(self) -> Optional[int]:
        """drop_end, or round(0.75 final_iteration) when it is None (None if both are)."""
        if self.drop_end is not None:
            return int(self.drop_end)
        if self.final_iteration is None:
            return None
        return max(1, int(round(DROP_END_FRACTION * self.final_iteration)))

    @property
    def schedule_prune_interval(self) -> int:
        """i_prune fed to the schedules: 1 in hold mode, ``prune_interval`` in regrow mode.

        Hold mode keeps its masks between recomputations, so with k > 1 the mask would
        lag the schedule by up to k - 1 iterations; it recomputes every iteration, as
        every hold run so far did. Regrow mode needs the pauses to let weights regrow.
        """
        return 1 if self.mode == "hold" else int(self.prune_interval)

    def schedules(self, module_ids: Sequence[str]) -> Dict[str, Schedule]:
        """One schedule per module id (see ``schedule``), with this config's mask-update timing."""
        try:
            return per_agent_schedules(
                list(module_ids),
                **self.schedule,
                prune_interval=self.schedule_prune_interval,
                final_iteration=self.final_iteration,
            )
        except ValueError as e:  # ScheduleError names the parameter
            raise PruningConfigError(
                "schedule", f"pruning.schedule: {e}", getattr(e, "parameter", None)
            ) from None

    def masks_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments of :class:`~pruning_callbacks.masks.MagnitudePruner`."""
        return dict(
            mode=self.mode,
            ranking=self.ranking,
            prune_biases=self.prune_biases,
            include=self.include,
            exclude=self.exclude,
            regrow_from=self.regrow_from,
            distribution=self.distribution,
        )

    def algorithm_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments of the algorithm's class (beside module, schedule and seed)."""
        return dict(
            self.masks_kwargs(),
            update_interval=int(self.update_interval),
            drop_fraction=float(self.drop_fraction),
            drop_end=self.drop_end_iteration,
        )

    def to_dict(self) -> Dict[str, Any]:
        """Plain dict for ``learner_config_dict``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PruningConfig":
        """Validate a dict (e.g. from ``learner_config_dict["pruning"]``); unknown keys are errors.

        Keys under their older names (:data:`LEGACY_FIELDS`: ``scope``, ``prune_every``) are
        read as today's.
        """
        if isinstance(d, PruningConfig):
            return d
        if not isinstance(d, Mapping):
            raise ValueError(
                f"learner_config_dict['pruning'] must be a dict, got {type(d).__name__}"
            )
        d = {LEGACY_FIELDS.get(k, k): v for k, v in d.items()}
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"pruning: unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**dict(d))


def _is_int(value: Any, minimum: int) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and int(value) == value
        and value >= minimum
    )
