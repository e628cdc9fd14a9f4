"""Pruning settings for RLlib, carried in ``AlgorithmConfig.learner_config_dict["pruning"]``.

One place for every setting: :class:`PruningConfig`, validated here and again by each
Learner. :func:`~pruning_callbacks.rllib.callback.add_pruning` writes it into an algorithm
config and adds the callback. The learner class must include
:class:`~pruning_callbacks.rllib.learner.PruningLearnerMixin` (for plain PPO:
``config.learners(learner_class=PrunedPPOTorchLearner)``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional, Sequence

from pruning_callbacks.masks import MODES, REGROW_FROM, SCOPES
from pruning_callbacks.schedules import (
    DEFAULT_SCHEDULE,
    TIMING,
    Schedule,
    check_schedule_keys,
    per_agent_schedules,
    schedule_class,
)

LEARNER_CONFIG_KEY = "pruning"
"""Key of the pruning settings in ``AlgorithmConfig.learner_config_dict``."""

DEFAULT_EXCLUDE = ("vf.*", "*critic_encoder*")
"""RLlib's default PPO module keeps its value head in ``vf`` and, with
``vf_share_layers=False``, a separate ``encoder.critic_encoder``: both stay dense
(Remark 1: critics are never pruned)."""


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
            fields (update_every, final_iteration) come from ``mode``, ``prune_every``
            and ``final_iteration`` below, not from here.
        mode: "hold" (masks re-applied after every optimizer step and recomputed every
            iteration, so the mask follows the schedule) or "regrow" (Remark 2: masks
            recomputed every ``prune_every`` iterations, weights train freely between).
        prune_every: i_prune of Remark 2, used by regrow mode: masks recomputed after
            iterations i with (i + 1) % prune_every == 0. Paper: 5. See
            :attr:`update_every`.
        scope: "layer" (default: every matrix pruned to p) or "global" (one ranking
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
    """

    modules: Optional[List[str]] = None
    schedule: Dict[str, Any] = field(
        default_factory=lambda: {"name": "harmonic", "final_sparsity": 0.95, "end": 1000}
    )
    mode: str = "hold"
    prune_every: int = 5
    scope: str = "layer"
    prune_biases: bool = False
    regrow_from: str = "zero"
    include: Optional[List[str]] = None
    exclude: List[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    final_iteration: Optional[int] = None

    def __post_init__(self) -> None:
        if self.modules is not None:
            if isinstance(self.modules, (str, bytes)) or not isinstance(self.modules, Sequence):
                raise ValueError(f"pruning.modules must be a list of module ids or None, got {self.modules!r}")
            self.modules = list(self.modules)
            if len(set(self.modules)) != len(self.modules) or not self.modules:
                raise ValueError(f"pruning.modules must be non-empty and without repeats, got {self.modules}")
        if not isinstance(self.schedule, Mapping):
            raise ValueError(f"pruning.schedule must be a dict {{'name': ..., **params}}, got {self.schedule!r}")
        self.schedule = dict(self.schedule)
        self._check_schedule_keys()
        if self.modules is None and any(isinstance(v, (list, tuple)) for v in self.schedule.values()):
            raise ValueError("pruning.schedule: a list of per-module values needs pruning.modules (their order)")
        if self.mode not in MODES:
            raise ValueError(f"pruning.mode must be one of {MODES}, got {self.mode!r}")
        if self.scope not in SCOPES:
            raise ValueError(f"pruning.scope must be one of {SCOPES}, got {self.scope!r}")
        if self.regrow_from not in REGROW_FROM:
            raise ValueError(f"pruning.regrow_from must be one of {REGROW_FROM}, got {self.regrow_from!r}")
        if int(self.prune_every) != self.prune_every or self.prune_every < 1:
            raise ValueError(f"pruning.prune_every must be an integer >= 1, got {self.prune_every!r}")
        if self.final_iteration is not None and (
            int(self.final_iteration) != self.final_iteration or self.final_iteration < 1
        ):
            raise ValueError(f"pruning.final_iteration must be None or an integer >= 1, got {self.final_iteration!r}")
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
            raise ValueError(
                f"pruning.schedule: {timing} are set by pruning.mode, pruning.prune_every and "
                "pruning.final_iteration, not inside the schedule"
            )
        name = self.schedule.get("name", DEFAULT_SCHEDULE)
        try:
            if isinstance(name, (Mapping, list, tuple)):
                # the keys then differ per module: schedules() checks them module by module
                for each in (name.values() if isinstance(name, Mapping) else name):
                    schedule_class(each)
            else:
                check_schedule_keys(name, [k for k in self.schedule if k != "name"], timing=False)
        except ValueError as e:
            raise ValueError(f"pruning.schedule: {e}") from None

    @property
    def update_every(self) -> int:
        """i_prune fed to the schedules: 1 in hold mode, ``prune_every`` in regrow mode.

        Hold mode keeps its masks between recomputations, so with k > 1 the mask would
        lag the schedule by up to k - 1 iterations; it recomputes every iteration, as
        every hold run so far did. Regrow mode needs the pauses to let weights regrow.
        """
        return 1 if self.mode == "hold" else int(self.prune_every)

    def schedules(self, module_ids: Sequence[str]) -> Dict[str, Schedule]:
        """One schedule per module id (see ``schedule``), with this config's mask-update timing."""
        try:
            return per_agent_schedules(list(module_ids), **self.schedule,
                                       update_every=self.update_every, final_iteration=self.final_iteration)
        except ValueError as e:
            raise ValueError(f"pruning.schedule: {e}") from None

    def masks_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments of :class:`~pruning_callbacks.masks.MagnitudePruner`."""
        return dict(mode=self.mode, scope=self.scope, prune_biases=self.prune_biases,
                    include=self.include, exclude=self.exclude, regrow_from=self.regrow_from)

    def to_dict(self) -> Dict[str, Any]:
        """Plain dict for ``learner_config_dict``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PruningConfig":
        """Validate a dict (e.g. from ``learner_config_dict["pruning"]``); unknown keys are errors."""
        if isinstance(d, PruningConfig):
            return d
        if not isinstance(d, Mapping):
            raise ValueError(f"learner_config_dict['pruning'] must be a dict, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"pruning: unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**dict(d))

