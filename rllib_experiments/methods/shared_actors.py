"""Parameter sharing between the users' actor modules, inside an RLlib Learner.

Two rows of Table I share one actor parameter set theta among all N users:

* DQN with full parameter sharing [8]: every user acts with theta itself;
* PaI with parameter sharing [18]: user n acts with theta * m_n, where m_n is a
  FIXED random binary mask drawn once at initialisation (a distinct one per user).

Both keep RLlib's multi-agent layout unchanged (one module ``user_n`` per user, so
the fast env runner, the evaluation and the export code work as for independent
actors) and tie the modules' weights in the learner: :class:`SharedActorsMixin`
holds theta and its own Adam optimizer; after every backward pass the gradient of
theta is the sum over users of m_n * dL_n/dw_n (chain rule of w_n = theta * m_n),
theta takes one Adam step, and every module's weights are rewritten as theta * m_n.
The agent identity selects the mask: user n (module id ``user_n``) always uses
m_n, both when sampling and at deployment (its module holds theta * m_n).

Masks cover the prunable parameters of pruning_callbacks (weight matrices of the
dense layers, the LSTM and the output layer); biases stay dense and shared. Every
mask has exactly round(sparsity * numel) zeros per matrix (layer-wise uniform
random), drawn from ``torch.Generator().manual_seed(seed * 1000 + n)``.

Limits: the shared parameters and their optimizer are not part of the Learner's
checkpoint state (the reproduce trials never restore).
"""

from __future__ import annotations

from typing import Dict, List, Optional

import torch

from pruning_callbacks.masks import is_prunable
from rllib_experiments.iagc.modules import actor_ids

#: Key of the sharing options in ``learner_config_dict``.
SHARED_KEY = "shared_actors"


def random_masks(
    named_params: Dict[str, torch.Tensor], sparsity: float, generator: torch.Generator
) -> Dict[str, torch.Tensor]:
    """A fixed random 0/1 mask per prunable matrix with exactly round(sparsity*numel) zeros."""
    masks = {}
    for name, p in named_params.items():
        if not is_prunable(name, p):
            continue
        n = p.numel()
        k = int(round(sparsity * n))
        flat = torch.ones(n)
        if k:
            flat[torch.randperm(n, generator=generator)[:k]] = 0.0
        masks[name] = flat.reshape(p.shape)
    return masks


class SharedActorsMixin:
    """Ties all actor modules to one parameter set theta (see the module doc).

    ``learner_config_dict["shared_actors"] = {"sparsity": s, "seed": k}``: s = 0 is
    full parameter sharing (DQN row), s = 0.5 the PaI row. List it before the
    learner class: ``class L(SharedActorsMixin, IAGCTorchLearner)``.
    """

    def build(self, *args, **kwargs) -> None:
        super().build(*args, **kwargs)
        opts = dict((self.config.learner_config_dict or {}).get(SHARED_KEY) or {})
        sparsity = float(opts.get("sparsity", 0.0))
        if not 0.0 <= sparsity < 1.0:
            raise ValueError(f"shared_actors.sparsity must be in [0, 1), got {sparsity!r}")
        seed = int(opts.get("seed", 0))
        self._actor_ids: List[str] = actor_ids(self.module)
        first = self.module[self._actor_ids[0]]
        self._shared = {
            name: p.detach().clone().requires_grad_(True) for name, p in first.named_parameters()
        }
        self._masks: List[Optional[Dict[str, torch.Tensor]]] = []
        for n, _ in enumerate(self._actor_ids):
            if sparsity > 0:
                gen = torch.Generator().manual_seed(seed * 1000 + n)
                self._masks.append(random_masks(self._shared, sparsity, gen))
            else:
                self._masks.append(None)
        self._shared_optimizer = torch.optim.Adam(list(self._shared.values()), lr=self.config.lr)
        self._actor_param_ids = set()
        for aid in self._actor_ids:
            for p in self.module[aid].parameters():
                self._actor_param_ids.add(id(p))
        self.write_actor_weights()

    def user_weights(self, n: int) -> Dict[str, torch.Tensor]:
        """theta * m_n, the weights user n acts with."""
        mask = self._masks[n]
        return {
            name: (theta * mask[name] if mask is not None and name in mask else theta).detach()
            for name, theta in self._shared.items()
        }

    def write_actor_weights(self) -> None:
        """Copy theta * m_n into every user's module."""
        with torch.no_grad():
            for n, aid in enumerate(self._actor_ids):
                weights = self.user_weights(n)
                for name, p in self.module[aid].named_parameters():
                    p.copy_(weights[name])

    def apply_gradients(self, gradients_dict) -> None:
        # Gradient of theta: sum_n m_n * dL_n/dw_n (w_n = theta * m_n).
        for name, theta in self._shared.items():
            total = None
            for n, aid in enumerate(self._actor_ids):
                p = dict(self.module[aid].named_parameters())[name]
                if p.grad is None:
                    continue
                g = (
                    p.grad * self._masks[n][name]
                    if self._masks[n] is not None and name in self._masks[n]
                    else p.grad
                )
                total = g.clone() if total is None else total + g
            theta.grad = total
        for aid in self._actor_ids:
            for p in self.module[aid].parameters():
                p.grad = None
        others = {
            pid: g
            for pid, g in gradients_dict.items()
            if g is not None and id(self._params[pid]) not in self._actor_param_ids
        }
        super().apply_gradients(others)  # the critic's optimizer (actor grads are None: no step)
        if any(t.grad is not None for t in self._shared.values()):
            self._shared_optimizer.step()
            self._shared_optimizer.zero_grad(set_to_none=True)
        self.write_actor_weights()
