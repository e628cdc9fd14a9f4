"""RLModules of IAGC-PPO (Section III-a and IV-A of the paper).

One :class:`IAGCActor` per user (no parameter sharing) and ONE
:class:`SharedCritic` for all users, built on the learner only.

Reading of IV-A ("unidirectional LSTMs with two hidden layers of 128 units,
using ReLU activations"; III-a: "LSTM networks, whose final output is passed
through a linear layer"; the actor's linear output goes through a softmax).
PyTorch's LSTM has no ReLU, so the ReLU layers are dense layers. We read the
network as

    y_t^n -> Linear(obs_dim, 128) -> ReLU -> Linear(128, 128) -> ReLU
          -> LSTM(128, 128) -> Linear(128, K+1) -> softmax          (actor, eq. 3)
                            -> Linear(128, 1)                       (critic)

``hidden_sizes`` (dense layers before the LSTM), ``lstm_size`` and
``lstm_layers`` are settings; the paper's values are (128, 128), 128 and 1.
The softmax is the categorical distribution RLlib builds from the logits.

Critic modes (``critic_mode`` in the module's model_config):

* ``paper``: the shared critic reads each user's own history y_1^n..y_t^n
  (eq. 9, input size obs_dim) and outputs one value per user sequence.
* ``centralized``: the same network reads the global view, the concatenation
  of all N users' observations at each slot (input size N * obs_dim), and
  outputs N values, one per user (they coincide in expectation when every
  user gets the same global reward).
* ``state``: the network reads the environment's global state ``state()`` at
  each slot (input size ``state_dim``; the env wrapper of :mod:`.envs` puts it
  in every agent's infos) and outputs N values.

Nothing here knows the environment: agents are whatever the MultiRLModuleSpec
lists, in its order (:func:`actor_ids`).

Hidden states start at zero at the beginning of every episode, both when
acting and when training (bootstrapped sequential updates over whole
episodes).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.torch import TorchRLModule

# The prune scopes live in a torch-free module (Settings checks them); re-exported beside the actor.
from rllib_experiments.iagc.prune_scopes import PRUNE_SCOPES, prune_scope_patterns  # noqa: F401

#: Module id of the one critic shared by all users.
CRITIC_ID = "shared_critic"
#: Key of the critic's value predictions in its forward_train output.
VALUES = "iagc_values"
#: Key of the global states (``state`` critic mode) in the critic's batch and in agents' infos.
STATES = "state"
#: The critic modes.
CRITIC_MODES = ("paper", "centralized", "state")


def policy_mapping_fn(agent_id, episode=None, **kwargs):
    """Each agent acts with its own actor: module id == agent id."""
    return agent_id


def actor_ids(multi_module) -> List[str]:
    """Ids of the actor modules of a MultiRLModule (or of its spec), in the agents' order.

    The order is the one the spec was built with (the environment's ``possible_agents``);
    the shared critic is left out.
    """
    keys = (
        multi_module.rl_module_specs.keys()
        if hasattr(multi_module, "rl_module_specs")
        else multi_module.keys()
    )
    return [k for k in keys if k != CRITIC_ID]


class RecurrentTrunk(nn.Module):
    """Dense layers with ReLU, then an LSTM: the body shared by actor and critic.

    Input ``x`` is [B, T, in_size]; the state is a pair (h, c), each
    [lstm_layers, B, lstm_size]. Returns ([B, T, lstm_size], (h, c)).
    """

    def __init__(
        self, in_size: int, hidden_sizes: Sequence[int], lstm_size: int, lstm_layers: int = 1
    ):
        super().__init__()
        layers = []
        for size in hidden_sizes:
            layers += [nn.Linear(in_size, int(size)), nn.ReLU()]
            in_size = int(size)
        self.dense = nn.Sequential(*layers)
        self.lstm = nn.LSTM(in_size, lstm_size, num_layers=lstm_layers, batch_first=True)
        self.lstm_size = lstm_size
        self.lstm_layers = lstm_layers

    def forward(self, x, state=None):
        return self.lstm(self.dense(x), state)

    def zero_state(self, batch_size: int, device=None):
        """Zero (h, c) for ``batch_size`` sequences (start of an episode)."""
        shape = (self.lstm_layers, batch_size, self.lstm_size)
        return (torch.zeros(shape, device=device), torch.zeros(shape, device=device))


def _trunk_from_config(in_size: int, model_config: Dict[str, Any]) -> RecurrentTrunk:
    return RecurrentTrunk(
        in_size,
        hidden_sizes=tuple(model_config.get("hidden_sizes", (128, 128))),
        lstm_size=int(model_config.get("lstm_size", 128)),
        lstm_layers=int(model_config.get("lstm_layers", 1)),
    )


class IAGCActor(TorchRLModule):
    """Recurrent actor of one user: g(a_t^n | y_t^n, h_{t-1}^n; theta^n), eq. (3).

    model_config keys: ``hidden_sizes`` (default (128, 128)), ``lstm_size``
    (128), ``lstm_layers`` (1). Observations y_t^n (eq. 2) are a flat float
    Box; actions are Discrete(K+1). Recurrent state per sequence:
    {"h": [lstm_layers, lstm_size], "c": same}, zero at episode start.
    Logits are returned under ACTION_DIST_INPUTS; RLlib's categorical
    distribution applies the softmax.
    """

    def setup(self):
        in_size = int(np.prod(self.observation_space.shape))
        self.trunk = _trunk_from_config(in_size, self.model_config)
        self.logits = nn.Linear(self.trunk.lstm_size, int(self.action_space.n))

    #: Set by the learner (its own copies only) to run the training forward under autocast.
    autocast_dtype: Optional[torch.dtype] = None

    def _forward_train(self, batch, **kwargs):
        if self.autocast_dtype is None:
            return self._forward(batch, **kwargs)
        obs = batch[Columns.OBS]
        with torch.autocast(obs.device.type, dtype=self.autocast_dtype):
            out = self._forward(batch, **kwargs)
        out[Columns.ACTION_DIST_INPUTS] = out[Columns.ACTION_DIST_INPUTS].float()
        return out

    def get_initial_state(self) -> Dict[str, np.ndarray]:
        shape = (self.trunk.lstm_layers, self.trunk.lstm_size)
        return {"h": np.zeros(shape, np.float32), "c": np.zeros(shape, np.float32)}

    def _forward(self, batch, **kwargs):
        obs = batch[Columns.OBS]  # [B, T, obs_dim]
        state_in = batch.get(Columns.STATE_IN)
        if state_in is None:
            state = self.trunk.zero_state(obs.shape[0], obs.device)
        else:  # RLlib batches states as [B, layers, H]; torch wants [layers, B, H].
            state = (
                state_in["h"].transpose(0, 1).contiguous(),
                state_in["c"].transpose(0, 1).contiguous(),
            )
        features, (h, c) = self.trunk(obs, state)
        return {
            Columns.ACTION_DIST_INPUTS: self.logits(features),
            Columns.STATE_OUT: {"h": h.transpose(0, 1), "c": c.transpose(0, 1)},
        }

    def step(self, obs, state=None):
        """One slot for a batch of users' episodes (fast sampling / evaluation path).

        obs: [B, obs_dim] tensor; state: (h, c) each [lstm_layers, B, lstm_size]
        or None (zero, start of the episodes). Returns (logits [B, K+1], state).
        """
        if state is None:
            state = self.trunk.zero_state(obs.shape[0], obs.device)
        features, state = self.trunk(obs.unsqueeze(1), state)
        return self.logits(features[:, 0]), state


class SharedCritic(TorchRLModule):
    """The one global critic V(. | h^{n,c}; phi) shared by all users (eq. 9).

    Built with ``learner_only=True``: it exists on the learner(s) only and is
    never shipped to env runners. model_config keys: ``critic_mode``
    (``paper`` | ``centralized``), ``num_users`` (N), ``obs_dim`` (size of
    y_t^n), and the trunk sizes as for :class:`IAGCActor`.

    forward_train input: ``batch[OBS]`` of shape [B, N, T, obs_dim], the
    observation sequences of all N users in B whole episodes (the same layout
    in every mode), and in ``state`` mode ``batch[STATES]`` [B, T, state_dim].
    Output ``VALUES``: [B, N, T], the value of every user at every slot.
    ``paper`` runs the network over the B*N user sequences; ``centralized``
    runs it over the B episodes with the N observations of a slot concatenated
    (in agent order) and reads N values per slot; ``state`` does the same on
    the global states.

    It also holds the running statistics of the discounted returns used for
    reward normalisation (buffers, so they are saved in checkpoints).
    """

    def setup(self):
        mode = self.model_config.get("critic_mode", "paper")
        if mode not in CRITIC_MODES:
            raise ValueError(f"critic_mode must be one of {CRITIC_MODES}, got {mode!r}")
        self.critic_mode = mode
        self.num_users = int(self.model_config["num_users"])
        self.obs_dim = int(self.model_config["obs_dim"])
        if mode == "state":
            if not self.model_config.get("state_dim"):
                raise ValueError(
                    "critic_mode 'state' needs model_config['state_dim'] (the length "
                    "of the environment's state())"
                )
            self.state_dim = int(self.model_config["state_dim"])
            in_size = self.state_dim
        else:
            in_size = self.obs_dim * (self.num_users if mode == "centralized" else 1)
        self.trunk = _trunk_from_config(in_size, self.model_config)
        self.value_head = nn.Linear(self.trunk.lstm_size, 1 if mode == "paper" else self.num_users)
        # Running count / mean / M2 (Welford) of discounted returns (reward normalisation).
        self.register_buffer("return_stats", torch.zeros(3, dtype=torch.float64))

    def compute_values(self, obs, states: Optional[torch.Tensor] = None):
        """Values [B, N, T] of user observation sequences [B, N, T, d], zero initial state.

        ``states`` [B, T, state_dim] is required (and only read) in ``state`` mode.
        """
        b, n, t, d = obs.shape
        if n != self.num_users or d != self.obs_dim:
            raise ValueError(
                f"critic expects [B, {self.num_users}, T, {self.obs_dim}] "
                f"observations, got {tuple(obs.shape)}"
            )
        if self.critic_mode == "paper":  # one sequence per user (eq. 9)
            x = obs.reshape(b * n, t, d)
        elif self.critic_mode == "centralized":  # global view: all users' y_t concatenated per slot
            x = obs.permute(0, 2, 1, 3).reshape(b, t, n * d)
        else:
            if states is None or tuple(states.shape) != (b, t, self.state_dim):
                raise ValueError(
                    f"critic_mode 'state' needs states [{b}, {t}, {self.state_dim}], got "
                    f"{None if states is None else tuple(states.shape)}"
                )
            x = states
        features, _ = self.trunk(x, self.trunk.zero_state(x.shape[0], x.device))
        values = self.value_head(features)  # [B*N, T, 1] or [B, T, N]
        if self.critic_mode == "paper":
            return values.reshape(b, n, t)
        return values.permute(0, 2, 1)

    def _forward(self, batch, **kwargs):
        return {VALUES: self.compute_values(batch[Columns.OBS], batch.get(STATES))}

    # The critic never acts.
    def _forward_inference(self, batch, **kwargs):
        raise NotImplementedError("the shared critic does not act; it lives on the learner only")

    _forward_exploration = _forward_inference

    # --- reward normalisation state -------------------------------------------------
    # RLlib rounds every float64 array of a module's state to float32, both ways: when it
    # takes the state (``convert_to_numpy`` in ``get_state``) and when it loads one
    # (``convert_to_torch_tensor`` in ``set_state``). The return statistics are float64 and
    # each restore would round them: the next reward scale, and every loss after it, would
    # then differ from the uninterrupted run's. They go through both methods unrounded.
    def get_state(self, *args, **kwargs):
        """RLlib's state of the module, the float64 return statistics exact."""
        state = super().get_state(*args, **kwargs)
        if "return_stats" in state:
            state["return_stats"] = self.return_stats.detach().cpu().numpy().copy()
        return state

    def set_state(self, state) -> None:
        """Load a state (RLlib's ``set_state``), the float64 return statistics exact."""
        state = dict(state)
        stats = state.pop("return_stats", None)
        super().set_state(state)
        if stats is not None:
            stats = stats.detach().cpu() if torch.is_tensor(stats) else np.asarray(stats)
            self.return_stats.copy_(torch.as_tensor(stats, dtype=torch.float64))

    def return_std(self) -> float:
        """Standard deviation of all discounted returns seen so far (1.0 before any)."""
        count, _, m2 = self.return_stats.tolist()
        if count < 2:
            return 1.0
        return float(max(np.sqrt(m2 / (count - 1)), 1e-8))

    def update_return_stats(self, returns: np.ndarray) -> None:
        """Merge a batch of discounted returns into the running statistics (Chan et al.)."""
        self.merge_return_moments(*return_moments(returns))

    def merge_return_moments(self, b_count: float, b_mean: float, b_m2: float) -> None:
        """Merge the (count, mean, M2) of a batch of returns into the running statistics."""
        if b_count == 0:
            return
        count, mean, m2 = self.return_stats.tolist()
        total = count + b_count
        delta = b_mean - mean
        mean += delta * b_count / total
        m2 += b_m2 + delta * delta * count * b_count / total
        self.return_stats.copy_(torch.tensor([total, mean, m2], dtype=torch.float64))


def return_moments(returns: np.ndarray) -> Tuple[float, float, float]:
    """(count, mean, M2 = sum of squared deviations) of an array of returns."""
    returns = np.asarray(returns, np.float64).ravel()
    if returns.size == 0:
        return 0.0, 0.0, 0.0
    mean = float(returns.mean())
    return float(returns.size), mean, float(((returns - mean) ** 2).sum())
