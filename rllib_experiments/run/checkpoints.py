"""Where the actors of a training checkpoint are (read by :mod:`rllib_experiments.run.export`).

:func:`resolve_checkpoint` turns a run directory into its latest checkpoint,
:func:`find_actor_modules` lists the actor RLModules (``user_<n>``; never the critic),
:func:`load_module_state` reads one's weights and :func:`find_env_config` the
environment settings of the enclosing Algorithm checkpoint.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any, Dict, Optional

from rllib_experiments.dsa.actor_files import user_index


def is_module_dir(d: Path) -> bool:
    return any(d.glob("module_state.*"))


def load_module_state(d: Path) -> Dict[str, Any]:
    files = sorted(d.glob("module_state.*"))
    if not files or files[0].suffix != ".pkl":
        raise ValueError(
            f"{d}: expected module_state.pkl (RLlib's pickle checkpoint), "
            f"found {[f.name for f in files]}"
        )
    try:
        with open(files[0], "rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, ImportError, AttributeError) as err:
        raise ValueError(
            f"{files[0]}: cannot read the module's weights ({type(err).__name__}: {err})"
        ) from None


def _is_algorithm_checkpoint(d: Path) -> bool:
    meta = d / "rllib_checkpoint.json"
    try:
        return (
            meta.is_file() and json.loads(meta.read_text()).get("state_file") == "algorithm_state"
        )
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
        raise ValueError(
            f"{root}: " + ("not a directory" if root.exists() else "no such directory")
        )
    if (
        is_module_dir(root)
        or _is_algorithm_checkpoint(root)
        or (root / "learner_group").is_dir()
        or any(is_module_dir(d) for d in root.iterdir() if d.is_dir())
    ):
        return root

    def natural(d: Path):  # iter_99 before iter_100, padded or not
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", d.name)]

    found = sorted(
        (
            d
            for pattern in ("*", "*/*", "*/*/*", "*/*/*/*")
            for d in root.glob(pattern)
            if d.is_dir() and _is_algorithm_checkpoint(d)
        ),
        key=natural,
    )
    parents = sorted({d.parent for d in found})
    if len(parents) > 1:
        raise ValueError(
            f"{root}: checkpoints of {len(parents)} runs below it "
            f"({', '.join(str(p) for p in parents[:4])}{', ...' if len(parents) > 4 else ''}); "
            "give one run's directory or one checkpoint"
        )
    return found[-1] if found else root


def find_actor_modules(checkpoint) -> Dict[str, Path]:
    """module id -> RLModule directory of every actor (``user_<n>``) in a checkpoint."""
    root = Path(checkpoint)
    if not root.is_dir():
        raise ValueError(
            f"{root}: " + ("not a directory" if root.exists() else "no such directory")
        )
    if is_module_dir(root):
        if user_index(root.name) is None:
            raise ValueError(
                f"{root}: an RLModule directory must be named user_<n> "
                "(an actor); the shared critic is never exported"
            )
        return {root.name: root}
    for candidate in (root / "learner_group" / "learner" / "rl_module", root / "rl_module", root):
        if candidate.is_dir():
            found = {
                d.name: d
                for d in candidate.iterdir()
                if d.is_dir() and user_index(d.name) is not None and is_module_dir(d)
            }
            if found:
                return dict(sorted(found.items(), key=lambda kv: user_index(kv[0])))
    raise ValueError(
        f"{root}: no actor module found; give an Algorithm checkpoint "
        "directory, its learner_group/learner/rl_module directory, one "
        "rl_module/user_<n> directory, or a run directory holding checkpoints"
    )


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
            env = (
                config.get("env_config")
                if isinstance(config, dict)
                else getattr(config, "env_config", None)
            )
            return dict(env) if env is not None else None
    return None


def actor_states(run_folder) -> list:
    """The state dicts of every actor of the latest checkpoint below ``run_folder``, in user order."""
    return [
        load_module_state(m) for m in find_actor_modules(resolve_checkpoint(run_folder)).values()
    ]
