"""Run exported (pruned) actors on a small device: numpy only, no torch, no ray.

``python -m rllib_experiments.export --checkpoint runs/NAME/... --output actors/``
writes one file per user (format: :mod:`dsa_pettingzoo.deploy.format`,
docs/deployment.md). Here they are loaded and run step by step:

>>> from dsa_pettingzoo.deploy import load_actors
>>> actors = load_actors("actors/")          # one SparseRecurrentPolicy per user, one system
>>> actors[0].reset(); a = actors[0].act(obs)

``dsa-evaluate --policy exported:actors/`` evaluates them like any baseline
(:class:`~dsa_pettingzoo.baselines.exported.ExportedPolicy`, which builds on this package;
this package never imports the baselines), and
``python -m dsa_pettingzoo deploy-benchmark`` measures file size, memory and
step time at several sparsities. ``load_policy(path, compute="native")`` runs
the optional compiled kernel (``native/actor_step.c``, built on first use).
``--dtype int8`` exports int8 weights with per-row scales (:mod:`.quantize`);
:mod:`.mcu` builds the same kernel and one actor into Cortex-M4 firmware and
runs it under QEMU (``python -m dsa_pettingzoo mcu``), and
``python -m dsa_pettingzoo agreement`` compares two exports' greedy actions.
"""

from .format import (
    FORMAT_VERSION,
    SUFFIX,
    ActorFileError,
    Architecture,
    SparseMatrix,
    read_actor_file,
    read_actor_tensors,
    write_actor_file,
)
from .native import NativeUnavailableError
from .policy import COMPUTE_MODES, NATIVE_MODES, SparseRecurrentPolicy, load_actors, load_policy
from .system import ExportFolderError, actor_files, read_system

__all__ = [
    "COMPUTE_MODES",
    "FORMAT_VERSION",
    "NATIVE_MODES",
    "SUFFIX",
    "ActorFileError",
    "Architecture",
    "ExportFolderError",
    "NativeUnavailableError",
    "SparseMatrix",
    "SparseRecurrentPolicy",
    "actor_files",
    "load_actors",
    "load_policy",
    "read_actor_file",
    "read_actor_tensors",
    "read_system",
    "write_actor_file",
]
