"""IAGCActor weights -> an ONNX model of one slot, and its check against the torch actor.

:func:`export_onnx` writes one user's actor as an ONNX graph of ONE step of eq. (3):

    inputs   obs [B, obs_dim], h [L, B, H], c [L, B, H]      (float32; zero h, c at slot 1)
    outputs  logits [B, K+1], h_out [L, B, H], c_out [L, B, H]

(B free, L = lstm_layers, H = lstm_size; the layout of :meth:`IAGCActor.step`). The graph is
traced from the torch actor itself by torch's TorchScript-based exporter at opset
:data:`OPSET`, so its weights are dense float32 tensors: the pruned zeros are stored like any
other weight. The sparse files of :mod:`dsa_pettingzoo.deploy.format` stay the deployment
format; ONNX is for runtimes that read ONNX. The model's metadata (``metadata_props``) holds
the opset and a JSON description of the actor under :data:`METADATA_KEY`.

:func:`check_onnx_agreement` runs each model in onnxruntime beside the torch actor on the same
observations for at least 10,000 slots per user: the users play the environment they were
trained in, drawing their actions from the torch actor's softmax with a fixed seed; at every
slot the greedy actions must be equal and the logits within :data:`TOLERANCE`.

Needs torch and the ``[onnx]`` extra (onnx, onnxruntime); ``python -m rllib_experiments
export --format onnx`` (:func:`rllib_experiments.run.export.export_checkpoint`) uses these.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import numpy as np
import onnx
import onnxruntime
import torch
from gymnasium import spaces
from torch import nn

from dsa_pettingzoo import BatchedDSA, make_config
from dsa_pettingzoo.deploy.format import Architecture, sparsity_of
from rllib_experiments.dsa.actor_files import (
    architecture_of,
    canonical_params,
    env_settings,
    observation_info,
    user_index,
)
from rllib_experiments.iagc.modules import IAGCActor

#: ONNX operator set of the exported graphs (also in each model's metadata).
OPSET = 17
#: Names of the graph's inputs and outputs.
INPUTS = ("obs", "h", "c")
OUTPUTS = ("logits", "h_out", "c_out")
#: Key of the actor's JSON description in the model's metadata_props.
METADATA_KEY = "dsa_pettingzoo"
#: Largest |onnxruntime logit - torch logit| accepted by :func:`check_onnx_agreement`.
TOLERANCE = 1e-4


def torch_actor(state: Mapping[str, Any], arch: Optional[Architecture] = None) -> IAGCActor:
    """The :class:`IAGCActor` holding an actor state dict (tensors or arrays), in eval mode."""
    found = architecture_of(state)
    if arch is not None and arch != found:
        raise ValueError(f"the weights have architecture {found}, not the given {arch}")
    # Ray logs a deprecation warning of its own (its RLModuleConfig) for every RLModule built
    ray_deprecation = logging.getLogger("ray._common.deprecation")
    level = ray_deprecation.level
    ray_deprecation.setLevel(logging.ERROR)
    try:
        actor = IAGCActor(
            observation_space=spaces.Box(0.0, 1.0, (found.obs_dim,), np.float32),
            action_space=spaces.Discrete(found.num_actions),
            model_config={
                "hidden_sizes": list(found.hidden_sizes),
                "lstm_size": found.lstm_size,
                "lstm_layers": found.lstm_layers,
            },
        )
    finally:
        ray_deprecation.setLevel(level)
    actor.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state.items()})
    return actor.eval()


class _OneStep(nn.Module):
    """(obs, h, c) -> (logits, h', c'): :meth:`IAGCActor.step` with the state as two tensors."""

    def __init__(self, actor: IAGCActor):
        super().__init__()
        self.actor = actor

    def forward(self, obs, h, c):
        logits, (h_out, c_out) = self.actor.step(obs, (h, c))
        return logits, h_out, c_out


def _zero_state(arch: Architecture, batch: int) -> np.ndarray:
    return np.zeros((arch.lstm_layers, batch, arch.lstm_size), np.float32)


def export_onnx(
    state: Mapping[str, Any],
    path,
    *,
    agent: Optional[str] = None,
    env: Optional[Mapping[str, Any]] = None,
    system: Optional[Mapping[str, Any]] = None,
    source: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """Write one actor (its state dict) to ``path`` as an ONNX model of one slot; returns the
    metadata written under :data:`METADATA_KEY` (see the module docstring for the graph)."""
    arch = architecture_of(state)
    step = _OneStep(torch_actor(state, arch))
    example = (
        torch.zeros(1, arch.obs_dim),
        torch.from_numpy(_zero_state(arch, 1)),
        torch.from_numpy(_zero_state(arch, 1)),
    )
    batch = {"obs": {0: "batch"}, "h": {1: "batch"}, "c": {1: "batch"}}
    batch.update({"logits": {0: "batch"}, "h_out": {1: "batch"}, "c_out": {1: "batch"}})
    path = Path(path)
    with warnings.catch_warnings():
        # the TorchScript-based exporter (dynamo=False) is deprecated but needs no onnxscript;
        # the LSTM batch-size warning is moot since h and c are inputs
        warnings.simplefilter("ignore")
        torch.onnx.export(
            step,
            example,
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=batch,
        )
    meta = {
        "format": "dsa-pettingzoo actor step (onnx)",
        "opset": OPSET,
        "agent": agent,
        "user_index": user_index(agent),
        "architecture": {
            "obs_dim": arch.obs_dim,
            "num_actions": arch.num_actions,
            "hidden_sizes": list(arch.hidden_sizes),
            "lstm_size": arch.lstm_size,
            "lstm_layers": arch.lstm_layers,
        },
        "inputs": "obs [B, obs_dim], h [L, B, H], c [L, B, H] float32 (zero h, c at the first slot)",
        "outputs": "logits [B, K+1] (softmax: the action probabilities), h_out, c_out [L, B, H]",
        "observation": observation_info(arch, env),
        "action": {
            "num_actions": arch.num_actions,
            "meaning": "0 = stay idle, k = 1..K = transmit on channel k",
        },
        "weights": "dense float32 (pruned weights are stored as zeros)",
        "sparsity": sparsity_of(canonical_params(state, arch)),
        "env": env_settings(env, arch),
        "system": None if system is None else dict(system),
        "source": dict(source or {}),
    }
    model = onnx.load(str(path))
    model.doc_string = f"One slot of the recurrent actor of {agent or 'a DSA user'} (dsa-pettingzoo), opset {OPSET}"
    for key, value in (("opset", str(OPSET)), (METADATA_KEY, json.dumps(meta))):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return meta


def read_onnx_metadata(path) -> Dict[str, Any]:
    """The :data:`METADATA_KEY` description that :func:`export_onnx` wrote into ``path``."""
    model = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props}
    if METADATA_KEY not in props:
        raise ValueError(
            f"{path}: not an ONNX actor of dsa-pettingzoo (no {METADATA_KEY} metadata)"
        )
    return json.loads(props[METADATA_KEY])


def _session(path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_onnx_agreement(
    models: Mapping[str, Any],
    states: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, Any],
    *,
    steps: int,
    seed: int = 0,
    tolerance: float = TOLERANCE,
) -> Dict[str, Any]:
    """Run each ONNX model (module id -> path) in onnxruntime beside its torch actor.

    ``states``: module id -> state dict; ``env``: the environment's settings (its users
    ``user_<n>``). ceil(steps / T) episodes of T slots are played in one batch from
    ``reset(seed=seed)``: every exported user draws its action from the torch actor's softmax
    (numpy generator seeded by ``seed``), any other user of the environment acts uniformly at
    random; each model gets the observations its user sees and carries its own (h, c).
    Returns ``steps`` (slots per user), ``users``, ``greedy_mismatches`` (slots where the
    argmax differs), ``max_abs_logit_diff``, ``max_abs_state_diff``, ``tolerance`` and ``ok``
    (no mismatch and every logit within ``tolerance``).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    episodes = math.ceil(steps / make_config(**dict(env)).horizon)
    sim = BatchedDSA(episodes, **dict(env))
    users = {}
    for mid, path in models.items():
        n = user_index(mid)
        if n is None or n >= sim.num_users:
            raise ValueError(f"{mid} is not a user of the environment (N = {sim.num_users})")
        arch = architecture_of(states[mid])
        users[mid] = (n, torch_actor(states[mid], arch), _session(path), arch)
    rng = np.random.default_rng(seed)
    obs = sim.reset(seed=seed)  # [B, N, d]
    state = {
        mid: {k: _zero_state(arch, episodes) for k in ("torch_h", "torch_c", "onnx_h", "onnx_c")}
        for mid, (_, _, _, arch) in users.items()
    }
    mismatches, worst_logit, worst_state = 0, 0.0, 0.0
    with torch.inference_mode():
        for _ in range(sim.horizon):
            actions = rng.integers(sim.num_channels + 1, size=(episodes, sim.num_users))
            for mid, (n, actor, session, _) in users.items():
                s = state[mid]
                y = np.ascontiguousarray(obs[:, n], dtype=np.float32)
                logits, (h, c) = actor.step(
                    torch.from_numpy(y),
                    (torch.from_numpy(s["torch_h"]), torch.from_numpy(s["torch_c"])),
                )
                logits, s["torch_h"], s["torch_c"] = logits.numpy(), h.numpy(), c.numpy()
                got, s["onnx_h"], s["onnx_c"] = session.run(
                    list(OUTPUTS), {"obs": y, "h": s["onnx_h"], "c": s["onnx_c"]}
                )
                mismatches += int((got.argmax(axis=1) != logits.argmax(axis=1)).sum())
                worst_logit = max(worst_logit, float(np.abs(got - logits).max()))
                worst_state = max(
                    worst_state,
                    float(np.abs(s["onnx_h"] - s["torch_h"]).max()),
                    float(np.abs(s["onnx_c"] - s["torch_c"]).max()),
                )
                probs = np.exp(logits - logits.max(axis=1, keepdims=True))
                probs /= probs.sum(axis=1, keepdims=True)
                draws = rng.random((episodes, 1))
                actions[:, n] = np.minimum(
                    (probs.cumsum(axis=1) < draws).sum(axis=1), logits.shape[1] - 1
                )
            obs, _, _, _, _ = sim.step(actions)
    return {
        "steps": episodes * sim.horizon,
        "users": sorted(users, key=user_index),
        "greedy_mismatches": mismatches,
        "max_abs_logit_diff": worst_logit,
        "max_abs_state_diff": worst_state,
        "tolerance": tolerance,
        "ok": mismatches == 0 and worst_logit <= tolerance,
    }
