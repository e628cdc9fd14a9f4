"""Pruning settings for RLlib, carried in ``AlgorithmConfig.learner_config_dict["pruning"]``.

One place for every setting: :class:`PruningConfig`. :func:`add_pruning` writes it into
an algorithm config (as a plain dict, so Tune's ``grid_search`` may sit inside) and adds
:class:`~pruning_callbacks.callback.PruningCallback` to the callbacks. The learner class
must include :class:`~pruning_callbacks.learner.PruningLearnerMixin` (for plain PPO:
``config.learners(learner_class=PrunedPPOTorchLearner)``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional, Sequence

from pruning_callbacks.masks import MODES, REGROW_FROM, SCOPES
from pruning_callbacks.schedules import SparsitySchedule, per_agent_schedules

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
        schedule: :class:`~pruning_callbacks.schedules.SparsitySchedule` fields. Each
            value is a scalar (all actors), a dict keyed by module id, or a list in the
            order of ``modules`` (then ``modules`` is required).
        mode: "hold" (masks re-applied after every optimizer step; the mask follows the
            schedule every iteration) or "regrow" (Remark 2: prune only every
            ``prune_every`` iterations, weights train freely between).
        prune_every: i_prune of Remark 2 (regrow mode): prune after iterations
            i with (i + 1) % prune_every == 0. Paper: 5.
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
            automatically (call :func:`~pruning_callbacks.callback.finalize_pruning`).
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
            raise ValueError(f"pruning.schedule must be a dict of schedule fields, got {self.schedule!r}")
        self.schedule = dict(self.schedule)
        known = {f.name for f in fields(SparsitySchedule)}
        unknown = set(self.schedule) - known
        if unknown:
            raise ValueError(f"pruning.schedule: unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
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
        if self.modules is not None:
            self.schedules(self.modules)  # validates every schedule now, not in a remote Learner

    def schedules(self, module_ids: Sequence[str]) -> Dict[str, SparsitySchedule]:
        """One schedule per module id (see ``schedule``)."""
        return per_agent_schedules(list(module_ids), **self.schedule)

    def masks_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments of :class:`~pruning_callbacks.masks.MagnitudePruner`."""
        return dict(mode=self.mode, scope=self.scope, prune_biases=self.prune_biases,
                    include=self.include, exclude=self.exclude, regrow_from=self.regrow_from)

    def is_pruning_event(self, i: int) -> bool:
        """Regrow mode: is iteration i (0-based) followed by a pruning event?"""
        return (i + 1) % self.prune_every == 0

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


def add_pruning(algo_config: Any, pruning: "PruningConfig | Mapping[str, Any]") -> Any:
    """Put ``pruning`` into ``algo_config.learner_config_dict`` and add the PruningCallback.

    Existing callbacks are kept (the callbacks become a list). Returns ``algo_config``.
    The learner class is not changed: it must include ``PruningLearnerMixin``.
    """
    from ray.rllib.callbacks.callbacks import RLlibCallback

    from pruning_callbacks.callback import PruningCallback

    cfg = PruningConfig.from_dict(pruning)
    algo_config.learners(learner_config_dict={LEARNER_CONFIG_KEY: cfg.to_dict()})
    current = algo_config.callbacks_class
    current = list(current) if isinstance(current, (list, tuple)) else [current]
    current = [c for c in current if c is not RLlibCallback and c is not None]
    if not any(isinstance(c, type) and issubclass(c, PruningCallback) for c in current):
        current.append(PruningCallback)
    algo_config.callbacks(current if len(current) > 1 else current[0])
    return algo_config
