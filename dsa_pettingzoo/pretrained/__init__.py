"""Learned actors shipped with the environment: numpy only, no torch, no ray.

Each set is a folder of this package, ``<name>/``, holding every user's exported actor
(``user_<n>.dsaactor``, the format of :mod:`dsa_pettingzoo.deploy`) and ``manifest.json``:
the environment the actors were trained in, the command, commit and seed that trained them,
the command that exported them, their evaluation on the standard episodes (100 episodes of
:data:`~dsa_pettingzoo.evaluation.EVAL_SEED`, sampled and greedy actions, and the ratio to the
oracle on the same episodes) and the sha256 of every file.

>>> from dsa_pettingzoo import pretrained
>>> pretrained.names()                       # the shipped sets, e.g. ['ours-A', 'ours-B', 'ours-C']
>>> policy = pretrained.load("ours-A")       # a batched policy, as make_policy("exported:DIR")
>>> pretrained.manifest("ours-A")["evaluation"]["greedy"]["oracle_ratio"]

``dsa-evaluate --policy pretrained:ours-A`` plays a set (its training setup is the default
``--setup``) and ``dsa-evaluate --list-pretrained`` lists them. The sets are built from
trained checkpoints by ``python -m rllib_experiments pretrained`` (docs/deployment.md).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..baselines.exported import ExportedPolicy

#: The file of a set that describes it.
MANIFEST = "manifest.json"
HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    """The shipped sets, sorted: every folder of this package whose manifest bears its name
    (a set moved aside by a rebuild, ``NAME.old-<time>``, is not listed)."""
    return sorted(
        p.parent.name
        for p in HERE.glob(f"*/{MANIFEST}")
        if json.loads(p.read_text()).get("name") == p.parent.name
    )


def folder(name: str) -> Path:
    """The folder of set ``name`` (ValueError naming the shipped sets when there is none)."""
    if not isinstance(name, str) or name not in names():
        shipped = ", ".join(names()) or "none"
        raise ValueError(f"no pretrained set {name!r}; shipped: {shipped}")
    return HERE / name


def manifest(name: str) -> dict:
    """The manifest of set ``name`` (see the module doc)."""
    return json.loads((folder(name) / MANIFEST).read_text())


def sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_files(name: str) -> None:
    """ValueError unless the set's actor files are exactly those of its manifest, byte for byte."""
    where = folder(name)
    listed = manifest(name)["files"]
    present = sorted(p.name for p in where.glob("*.dsaactor"))
    if present != sorted(listed):
        raise ValueError(
            f"pretrained set {name!r}: files {present} differ from its manifest's {sorted(listed)}"
        )
    for file, digest in listed.items():
        if sha256(where / file) != digest:
            raise ValueError(f"pretrained set {name!r}: {file} does not match its sha256")


class PretrainedPolicy(ExportedPolicy):
    """A shipped set's actors, greedy or sampled: :class:`ExportedPolicy` on its folder, after
    checking every file against the manifest's sha256."""

    name = "pretrained"

    def __init__(self, set_name: str, greedy: bool = True, compute: str = "auto"):
        check_files(set_name)
        super().__init__(folder(set_name), greedy=greedy, compute=compute)
        self.set_name = set_name


def load(name: str, greedy: bool = True, compute: str = "auto") -> PretrainedPolicy:
    """The batched policy of set ``name`` (``greedy=False`` samples from the actors' softmax)."""
    return PretrainedPolicy(name, greedy=greedy, compute=compute)
