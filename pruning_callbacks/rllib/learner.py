"""Learner-side pruning for RLlib's new API stack: a mixin for any ``TorchLearner``.

Why inside the Learner (see docs/pruning.md): env runners only accept weights whose
sequence number is newer than theirs, and ``Learner.update`` bumps that number. Masks
applied inside ``update`` (after every optimizer step, and the iteration's pruning step
in ``after_gradient_based_update``) are part of the weights that the algorithm's normal
post-update sync ships, so learner and env runners act with the same pruned actors.

Combine the mixin with a learner class by listing it FIRST::

    class MyPrunedLearner(PruningLearnerMixin, MyTorchLearner): ...

It overrides ``build``, ``apply_gradients``, ``after_gradient_based_update``,
``get_state`` and ``set_state``, always calling ``super()``, so the learner's own
overrides of these run unchanged. It touches only the module ids of
``PruningConfig.modules`` (default: the non-learner-only modules).

Each pruned actor gets one object of its :attr:`PruningConfig.algorithm`
(:mod:`pruning_callbacks.algorithms`; seeded with :func:`~pruning_callbacks.algorithms.base.module_seed`
of the algorithm config's ``seed`` and the module id). Per iteration i (0-based, told by
:class:`~pruning_callbacks.rllib.callback.PruningCallback`, else counted by the learner):
the update trains with the current masks held (hold mode, and always for the
sparse-from-scratch algorithms) or with none (regrow mode); then the algorithm's ``step(i)``
moves the masks. For "magnitude" each actor's schedule decides: from ``final_iteration - 1``
on it is finalized to p_final, otherwise it is pruned to p_i if
``schedule.is_mask_update_iter(i)`` (its ``prune_interval`` is
:attr:`PruningConfig.schedule_prune_interval`). The optimizer state (e.g. Adam's moments)
of entries a step dropped or grew is reset to zero. Modules whose schedule is dense ("none")
get no masks. Logged per module, the same iteration, in
``result["learners"][module_id]``: ``sparsity`` (actual zero fraction of the prunable
weights after this iteration), ``target_sparsity`` (p_i), ``mask_sparsity`` (fraction
the current masks prune) and ``pruning_event`` (1 if the masks were recomputed), for SET and
RigL also ``drop_fraction``, ``num_dropped`` and ``num_grown``; in ``result["learners"]["__all_modules__"]``:
``mean_sparsity``, ``mean_target_sparsity`` and ``pruning_iteration`` (i).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Mapping, Optional

from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.core import ALL_MODULES

import torch

from pruning_callbacks.algorithms import algorithm_class, algorithm_entry
from pruning_callbacks.algorithms.base import SparseAlgorithm, module_seed
from pruning_callbacks.rllib.pruning_config import LEARNER_CONFIG_KEY, PruningConfig

logger = logging.getLogger(__name__)

PRUNING_STATE_KEY = "pruning"
"""Key of the pruning state (masks, schedule position) inside the Learner's state."""


class PruningLearnerMixin:
    """Adds magnitude pruning of actor modules to a ``TorchLearner`` subclass.

    Settings come from ``config.learner_config_dict["pruning"]`` (a
    :class:`~pruning_callbacks.rllib.pruning_config.PruningConfig` as dict); without that key the
    mixin does nothing. Public methods (call them on the learner, e.g. through
    ``learner_group.foreach_learner``): :meth:`set_pruning_iteration`,
    :meth:`finalize_pruning`, :meth:`pruning_summary`.
    """

    # ----------------------------------------------------------------- set-up
    def build(self, *args, **kwargs) -> None:
        super().build(*args, **kwargs)
        self._pruning_config: Optional[PruningConfig] = None
        self._pruners: Dict[str, SparseAlgorithm] = {}
        self._pruning_schedules = {}
        self._pruning_iteration = 0
        self._pruning_grad_refs: Dict[Any, tuple] = {}
        raw = (self.config.learner_config_dict or {}).get(LEARNER_CONFIG_KEY)
        if raw is None:
            return
        cfg = PruningConfig.from_dict(raw)
        if cfg.modules is None:
            learner_only = self._learner_only_module_ids()
            module_ids = sorted(mid for mid in self.module.keys() if mid not in learner_only)
            if not module_ids:
                raise ValueError(
                    "pruning.modules is None but every module is learner_only: list the actors"
                )
        else:
            missing = [mid for mid in cfg.modules if mid not in self.module]
            if missing:
                raise ValueError(
                    f"pruning.modules {missing} are not in the learner's MultiRLModule "
                    f"(it has {sorted(self.module.keys())})"
                )
            module_ids = list(cfg.modules)
        self._pruning_config = cfg
        schedules = cfg.schedules(module_ids)
        self._pruning_schedules = {mid: s for mid, s in schedules.items() if s.prunes}
        cls = algorithm_class(cfg.algorithm)
        seed = getattr(self.config, "seed", None)
        for mid, schedule in self._pruning_schedules.items():
            module = self.module[mid]
            module = module.unwrapped() if hasattr(module, "unwrapped") else module
            pruner = cls(module, schedule, seed=module_seed(seed, mid), **cfg.algorithm_kwargs())
            self._pruners[mid] = pruner
            for name, p in pruner.params.items():
                self._pruning_grad_refs[self.get_param_ref(p)] = (mid, name)
        logger.info("pruning %s: %s", sorted(self._pruning_schedules), cfg.to_dict())

    def _learner_only_module_ids(self) -> set:
        """Ids of learner-only modules, from the modules and from the module specs.

        Ray 2.60's ``RLModuleSpec.build`` does not pass ``learner_only`` to the module,
        so the built module says False; the spec keeps the truth.
        """
        ids = {mid for mid, m in self.module.items() if getattr(m, "learner_only", False)}
        specs = [getattr(self, "_module_spec", None)]
        try:
            specs.append(self.config.rl_module_spec)
        except Exception:  # noqa: BLE001 - a config without a usable spec: rely on the rest
            pass
        for spec in specs:
            per_module = getattr(spec, "rl_module_specs", None)
            if isinstance(per_module, Mapping):
                ids |= {mid for mid, s in per_module.items() if getattr(s, "learner_only", False)}
        return ids

    # ------------------------------------------------------------ per step
    def apply_gradients(self, gradients_dict, *args, **kwargs) -> None:
        """Mask the pruned entries' gradients, step the optimizers, re-apply held masks.

        An algorithm that wants them (RigL, on iterations that end in a mask update) first
        sees the dense gradients, after post-processing (clipping), before the masking.
        """
        if self._pruners:
            wants = {
                mid for mid, p in self._pruners.items() if p.wants_gradient(self._pruning_iteration)
            }
            for ref, (mid, name) in self._pruning_grad_refs.items():
                g = gradients_dict.get(ref)
                if g is not None:
                    if mid in wants:
                        self._pruners[mid].observe_gradient(name, g)
                    gradients_dict[ref] = self._pruners[mid].masked_gradient(name, g)
        super().apply_gradients(gradients_dict, *args, **kwargs)
        for pruner in self._pruners.values():
            pruner.after_optimizer_step()

    # ------------------------------------------------------- per iteration
    def after_gradient_based_update(self, *, timesteps: Dict[str, Any]) -> None:
        """Step 3 of the paper's iteration: each actor's algorithm moves its masks (prunes
        to p_i), the optimizer state of changed entries is reset, the sparsity logged."""
        super().after_gradient_based_update(timesteps=timesteps)
        if not self._pruners:
            return
        i = self._pruning_iteration
        sparsities, targets = [], []
        for mid, pruner in self._pruners.items():
            target, event, changed, extra = pruner.step(i)
            if changed:
                self._reset_optimizer_state(mid, changed)
            for key, value in extra.items():
                self.metrics.log_value((mid, key), value, window=1)
            actual = pruner.sparsity()
            sparsities.append(actual)
            targets.append(target)
            self.metrics.log_value((mid, "sparsity"), actual, window=1)
            self.metrics.log_value((mid, "target_sparsity"), target, window=1)
            self.metrics.log_value((mid, "mask_sparsity"), pruner.mask_sparsity(), window=1)
            self.metrics.log_value((mid, "pruning_event"), int(event), window=1)
        self.metrics.log_value(
            (ALL_MODULES, "mean_sparsity"), sum(sparsities) / len(sparsities), window=1
        )
        self.metrics.log_value(
            (ALL_MODULES, "mean_target_sparsity"), sum(targets) / len(targets), window=1
        )
        self.metrics.log_value((ALL_MODULES, "pruning_iteration"), i, window=1)
        self._pruning_iteration = i + 1

    @torch.no_grad()
    def _reset_optimizer_state(self, module_id: str, changed: Mapping[str, Any]) -> None:
        """Zero every per-entry optimizer state tensor (Adam's moments) at the changed
        entries of the module's pruned parameters (the step counter is per tensor: kept)."""
        params = self._pruners[module_id].params
        for _, optimizer in self.get_optimizers_for_module(module_id):
            for name, where in changed.items():
                state = optimizer.state.get(params[name])
                for value in (state or {}).values():
                    if torch.is_tensor(value) and value.shape == where.shape:
                        value[where] = 0

    # -------------------------------------------------------- public API
    def set_pruning_iteration(self, iteration: int) -> Dict[str, float]:
        """Tell the learner that its next update belongs to training iteration ``iteration``.

        Returns the targets p_i the next pruning step will use, by module id.
        """
        if int(iteration) != iteration or iteration < 0:
            raise ValueError(f"iteration must be an integer >= 0, got {iteration!r}")
        self._pruning_iteration = int(iteration)
        return {mid: s(iteration) for mid, s in self._pruning_schedules.items()}

    def pruning_masks_from_start(self) -> bool:
        """True if some actor was made sparse when the learner was built (static, SET, RigL),
        so its env runners must get the masked weights before the first sample."""
        cfg = self._pruning_config
        return (
            cfg is not None and bool(self._pruners) and algorithm_entry(cfg.algorithm).from_scratch
        )

    def finalize_pruning(self) -> Dict[str, float]:
        """Prune every actor to exactly its final sparsity now and hold the masks.

        Also bumps the weights' sequence number, so the next
        ``env_runner_group.sync_weights(from_worker_or_learner_group=learner_group)``
        ships the finalized weights (without the bump the env runners ignore them).
        Returns the actual sparsity by module id.
        """
        for pruner in self._pruners.values():
            pruner.finalize()
        self._weights_seq_no += 1
        return {mid: p.sparsity() for mid, p in self._pruners.items()}

    def pruning_summary(self) -> Dict[str, Any]:
        """``{"iteration": i, "modules": {mid: {"sparsity", "target_sparsity", "finalized"}}}``."""
        return {
            "iteration": self._pruning_iteration,
            "modules": {
                mid: {
                    "sparsity": p.sparsity(),
                    "target_sparsity": p.target_sparsity,
                    "finalized": p.finalized,
                }
                for mid, p in self._pruners.items()
            },
        }

    # ------------------------------------------------------------ state
    def get_state(self, components=None, *, not_components=None, **kwargs):
        """The Learner's state plus ``"pruning"``: masks and schedule position."""
        state = super().get_state(components, not_components=not_components, **kwargs)
        if getattr(self, "_pruners", None) and self._check_component(
            PRUNING_STATE_KEY, components, not_components
        ):
            state[PRUNING_STATE_KEY] = {
                "iteration": self._pruning_iteration,
                "modules": {mid: p.get_state() for mid, p in self._pruners.items()},
            }
        return state

    def set_state(self, state) -> None:
        """Restore the Learner's state and, if present, the pruning state (masks, position)."""
        super().set_state(state)
        saved = state.get(PRUNING_STATE_KEY)
        if saved is None or not getattr(self, "_pruners", None):
            return
        if set(saved["modules"]) != set(self._pruners):
            raise ValueError(
                f"checkpoint prunes modules {sorted(saved['modules'])}, this learner prunes {sorted(self._pruners)}"
            )
        for mid, pstate in saved["modules"].items():
            self._pruners[mid].set_state(pstate)
        self._pruning_iteration = int(saved["iteration"])


class PrunedPPOTorchLearner(PruningLearnerMixin, PPOTorchLearner):
    """RLlib's PPO torch learner with actor pruning: ``config.learners(learner_class=...)``."""
