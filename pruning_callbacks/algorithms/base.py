"""What the sparse training algorithms share: the interface the Learner uses, and the
machinery of the sparse-from-scratch ones (random start, drop by magnitude, grow).

One algorithm object per pruned module. The Learner
(:class:`~pruning_callbacks.rllib.learner.PruningLearnerMixin`) calls, in this order:

- :meth:`SparseAlgorithm.observe_gradient` with each prunable parameter's dense gradient,
  before every optimizer step of an iteration i whose update needs them
  (:meth:`~SparseAlgorithm.wants_gradient`);
- :meth:`~SparseAlgorithm.masked_gradient`, then after the step
  :meth:`~SparseAlgorithm.after_optimizer_step`;
- :meth:`~SparseAlgorithm.step` once per training iteration i, after the update: returns
  a :class:`Step` (target, whether the masks changed, the entries whose optimizer state
  is to be reset, extra metrics);
- :meth:`~SparseAlgorithm.finalize`, :meth:`~SparseAlgorithm.get_state`,
  :meth:`~SparseAlgorithm.set_state`.

The masks themselves are held by a :class:`~pruning_callbacks.masks.MagnitudePruner`
(own bool tensors, weights zeroed in place: see that module for why).
"""

from __future__ import annotations

import zlib
from typing import Dict, Mapping, NamedTuple, Optional, Sequence

import numpy as np
import torch
from torch import nn

from pruning_callbacks.algorithms.distribution import prune_counts
from pruning_callbacks.masks import MagnitudePruner, num_to_prune, smallest_k_mask
from pruning_callbacks.schedules import Schedule, cosine_annealing


def module_seed(seed: Optional[int], module_id: str) -> int:
    """Seed of one module's mask RNG: CRC-32 of ``"<seed>:<module_id>"`` (seed None = 0),
    so that every actor gets its own random mask and the same run gets the same masks."""
    return zlib.crc32(f"{0 if seed is None else int(seed)}:{module_id}".encode())


class Step(NamedTuple):
    """What one iteration's :meth:`SparseAlgorithm.step` did."""

    target: float
    """The target sparsity p_i (p_final once finalized)."""
    event: bool
    """True if the masks changed."""
    changed: Dict[str, torch.Tensor]
    """Per parameter name, the entries dropped or grown (their optimizer state is reset)."""
    metrics: Dict[str, float]
    """Extra metrics to log for the module (e.g. drop_fraction, num_dropped, num_grown)."""


class SparseAlgorithm:
    """Base of every algorithm; the keyword arguments are :class:`PruningConfig`'s.

    Args:
        module: the module to sparsify (an actor).
        schedule: its :class:`~pruning_callbacks.schedules.Schedule` (target p_i, timing).
        seed: seed of the module's mask RNG (:func:`module_seed`).
        mode, ranking, prune_biases, include, exclude, regrow_from: the masks' choices
            (:class:`~pruning_callbacks.masks.MagnitudePruner`).
        distribution: "uniform" or "erk" (:mod:`~pruning_callbacks.algorithms.distribution`).
        update_interval: Delta T, iterations between mask updates of the regrowing algorithms.
        drop_fraction: initial fraction of active weights dropped per update.
        drop_end: iteration where the drop fraction's cosine decay reaches 0.
    """

    def __init__(
        self,
        module: nn.Module,
        schedule: Schedule,
        *,
        seed: int = 0,
        mode: str = "hold",
        ranking: str = "layer",
        prune_biases: bool = False,
        include: Optional[Sequence[str]] = None,
        exclude: Sequence[str] = (),
        regrow_from: str = "zero",
        distribution: str = "uniform",
        update_interval: int = 1,
        drop_fraction: float = 0.3,
        drop_end: Optional[int] = None,
    ) -> None:
        self.schedule = schedule
        self.seed = int(seed)
        self.distribution = distribution
        self.update_interval = int(update_interval)
        self.drop_fraction = float(drop_fraction)
        self.drop_end = drop_end
        self.pruner = MagnitudePruner(
            module,
            mode=mode,
            ranking=ranking,
            prune_biases=prune_biases,
            include=include,
            exclude=exclude,
            regrow_from=regrow_from,
            distribution=distribution,
        )

    # ------------------------------------------------------------ the masks
    @property
    def params(self) -> Dict[str, nn.Parameter]:
        """The prunable parameters by name."""
        return self.pruner.params

    @property
    def masks(self) -> Dict[str, torch.Tensor]:
        """The bool masks by parameter name (True = active)."""
        return self.pruner.masks

    @property
    def target_sparsity(self) -> float:
        return self.pruner.target_sparsity

    @property
    def finalized(self) -> bool:
        return self.pruner.finalized

    def sparsity(self) -> float:
        """Fraction of zeros among the prunable entries."""
        return self.pruner.sparsity()

    def mask_sparsity(self) -> float:
        """Fraction of entries the masks prune."""
        return self.pruner.mask_sparsity()

    # ------------------------------------------------------------ per step
    def wants_gradient(self, i: int) -> bool:
        """Does the update after iteration i need the dense gradients of its steps?"""
        return False

    def observe_gradient(self, name: str, grad: torch.Tensor) -> None:
        """The dense gradient of parameter ``name`` before an optimizer step."""

    def masked_gradient(self, name: str, grad: torch.Tensor) -> torch.Tensor:
        return self.pruner.masked_gradient(name, grad)

    def after_optimizer_step(self) -> None:
        self.pruner.after_optimizer_step()

    # ------------------------------------------------------- per iteration
    def step(self, i: int) -> Step:
        raise NotImplementedError

    def finalize(self) -> None:
        """Bring the masks to the schedule's final sparsity and hold them from now on."""
        raise NotImplementedError

    # ------------------------------------------------------------ state
    def get_state(self) -> Dict[str, object]:
        return self.pruner.get_state()

    def set_state(self, state: Mapping[str, object]) -> None:
        self.pruner.set_state(state)


class FromScratch(SparseAlgorithm):
    """Sparse from the start: a random mask at the target sparsity, held at every step.

    The target is the schedule's ``final_sparsity`` (its schedule is "constant"), spread
    over the tensors by ``distribution``; in each tensor the k pruned entries are a
    uniformly random subset (``torch.randperm`` on the module's own generator, seeded with
    ``seed``; the global torch RNG is not touched). The pruned weights are zeroed at once.
    Subclasses that regrow (:attr:`regrows`) implement :meth:`grow_scores`; every
    ``update_interval`` iterations (after iterations i with (i + 1) % update_interval == 0
    and a drop fraction f_i > 0) each tensor drops the k = round(f_i a) smallest-magnitude
    of its a active entries (ties: lower flat index first) and grows the k entries with the
    smallest grow scores among the entries inactive after the drop (a just-dropped entry
    may grow back), at zero. f_i = f_0/2 (1 + cos(pi i / drop_end)) for i < drop_end and
    0 from then on (Evci et al.'s cosine decay). From ``final_iteration - 1`` on (or after
    :meth:`finalize`) the masks no longer move.
    """

    regrows: bool = False

    def __init__(self, module: nn.Module, schedule: Schedule, **kwargs) -> None:
        # masks held at every step, whatever magnitude pruning's mode says
        super().__init__(module, schedule, **{**kwargs, "mode": "hold", "regrow_from": "zero"})
        self.generator = torch.Generator().manual_seed(self.seed)
        self.num_updates = 0
        target = float(schedule.final_sparsity)
        counts = prune_counts([p.shape for p in self.params.values()], target, self.distribution)
        masks = {}
        for (name, p), k in zip(self.params.items(), counts):
            keep = torch.ones(p.numel(), dtype=torch.bool)
            keep[torch.randperm(p.numel(), generator=self.generator)[:k]] = False
            masks[name] = keep.reshape(p.shape).to(p.device)
        self.pruner.set_masks(masks, target)

    def drop_fraction_at(self, i: int) -> float:
        """f_i: the fraction of active weights dropped by an update after iteration i."""
        if not self.regrows or self.drop_end is None or i >= self.drop_end:
            return 0.0
        return cosine_annealing(
            i, initial_sparsity=self.drop_fraction, final_sparsity=0.0, start=0, end=self.drop_end
        )

    def is_update_iter(self, i: int) -> bool:
        """Do the masks move after iteration i?"""
        return (
            self.regrows
            and not self.finalized
            and not self.schedule.is_final_iter(i)
            and (i + 1) % self.update_interval == 0
            and self.drop_fraction_at(i) > 0.0
        )

    def grow_scores(self, name: str, candidates: torch.Tensor) -> torch.Tensor:
        """Scores of parameter ``name``'s entries; the k smallest among ``candidates`` grow."""
        raise NotImplementedError

    def step(self, i: int) -> Step:
        target = self.target_sparsity
        if self.finalized or self.schedule.is_final_iter(i):
            self.pruner.finalized = True
            return Step(target, False, {}, {})
        if not self.regrows:
            return Step(target, False, {}, {})
        fraction = self.drop_fraction_at(i)
        metrics = {"drop_fraction": fraction}
        if not self.is_update_iter(i):
            return Step(target, False, {}, {**metrics, "num_dropped": 0, "num_grown": 0})
        changed, dropped, grown = self.update_masks(fraction)
        self.num_updates += 1
        return Step(target, True, changed, {**metrics, "num_dropped": dropped, "num_grown": grown})

    @torch.no_grad()
    def update_masks(self, fraction: float):
        """One drop-and-grow update at drop fraction ``fraction``: (changed, dropped, grown)."""
        changed, total_dropped, total_grown = {}, 0, 0
        new_masks = {}
        for name, p in self.params.items():
            active = self.masks[name]
            k = num_to_prune(int(active.sum()), fraction)
            if k == 0:
                new_masks[name] = active
                continue
            inf = torch.full(p.shape, float("inf"), device=p.device)
            drop_scores = torch.where(active, p.detach().abs().float(), inf)
            dropped = ~smallest_k_mask(drop_scores, k)
            after_drop = active & ~dropped
            scores = torch.where(after_drop, inf, self.grow_scores(name, ~after_drop).float())
            grown = ~smallest_k_mask(scores, k)
            p[grown] = 0.0  # new weights start at zero (also a just-dropped one that grows back)
            new_masks[name] = after_drop | grown
            changed[name] = dropped | grown
            total_dropped += int(dropped.sum())
            total_grown += int(grown.sum())
        self.pruner.set_masks(new_masks, self.target_sparsity)
        return changed, total_dropped, total_grown

    def finalize(self) -> None:
        """The masks are at the target already: they stop moving."""
        self.pruner.finalized = True

    def get_state(self) -> Dict[str, object]:
        state = self.pruner.get_state()
        state["rng"] = self.generator.get_state().numpy().copy()
        state["num_updates"] = self.num_updates
        return state

    def set_state(self, state: Mapping[str, object]) -> None:
        self.pruner.set_state(state)
        self.generator.set_state(torch.as_tensor(np.asarray(state["rng"]), dtype=torch.uint8))
        self.num_updates = int(state["num_updates"])
