"""Unstructured magnitude pruning of any ``torch.nn.Module`` with our own mask tensors.

We never use ``torch.nn.utils.prune``: it renames parameters (``weight_orig``), which
RLlib's non-strict state loading then silently ignores, and it breaks the flat weights
of ``nn.LSTM``. Here a mask is a plain bool tensor beside each prunable parameter, and
pruning zeroes the parameter in place (``param.mul_(mask)``), so parameter objects,
names and the LSTM's flat-weight views stay as they are.

Prunable parameters: every weight matrix (a parameter whose name ends in ``weight*``
and has 2 or more dimensions: ``nn.Linear.weight``, the LSTM's ``weight_ih_l{k}`` and
``weight_hh_l{k}`` of every layer k, ...). Biases stay dense unless ``prune_biases``.
``exclude`` (fnmatch patterns on the full parameter name) keeps parts dense, e.g.
RLlib's value head ``vf.*`` (the critic is never pruned, Remark 1).

Ranking (``ranking``): "layer" (default) prunes the k = round(p n) smallest-magnitude
entries of each matrix (n entries), so every matrix is within half a weight of p;
"global" ranks all prunable entries of the module together (the total count is exact,
single matrices may differ). With layer ranking, ``distribution="erk"`` gives each matrix
its Erdős–Rényi-kernel share of p instead
(:mod:`pruning_callbacks.algorithms.distribution`; the total count is exact). Ties are broken deterministically: among equal scores the
entry with the lower flat index (matrices in ``named_parameters`` order) is pruned first.

Mask modes:
  * "hold": masks are nested and held. ``prune_to(p)`` with a higher p prunes more of the
    currently active entries (smallest |w|); with a lower p it releases the pruned entries
    whose magnitude at the moment they were pruned was largest. Released entries regrow
    from zero (``regrow_from="zero"``, default: they are zero when released and are then
    trained) or restart from the value they had when they were pruned
    (``regrow_from="pruned_value"``). Call :meth:`MagnitudePruner.after_optimizer_step`
    after every optimizer step: it re-applies the masks, so the module is exactly at the
    scheduled sparsity at all times. :meth:`mask_gradients` zeroes the pruned entries'
    gradients before the step (keeps optimizer moments of pruned entries at rest).
  * "regrow" (Remark 2): ``prune_to(p)`` recomputes the mask from scratch by |w| over all
    entries and zeroes the pruned ones once (a pruning event); between events nothing is
    masked, so all weights train freely and pruned ones regrow from zero.

:meth:`MagnitudePruner.finalize` prunes to the final sparsity and, in both modes, holds
the masks from then on: the module handed out is exactly at p_final (within half a
weight per matrix with layer ranking).
"""

from __future__ import annotations

import fnmatch
import math
from typing import Dict, Iterable, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import nn

from pruning_callbacks.algorithms.distribution import DISTRIBUTIONS, prune_counts
from pruning_callbacks.mask_options import MODES, RANKINGS, REGROW_FROM

__all__ = [
    "MODES",
    "RANKINGS",
    "REGROW_FROM",
    "MagnitudePruner",
    "num_to_prune",
    "prunable_parameters",
    "smallest_k_mask",
    "zero_fraction",
]


def num_to_prune(n: int, sparsity: float) -> int:
    """k = round(sparsity * n) entries to prune out of n (halves round up), 0 <= k <= n."""
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity!r}")
    return min(n, max(0, int(math.floor(sparsity * n + 0.5))))


def smallest_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Bool keep-mask of the shape of ``scores``: False at the k smallest scores.

    Ties are broken by flat index (lower index pruned first), as a stable sort would: the
    k-th smallest score t is found by selection (``torch.kthvalue``, linear time; a sort of
    a 128 x 512 matrix took 5x longer), every score below t is pruned, then the
    lowest-index scores equal to t until k are.
    """
    flat = scores.reshape(-1)
    n = flat.numel()
    if k <= 0:
        return torch.ones_like(scores, dtype=torch.bool)
    if k >= n:
        return torch.zeros_like(scores, dtype=torch.bool)
    threshold = torch.kthvalue(flat, k).values
    pruned = flat < threshold
    missing = k - int(pruned.sum())
    if missing > 0:
        pruned[torch.nonzero(flat == threshold).squeeze(1)[:missing]] = True
    return (~pruned).reshape(scores.shape)


def is_prunable(name: str, param: torch.Tensor, prune_biases: bool = False) -> bool:
    """Default rule: weight matrices (name ``*weight*`` with ndim >= 2), biases if asked."""
    leaf = name.rsplit(".", 1)[-1]
    if leaf.startswith("weight") and param.dim() >= 2:
        return True
    return prune_biases and leaf.startswith("bias")


def prunable_parameters(
    module: nn.Module,
    *,
    prune_biases: bool = False,
    include: Optional[Sequence[str]] = None,
    exclude: Sequence[str] = (),
) -> Dict[str, nn.Parameter]:
    """The parameters :class:`MagnitudePruner` prunes, by name, in ``named_parameters`` order.

    ``include``/``exclude`` are fnmatch patterns on the full name; ``include`` (if
    given) narrows the default rule of :func:`is_prunable`, ``exclude`` wins over it.
    """
    out: Dict[str, nn.Parameter] = {}
    for name, p in module.named_parameters():
        if not is_prunable(name, p, prune_biases):
            continue
        if include is not None and not any(fnmatch.fnmatchcase(name, pat) for pat in include):
            continue
        if any(fnmatch.fnmatchcase(name, pat) for pat in exclude):
            continue
        out[name] = p
    return out


def zero_fraction(params: Iterable[torch.Tensor]) -> float:
    """Fraction of exactly-zero entries among all entries of ``params`` (0 if empty)."""
    zeros = total = 0
    for p in params:
        zeros += int((p.detach() == 0).sum())
        total += p.numel()
    return zeros / total if total else 0.0


class MagnitudePruner:
    """Masks of one module's prunable parameters; see the module docstring for the modes.

    Args:
        module: any ``nn.Module`` (an RLlib actor, an ``nn.LSTM``, ...).
        mode: "hold" (default) or "regrow".
        ranking: "layer" (default, per-matrix ranking) or "global" (whole module).
        prune_biases: also prune biases (default False: biases stay dense).
        include: fnmatch patterns on parameter names (see :func:`prunable_parameters`).
        exclude: fnmatch patterns on parameter names (see :func:`prunable_parameters`).
        regrow_from: hold mode only, "zero" (default) or "pruned_value".
        distribution: layer ranking only, "uniform" (default: every matrix to p) or "erk".
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        mode: str = "hold",
        ranking: str = "layer",
        prune_biases: bool = False,
        include: Optional[Sequence[str]] = None,
        exclude: Sequence[str] = (),
        regrow_from: str = "zero",
        distribution: str = "uniform",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if ranking not in RANKINGS:
            raise ValueError(f"ranking must be one of {RANKINGS}, got {ranking!r}")
        if regrow_from not in REGROW_FROM:
            raise ValueError(f"regrow_from must be one of {REGROW_FROM}, got {regrow_from!r}")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
        if distribution != "uniform" and ranking != "layer":
            raise ValueError(
                f"distribution {distribution!r} needs ranking 'layer' (a global ranking "
                "chooses the matrices' shares itself)"
            )
        self.mode = mode
        self.distribution = distribution
        self.ranking = ranking
        self.regrow_from = regrow_from
        self.params = prunable_parameters(
            module, prune_biases=prune_biases, include=include, exclude=exclude
        )
        if not self.params:
            raise ValueError(
                "no prunable parameter found (weight matrices"
                + (" and biases" if prune_biases else "")
                + f", include={include}, exclude={list(exclude)})"
            )
        # True = active. The value an entry had when pruned is kept: hold mode releases the
        # largest of them first when the target drops, and regrow_from="pruned_value" restores it.
        self.masks: Dict[str, torch.Tensor] = {
            n: torch.ones_like(p, dtype=torch.bool) for n, p in self.params.items()
        }
        self.pruned_values: Dict[str, torch.Tensor] = {
            n: torch.zeros_like(p.detach()) for n, p in self.params.items()
        }
        self.target_sparsity = 0.0
        self.finalized = False

    # ----------------------------------------------------------------- queries
    @property
    def holds_masks(self) -> bool:
        """True if masks are re-applied after every optimizer step (hold mode or finalized)."""
        return self.mode == "hold" or self.finalized

    def sparsity(self) -> float:
        """Actual sparsity: fraction of zero entries among the prunable ones."""
        return zero_fraction(self.params.values())

    def mask_sparsity(self) -> float:
        """Fraction of entries the masks prune (equals :meth:`sparsity` right after pruning)."""
        pruned = sum(int((~m).sum()) for m in self.masks.values())
        return pruned / sum(m.numel() for m in self.masks.values())

    def num_prunable(self) -> int:
        """Number of prunable entries."""
        return sum(p.numel() for p in self.params.values())

    # ----------------------------------------------------------------- pruning
    def _scores(self, name: str, sparsity: float) -> torch.Tensor:
        """Ranking scores of one matrix; the k smallest are pruned.

        Regrow mode (before :meth:`finalize`): |w| over all entries, a fresh ranking.
        Hold mode, growing sparsity: pruned entries score -1 (they stay pruned), active
        ones |w|. Hold mode, shrinking sparsity: active entries score +inf (they stay
        active), pruned ones the magnitude they had when pruned (largest released first).
        Both hold cases keep the masks nested.
        """
        w = self.params[name].detach().abs().float()
        if not self.holds_masks:
            return w
        keep = self.masks[name]
        if sparsity >= self.target_sparsity:
            return torch.where(keep, w, torch.full_like(w, -1.0))
        return torch.where(
            keep, torch.full_like(w, math.inf), self.pruned_values[name].abs().float()
        )

    def _new_masks(self, sparsity: float) -> Dict[str, torch.Tensor]:
        scores = {n: self._scores(n, sparsity) for n in self.params}
        if self.distribution != "uniform":
            counts = prune_counts([s.shape for s in scores.values()], sparsity, self.distribution)
            return {n: smallest_k_mask(s, k) for (n, s), k in zip(scores.items(), counts)}
        if self.ranking == "layer":
            return {
                n: smallest_k_mask(s, num_to_prune(s.numel(), sparsity)) for n, s in scores.items()
            }
        flat = torch.cat([s.reshape(-1) for s in scores.values()])
        keep = smallest_k_mask(flat, num_to_prune(flat.numel(), sparsity))
        out, pos = {}, 0
        for n, s in scores.items():
            out[n] = keep[pos : pos + s.numel()].reshape(s.shape)
            pos += s.numel()
        return out

    @torch.no_grad()
    def prune_to(self, sparsity: float) -> None:
        """Set the target sparsity p, recompute the masks (see the modes) and apply them.

        The range check here guards this function's callers; a user's p_final is checked
        once, earlier, by its schedule's declared bounds (``GradualSchedule.final_sparsity``).
        """
        if not 0.0 <= sparsity < 1.0:
            raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
        new = self._new_masks(float(sparsity))
        for n, p in self.params.items():
            old = self.masks[n]
            newly_pruned = old & ~new[n]
            released = ~old & new[n]
            self.pruned_values[n] = torch.where(newly_pruned, p.detach(), self.pruned_values[n])
            if self.regrow_from == "pruned_value" and self.holds_masks:
                p[released] = self.pruned_values[n][released]
            self.pruned_values[n][new[n]] = 0.0
            self.masks[n] = new[n]
        self.target_sparsity = float(sparsity)
        self.apply_masks()

    @torch.no_grad()
    def set_masks(self, masks: Mapping[str, torch.Tensor], target_sparsity: float) -> None:
        """Take masks chosen elsewhere (a sparse-from-scratch algorithm) and apply them.

        ``masks`` has one bool tensor per prunable parameter (True = active);
        ``target_sparsity`` is recorded as the target they stand for.
        """
        if set(masks) != set(self.masks):
            raise ValueError(f"masks for {sorted(masks)}, this module prunes {sorted(self.masks)}")
        for n, m in masks.items():
            if m.shape != self.masks[n].shape or m.dtype != torch.bool:
                raise ValueError(f"mask of {n} must be bool of shape {tuple(self.masks[n].shape)}")
            self.masks[n] = m
        self.target_sparsity = float(target_sparsity)
        self.apply_masks()

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zero every pruned entry in place (parameter objects and LSTM flat weights untouched)."""
        for n, p in self.params.items():
            p.mul_(self.masks[n])

    @torch.no_grad()
    def after_optimizer_step(self) -> None:
        """Call after every optimizer step: re-applies the masks if they are held."""
        if self.holds_masks:
            self.apply_masks()

    @torch.no_grad()
    def mask_gradients(self) -> None:
        """Zero the gradients of pruned entries (only while masks are held)."""
        if not self.holds_masks:
            return
        for n, p in self.params.items():
            if p.grad is not None:
                p.grad.mul_(self.masks[n])

    def masked_gradient(self, name: str, grad: torch.Tensor) -> torch.Tensor:
        """``grad`` of parameter ``name`` with pruned entries zeroed (if masks are held)."""
        return grad * self.masks[name] if self.holds_masks else grad

    def finalize(self, final_sparsity: float) -> None:
        """Prune to ``final_sparsity`` by magnitude and hold the masks from now on (any mode).

        In regrow mode the ranking is fresh over all current weights; in hold mode the
        masks stay nested. Afterwards the module is exactly at ``final_sparsity`` (within
        half a weight per matrix with layer ranking, half a weight in total with global).
        """
        if self.mode == "regrow":
            self.prune_to(final_sparsity)  # before `finalized`: the ranking is fresh, not nested
            self.finalized = True
        else:
            self.finalized = True
            self.prune_to(final_sparsity)

    # ------------------------------------------------------------------ state
    def get_state(self) -> Dict[str, object]:
        """Picklable state (numpy arrays): masks, pruned values, target, finalized flag."""
        return {
            "masks": {n: m.cpu().numpy().copy() for n, m in self.masks.items()},
            "pruned_values": {n: v.cpu().numpy().copy() for n, v in self.pruned_values.items()},
            "target_sparsity": self.target_sparsity,
            "finalized": self.finalized,
        }

    def set_state(self, state: Mapping[str, object]) -> None:
        """Restore :meth:`get_state`; parameter names and shapes must match. Does not touch weights."""
        masks = state["masks"]
        if set(masks) != set(self.masks):
            raise ValueError(
                f"pruning state is for parameters {sorted(masks)}, this module prunes {sorted(self.masks)}"
            )
        for n in self.masks:
            m = torch.as_tensor(np.asarray(masks[n]), dtype=torch.bool, device=self.masks[n].device)
            if m.shape != self.masks[n].shape:
                raise ValueError(
                    f"mask shape {tuple(m.shape)} != parameter {n} shape {tuple(self.masks[n].shape)}"
                )
            self.masks[n] = m
            self.pruned_values[n] = torch.as_tensor(
                np.asarray(state["pruned_values"][n]),
                dtype=self.params[n].dtype,
                device=self.params[n].device,
            ).clone()
        self.target_sparsity = float(state["target_sparsity"])
        self.finalized = bool(state["finalized"])
