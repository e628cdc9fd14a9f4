"""Where a result came from: the code, the libraries and the machine that made it.

Every trial record of the studies and every ``result.json`` of ``train`` carries the two
fields of :func:`provenance_fields`:

* ``code``: ``{"commit": <git commit>, "dirty": <tracked files changed>}`` of the checkout
  this package runs from, or None when it runs from an installed wheel (no checkout of its
  own);
* ``provenance``: ``versions`` (torch, ray, numpy, gymnasium, pettingzoo and this package,
  None for one not installed), ``cpu`` (the CPU model: torch picks its kernels by CPU, so
  a run is bit-identical only on the same kind), ``python`` and ``omp_num_threads`` (the
  ``OMP_NUM_THREADS`` of the process, None when unset).

Nothing here imports torch or ray: versions are read from the installed packages' metadata.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Optional

#: Distribution names whose versions a record keeps (this package's own last).
PACKAGES = ("torch", "ray", "numpy", "gymnasium", "pettingzoo", "dsa-pettingzoo")

#: The checkout holding this package when it runs from one (rllib_experiments/run/ -> root).
_CHECKOUT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(_CHECKOUT), *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def code_version() -> Optional[Dict[str, Any]]:
    """The git commit of the code that runs and whether tracked files had changes, or None
    outside a checkout of its own (an installed wheel: a git repository around the install
    folder, e.g. a virtual environment inside another checkout, is not this code's)."""
    if not (_CHECKOUT / ".git").exists():
        return None
    try:
        if Path(_git("rev-parse", "--show-toplevel")).resolve() != _CHECKOUT:
            return None
        commit = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}


def versions() -> Dict[str, Optional[str]]:
    """The installed version of each of :data:`PACKAGES` (None: not installed)."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def cpu_model() -> str:
    """The CPU model (``model name`` of /proc/cpuinfo; else what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> Dict[str, Any]:
    """What a timing was taken on: CPU model, the cores this process may use and the
    machine's, torch's threads, the GPU if torch sees one."""
    # imports torch: only when called (a record's provenance needs none)
    import torch

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores_usable": usable,
        "cores_machine": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def provenance() -> Dict[str, Any]:
    """The libraries and the machine of this process (a record's ``provenance`` field)."""
    return {
        "versions": versions(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }


def provenance_fields() -> Dict[str, Any]:
    """The fields a record or a result.json gains: ``code`` and ``provenance`` (module doc)."""
    return {"code": code_version(), "provenance": provenance()}
