"""Export trained (pruned) actors to compact sparse files that run without torch.

Usage::

    python -m rllib_experiments.export --checkpoint runs/NAME/CHECKPOINT --output actors/
    python -m rllib_experiments.export --checkpoint ... --output actors16/ --dtype float16

``--checkpoint`` is an Algorithm checkpoint directory (``algo.save_to_path``),
a MultiRLModule directory (``.../learner_group/learner/rl_module``), one
RLModule directory (``.../rl_module/user_0``), or a run directory holding
checkpoints (the last one in name order is used, e.g. ``checkpoints/iter_000150``). Every actor module ``user_<n>``
found (the learner's copy; the shared critic is never exported) is written to
``OUTPUT/user_<n>.dsaactor`` in the format of
:mod:`dsa_pettingzoo.deploy.format` (docs/deployment.md), with the environment
settings of the training run when the checkpoint holds them (or ``--env``).

In Python, :func:`export_actor` writes one actor from an in-memory
:class:`~rllib_experiments.iagc.modules.IAGCActor` or its state dict.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from dsa_pettingzoo import agent_index
from dsa_pettingzoo.deploy.format import (DTYPES, ENCODINGS, SUFFIX, Architecture,
                                          write_actor_file)

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
        raise ValueError("not an IAGCActor state dict: expected trunk.lstm.weight_ih_l0 and "
                         f"logits.weight, got keys {sorted(state)}")
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
        out[f"lstm.{k}.bias"] = (_to_numpy(state[f"trunk.lstm.bias_ih_l{k}"])
                                 + _to_numpy(state[f"trunk.lstm.bias_hh_l{k}"]))
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
                  + (", last own rate / log2(1 + max SNR)" if encoding == "last_action_feedback_rate"
                     else "") + "; at the first slot a_0 = 0 and o_0 = 0",
    }


def _env_settings(env: Optional[Mapping[str, Any]], arch: Architecture) -> Optional[Dict[str, Any]]:
    """Full, validated environment settings (make_config kwargs) or None; checks K and obs size."""
    if env is None:
        return None
    from dsa_pettingzoo import make_config
    from dsa_pettingzoo.physics import observation_dim

    config = make_config(**dict(env))
    K = config.num_channels
    want = observation_dim(K, config.observation == "last_action_feedback_rate")
    if arch.num_actions != K + 1 or arch.obs_dim != want:
        raise ValueError(f"the actor (obs size {arch.obs_dim}, {arch.num_actions} actions) does not "
                         f"fit the environment settings {dict(env)} (obs size {want}, {K + 1} actions)")
    kwargs = {k: v for k, v in config.to_kwargs().items() if k != "render_mode"}
    if config.setup is not None:
        kwargs["setup"] = config.setup
    return json.loads(json.dumps(kwargs))  # tuples -> lists: JSON-ready


def export_actor(module_or_state_dict, arch: Optional[Architecture], path, *,
                 dtype: str = "float32", encoding: str = "auto", agent: Optional[str] = None,
                 env: Optional[Mapping[str, Any]] = None,
                 source: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Write one actor to ``path``; returns the header.

    ``module_or_state_dict``: an :class:`IAGCActor` (any torch module with its
    parameter names) or its state dict (tensors or numpy arrays). ``arch``:
    checked against the weights, or None to read it from their shapes.
    ``env``: the environment's keyword arguments it was trained on (stored in
    the header and checked against the actor's sizes).
    """
    state = (module_or_state_dict.state_dict() if hasattr(module_or_state_dict, "state_dict")
             else dict(module_or_state_dict))
    found = architecture_of(state)
    if arch is not None and arch != found:
        raise ValueError(f"the weights have architecture {found}, not the given {arch}")
    meta = {
        "agent": agent,
        "user_index": _user_index(agent),
        "observation": observation_info(found, env),
        "action": {"num_actions": found.num_actions,
                   "meaning": "0 = stay idle, k = 1..K = transmit on channel k"},
        "env": _env_settings(env, found),
        "source": dict(source or {}),
    }
    return write_actor_file(path, canonical_params(state, found), found, dtype=dtype,
                            encoding=encoding, metadata=meta)


# ----------------------------------------------------------------------------- checkpoints
def _is_module_dir(d: Path) -> bool:
    return any(d.glob("module_state.*"))


def _load_module_state(d: Path) -> Dict[str, Any]:
    files = sorted(d.glob("module_state.*"))
    if not files or files[0].suffix != ".pkl":
        raise ValueError(f"{d}: expected module_state.pkl (RLlib's pickle checkpoint), "
                         f"found {[f.name for f in files]}")
    with open(files[0], "rb") as f:
        return pickle.load(f)


def _is_algorithm_checkpoint(d: Path) -> bool:
    meta = d / "rllib_checkpoint.json"
    try:
        return meta.is_file() and json.loads(meta.read_text()).get("state_file") == "algorithm_state"
    except (OSError, ValueError):
        return False


def resolve_checkpoint(path) -> Path:
    """``path`` itself if it holds modules, else the latest Algorithm checkpoint below it.

    A run directory (``runs/NAME`` with ``checkpoints/iter_000150`` ...) resolves to
    its last checkpoint in natural name order (numbers compared as numbers); checkpoints of several runs below ``path`` are
    ambiguous (ValueError listing them).
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"--checkpoint {root}: no such directory")
    if _is_module_dir(root) or _is_algorithm_checkpoint(root) or (root / "learner_group").is_dir() \
            or any(_is_module_dir(d) for d in root.iterdir() if d.is_dir()):
        return root
    def natural(d: Path):  # iter_99 before iter_100, padded or not
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", d.name)]

    found = sorted((d for pattern in ("*", "*/*", "*/*/*", "*/*/*/*") for d in root.glob(pattern)
                    if d.is_dir() and _is_algorithm_checkpoint(d)), key=natural)
    parents = sorted({d.parent for d in found})
    if len(parents) > 1:
        raise ValueError(f"--checkpoint {root}: checkpoints of {len(parents)} runs below it "
                         f"({', '.join(str(p) for p in parents[:4])}{', ...' if len(parents) > 4 else ''}); "
                         "give one run's directory or one checkpoint")
    return found[-1] if found else root


def _user_index(agent) -> Optional[int]:
    """n of an actor id ``user_n`` (dsa_pettingzoo's agent ids), None for anything else."""
    try:
        return agent_index(agent)
    except ValueError:
        return None


def find_actor_modules(checkpoint) -> Dict[str, Path]:
    """module id -> RLModule directory of every actor (``user_<n>``) in a checkpoint."""
    root = Path(checkpoint)
    if not root.is_dir():
        raise ValueError(f"--checkpoint {root}: no such directory")
    if _is_module_dir(root):
        if _user_index(root.name) is None:
            raise ValueError(f"--checkpoint {root}: an RLModule directory must be named user_<n> "
                             "(an actor); the shared critic is never exported")
        return {root.name: root}
    for candidate in (root / "learner_group" / "learner" / "rl_module", root / "rl_module", root):
        if candidate.is_dir():
            found = {d.name: d for d in candidate.iterdir()
                     if d.is_dir() and _user_index(d.name) is not None and _is_module_dir(d)}
            if found:
                return dict(sorted(found.items(), key=lambda kv: _user_index(kv[0])))
    raise ValueError(f"--checkpoint {root}: no actor module found; give an Algorithm checkpoint "
                     "directory, its learner_group/learner/rl_module directory, one "
                     "rl_module/user_<n> directory, or a run directory holding checkpoints")


def find_env_config(checkpoint) -> Optional[Dict[str, Any]]:
    """The env_config of the Algorithm checkpoint that holds ``checkpoint`` (None if not found)."""
    d = Path(checkpoint).resolve()
    for folder in (d, *d.parents):
        meta = folder / "rllib_checkpoint.json"
        if meta.is_file():
            try:
                if json.loads(meta.read_text()).get("state_file") != "algorithm_state":
                    continue
                with open(folder / "class_and_ctor_args.pkl", "rb") as f:
                    ctor = pickle.load(f)
            except (OSError, ValueError, pickle.UnpicklingError, ImportError, AttributeError):
                return None
            args, kwargs = ctor.get("ctor_args_and_kwargs", ((), {}))
            config = args[0] if args else kwargs.get("config")
            env = config.get("env_config") if isinstance(config, dict) else getattr(config, "env_config", None)
            return dict(env) if env is not None else None
    return None


def export_checkpoint(checkpoint, output, *, dtype: str = "float32", encoding: str = "auto",
                      env: Optional[Mapping[str, Any]] = None, overwrite: bool = False,
                      log=print) -> Dict[str, Tuple[Path, Dict[str, Any]]]:
    """Export every actor of a checkpoint into ``output``; module id -> (file, header).

    ``checkpoint`` may also be a run directory: its latest checkpoint is used (and named).
    """
    resolved = resolve_checkpoint(checkpoint)
    if resolved != Path(checkpoint):
        log(f"using the latest checkpoint below {checkpoint}: {resolved}")
    checkpoint = resolved
    modules = find_actor_modules(checkpoint)
    if env is None:
        env = find_env_config(checkpoint)
        if env is None:
            log("warning: no environment settings found in the checkpoint (give --env); "
                "the files' env field is null")
    output = Path(output)
    targets = {mid: output / f"{mid}{SUFFIX}" for mid in modules}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not overwrite:
        raise ValueError(f"--output {output}: {len(existing)} actor file(s) already exist "
                         f"({existing[0]}, ...); pass --overwrite to replace them")
    output.mkdir(parents=True, exist_ok=True)
    done = {}
    for mid, mdir in modules.items():
        header = export_actor(_load_module_state(mdir), None, targets[mid], dtype=dtype,
                              encoding=encoding, agent=mid, env=env,
                              source={"checkpoint": str(Path(checkpoint).resolve()),
                                      "module_dir": str(mdir.resolve()),
                                      "exporter": "rllib_experiments.export"})
        size = targets[mid].stat().st_size
        sp = header["sparsity"]
        log(f"{mid}: {100 * sp['prunable']:.1f}% of weights zero, {size} bytes "
            f"({100 * size / header['dense_float32_bytes']:.1f}% of the dense float32 "
            f"{header['dense_float32_bytes']} bytes) -> {targets[mid]}")
        done[mid] = (targets[mid], header)
    return done


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of ``python -m rllib_experiments.export``."""
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments.export",
        description="Write every user's actor of a checkpoint to OUTPUT/user_<n>.dsaactor, a "
        "compact sparse file that dsa_pettingzoo.deploy runs with numpy only (docs/deployment.md).")
    p.add_argument("--checkpoint", required=True,
                   help="Algorithm checkpoint directory (algo.save_to_path), its "
                   "learner_group/learner/rl_module directory, one rl_module/user_<n> directory, "
                   "or a run directory (its latest checkpoint, e.g. runs/NAME/checkpoints/iter_*)")
    p.add_argument("--output", required=True, help="directory for the actor files (created)")
    p.add_argument("--dtype", choices=DTYPES, default="float32",
                   help="storage type of the weights (default float32; float16 halves the values; "
                   "int8 quarters them, with one float32 scale per row)")
    p.add_argument("--encoding", choices=ENCODINGS, default="auto",
                   help="matrix encoding: auto (smallest of dense / bitmask / csr per matrix; "
                   "default) or force one")
    p.add_argument("--env", metavar="JSON",
                   help="environment settings the actors were trained on, as JSON kwargs of "
                   "dsa_pettingzoo.parallel_env (default: read from the checkpoint)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing user_<n>.dsaactor files in OUTPUT")
    return p


def main(argv=None) -> int:
    """Entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env = None
    if args.env is not None:
        try:
            env = json.loads(args.env)
        except json.JSONDecodeError as err:
            parser.error(f"argument --env: not valid JSON ({err})")
        if not isinstance(env, dict):
            parser.error("argument --env: must be a JSON object of environment kwargs")
    try:
        export_checkpoint(args.checkpoint, args.output, dtype=args.dtype, encoding=args.encoding,
                          env=env, overwrite=args.overwrite)
    except ValueError as err:
        message = str(err)
        if message.startswith("--"):
            parser.error(message)
        flag = "--dtype" if "float16" in message else "--env" if "environment" in message else "--checkpoint"
        parser.error(f"argument {flag}: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
