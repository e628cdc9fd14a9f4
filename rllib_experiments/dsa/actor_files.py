"""IAGCActor weights -> the torch-free actor files of :mod:`dsa_pettingzoo.deploy`.

:func:`export_actor` writes one actor (an :class:`~rllib_experiments.iagc.modules.IAGCActor`
or its state dict) in the format of :mod:`dsa_pettingzoo.deploy.format`;
:func:`actor_file_bytes` is the size such a file has, which is what a pruned actor costs a
device. ``python -m rllib_experiments export`` (:func:`rllib_experiments.run.export.export_checkpoint`) exports
whole checkpoints with these.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np

from dsa_pettingzoo import agent_index, make_config
from dsa_pettingzoo.deploy.format import Architecture, write_actor_file
from dsa_pettingzoo.physics import observation_dim


def user_index(agent) -> Optional[int]:
    """n of an actor id ``user_n`` (dsa_pettingzoo's agent ids), None for anything else."""
    try:
        return agent_index(agent)
    except ValueError:
        return None


_DENSE = re.compile(r"^trunk\.dense\.(\d+)\.weight$")
_LSTM = re.compile(r"^trunk\.lstm\.weight_ih_l(\d+)$")


# ----------------------------------------------------------------------------- state dicts
def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def architecture_of(state: Mapping[str, Any]) -> Architecture:
    """The :class:`Architecture` of an IAGCActor state dict, read from its shapes."""
    dense = sorted(int(m.group(1)) for k in state if (m := _DENSE.match(k)))
    layers = sorted(int(m.group(1)) for k in state if (m := _LSTM.match(k)))
    if not layers or "logits.weight" not in state:
        raise ValueError(
            "not an IAGCActor state dict: expected trunk.lstm.weight_ih_l0 and "
            f"logits.weight, got keys {sorted(state)}"
        )
    first = f"trunk.dense.{dense[0]}.weight" if dense else "trunk.lstm.weight_ih_l0"
    return Architecture(
        obs_dim=int(np.shape(state[first])[1]),
        num_actions=int(np.shape(state["logits.weight"])[0]),
        hidden_sizes=tuple(int(np.shape(state[f"trunk.dense.{i}.weight"])[0]) for i in dense),
        lstm_size=int(np.shape(state["trunk.lstm.weight_hh_l0"])[1]),
        lstm_layers=len(layers),
    )


def canonical_params(state: Mapping[str, Any], arch: Architecture) -> Dict[str, np.ndarray]:
    """IAGCActor state dict -> the file's canonical tensors (LSTM biases summed in float32)."""
    dense = sorted(int(m.group(1)) for k in state if (m := _DENSE.match(k)))
    out = {}
    for i, idx in enumerate(dense):
        out[f"dense.{i}.weight"] = _to_numpy(state[f"trunk.dense.{idx}.weight"])
        out[f"dense.{i}.bias"] = _to_numpy(state[f"trunk.dense.{idx}.bias"])
    for k in range(arch.lstm_layers):
        out[f"lstm.{k}.weight_ih"] = _to_numpy(state[f"trunk.lstm.weight_ih_l{k}"])
        out[f"lstm.{k}.weight_hh"] = _to_numpy(state[f"trunk.lstm.weight_hh_l{k}"])
        out[f"lstm.{k}.bias"] = _to_numpy(state[f"trunk.lstm.bias_ih_l{k}"]) + _to_numpy(
            state[f"trunk.lstm.bias_hh_l{k}"]
        )
    out["head.weight"] = _to_numpy(state["logits.weight"])
    out["head.bias"] = _to_numpy(state["logits.bias"])
    return out


def observation_info(arch: Architecture, env: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Header entry describing y_t^n (eq. 2); the encoding comes from ``env`` or the sizes."""
    K = arch.num_actions - 1
    if env is not None:
        encoding = env.get("observation", "last_action_feedback")
    else:
        extra = arch.obs_dim - (K + 1 + 4)
        encoding = {0: "last_action_feedback", 1: "last_action_feedback_rate"}.get(extra)
    return {
        "encoding": encoding,
        "dim": arch.obs_dim,
        "num_channels": K,
        "layout": "one-hot last own action a_{t-1} (K+1 entries, index 0 = idle), one-hot last "
        "feedback o_{t-1} in the order (-2 PU busy, -1 collision, 0 idle, 1 ACK)"
        + (", last own rate / log2(1 + max SNR)" if encoding == "last_action_feedback_rate" else "")
        + "; at the first slot a_0 = 0 and o_0 = 0",
    }


def env_settings(env: Optional[Mapping[str, Any]], arch: Architecture) -> Optional[Dict[str, Any]]:
    """Full, validated environment settings (make_config kwargs) or None; checks K and obs size."""
    if env is None:
        return None

    config = make_config(**dict(env))
    K = config.num_channels
    want = observation_dim(K, config.observation == "last_action_feedback_rate")
    if arch.num_actions != K + 1 or arch.obs_dim != want:
        raise ValueError(
            f"the actor (obs size {arch.obs_dim}, {arch.num_actions} actions) does not "
            f"fit the environment settings {dict(env)} (obs size {want}, {K + 1} actions)"
        )
    kwargs = {k: v for k, v in config.to_kwargs().items() if k != "render_mode"}
    if config.setup is not None:
        kwargs["setup"] = config.setup
    return json.loads(json.dumps(kwargs))  # tuples -> lists: JSON-ready


def export_actor(
    module_or_state_dict,
    arch: Optional[Architecture],
    path,
    *,
    dtype: str = "float32",
    encoding: str = "auto",
    agent: Optional[str] = None,
    env: Optional[Mapping[str, Any]] = None,
    source: Optional[Mapping[str, Any]] = None,
    system: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """Write one actor to ``path``; returns the header.

    ``module_or_state_dict``: an :class:`IAGCActor` (any torch module with its
    parameter names) or its state dict (tensors or numpy arrays). ``arch``:
    checked against the weights, or None to read it from their shapes.
    ``env``: the environment's keyword arguments it was trained on (stored in
    the header and checked against the actor's sizes). ``system``: the export this
    file belongs to, ``{"run_id": ..., "num_users": N}``, the same in every file of a
    folder (:mod:`dsa_pettingzoo.deploy.system`); None writes a file without one.
    """
    state = (
        module_or_state_dict.state_dict()
        if hasattr(module_or_state_dict, "state_dict")
        else dict(module_or_state_dict)
    )
    found = architecture_of(state)
    if arch is not None and arch != found:
        raise ValueError(f"the weights have architecture {found}, not the given {arch}")
    meta = {
        "agent": agent,
        "user_index": user_index(agent),
        "observation": observation_info(found, env),
        "action": {
            "num_actions": found.num_actions,
            "meaning": "0 = stay idle, k = 1..K = transmit on channel k",
        },
        "env": env_settings(env, found),
        "source": dict(source or {}),
    }
    if system is not None:
        meta["system"] = dict(system)
    return write_actor_file(
        path, canonical_params(state, found), found, dtype=dtype, encoding=encoding, metadata=meta
    )


def actor_file_bytes(actors: Sequence, dtype: str = "float32") -> float:
    """Mean size in bytes of the actors' files (``encoding="auto"``, no metadata)."""
    sizes = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, actor in enumerate(actors):
            path = Path(tmp) / f"a{k}"
            export_actor(actor, None, path, dtype=dtype)
            sizes.append(path.stat().st_size)
    return float(np.mean(sizes))
