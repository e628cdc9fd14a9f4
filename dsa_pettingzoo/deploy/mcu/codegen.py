"""An exported actor and an observation sequence as C source: ``actor.h`` of the firmware.

The matrices are laid out exactly as ``compute="native"`` lays them out for the
host (:class:`~dsa_pettingzoo.deploy.native.NativeMatrix`), and each one is
kept in CSR or dense, whichever is smaller, as ``const`` arrays (flash). Float
values are written as C99 hexadecimal literals, so the firmware holds the same
bits as the file. The observations are stored as a table of the distinct
observation vectors and one index per step (the one-hot observations of the
environment take a few dozen distinct values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import numpy as np

from ..encoding import uint_dtype
from ..native import INDEX_MODES, NativeMatrix
from ..format import Architecture
from ..policy import network_matrices

_C_TYPES = {"u1": "uint8_t", "u2": "uint16_t", "u4": "uint32_t", "i1": "int8_t", "f4": "float"}


def _literal(x, kind: str) -> str:
    return float(x).hex() + "f" if kind == "f" else str(int(x))


def c_array(name: str, a: np.ndarray) -> str:
    """``static const T name[n] = {...};`` for a flat array of a type in _C_TYPES."""
    a = np.ascontiguousarray(a).ravel()
    ctype = _C_TYPES[f"{a.dtype.kind}{a.dtype.itemsize}"]
    items = [_literal(x, a.dtype.kind) for x in a.tolist()] or ["0"]  # C has no empty arrays
    per_line = 6 if a.dtype.kind == "f" else 24
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return (
        f"static const {ctype} {name}[{max(a.size, 1)}] = {{\n    "
        + ",\n    ".join(lines)
        + "\n};\n"
    )


def smallest_layout(w, bias) -> NativeMatrix:
    """The NativeMatrix (CSR or dense) with fewer bytes; dense on a tie."""
    dense, sparse = NativeMatrix(w, bias, sparse=False), NativeMatrix(w, bias, sparse=True)
    return sparse if sparse.nbytes < dense.nbytes else dense


def matrix_bytes(m: NativeMatrix) -> Dict[str, int]:
    """Bytes of one matrix: ``weights`` (values, scales, indices, row pointers) and ``bias``."""
    bias = 0 if m.bias is None else m.bias.nbytes  # a bias of zeros is not stored (NULL)
    return {"weights": m.nbytes - bias, "bias": bias}


def _matrix_source(prefix: str, m: NativeMatrix) -> tuple:
    arrays, fields = [], {}
    for part in ("indptr", "indices", "values", "scales", "bias"):
        a = getattr(m, part)
        if a is None:
            fields[part] = "NULL"
        else:
            arrays.append(c_array(f"{prefix}_{part}", a))
            fields[part] = f"{prefix}_{part}"
    sparse = m.kind == "sparse"
    init = (
        f"{{{m.shape[0]}, {m.shape[1]}, {'DSA_CSR' if sparse else 'DSA_DENSE'}, "
        f"{'DSA_INT8' if m.dtype == 'int8' else 'DSA_FLOAT32'}, "
        f"{m.indices.itemsize if sparse else 0}, {INDEX_MODES[m.index_encoding]}, "
        f"{m.indptr.itemsize if sparse else 0}, 0, {fields['indptr']}, {fields['indices']}, "
        f"{fields['values']}, {fields['scales']}, {fields['bias']}}}"
    )
    return "".join(arrays), init


def actor_matrices(arch: Architecture, tensors: dict) -> Dict[str, List[NativeMatrix]]:
    """An actor's matrices in the firmware's layout: ``dense``, ``lstm`` (fused), ``head``.

    ``tensors``: as :func:`~dsa_pettingzoo.deploy.format.read_actor_tensors` returns them.
    """
    dense, lstm, head = network_matrices(arch, tensors)
    return {
        "dense": [smallest_layout(w, b) for w, b in dense],
        "lstm": [smallest_layout(w, b) for w, b in lstm],
        "head": [smallest_layout(*head)],
    }


def observation_table(obs: np.ndarray) -> tuple:
    """(distinct rows float32 [U, d], index of each step's row [T]) of observations [T, d]."""
    obs = np.ascontiguousarray(obs, np.float32)
    table, index = np.unique(
        obs.view(np.dtype((np.void, obs.dtype.itemsize * obs.shape[1]))), return_inverse=True
    )
    return table.view(np.float32).reshape(-1, obs.shape[1]), index.ravel().astype(
        uint_dtype(len(table) - 1)
    )


def actor_header(
    path, arch: Architecture, tensors: dict, obs: np.ndarray, reset_every: int
) -> tuple:
    """(text of actor.h, byte counts) for the actor of file ``path`` stepped over ``obs`` [T, obs_dim].

    The LSTM state is zeroed before step 0 and every ``reset_every`` steps (episodes).
    """
    obs = np.asarray(obs, np.float32)
    if obs.ndim != 2 or obs.shape[1] != arch.obs_dim or len(obs) < 1:
        raise ValueError(
            f"observations must have shape (steps >= 1, {arch.obs_dim}), got {obs.shape}"
        )
    bad = np.argwhere(~np.isfinite(obs))
    if len(bad):
        step, i = (int(v) for v in bad[0])
        raise ValueError(
            f"observations must be finite: step {step}, element {i} is {obs[step, i]} "
            f"({len(bad)} non-finite values)"
        )
    if reset_every < 1:
        raise ValueError(f"reset_every must be >= 1, got {reset_every}")
    mats = actor_matrices(arch, tensors)
    parts, inits = [], {}
    for group, ms in mats.items():
        inits[group] = []
        for i, m in enumerate(ms):
            source, init = _matrix_source(f"dsa_{group}{i}", m)
            parts.append(source)
            inits[group].append(init)
    table, index = observation_table(obs)
    all_mats = [m for ms in mats.values() for m in ms]
    width = max([arch.obs_dim, *[d for m in all_mats for d in m.shape]])
    dense = (
        (
            f"static const dsa_matrix dsa_dense_layers[{len(inits['dense'])}] = {{\n    "
            + ",\n    ".join(inits["dense"])
            + "\n};\n"
        )
        if inits["dense"]
        else ""
    )
    text = "\n".join(
        [
            "/* Generated by dsa_pettingzoo.deploy.mcu.codegen from "
            f"{Path(path).name}: do not edit. */",
            "#include <stddef.h>",
            "#include <stdint.h>",
            '#include "actor_step.h"',
            "",
            f"#define DSA_OBS_DIM {arch.obs_dim}",
            f"#define DSA_NUM_ACTIONS {arch.num_actions}",
            f"#define DSA_STATE_FLOATS {arch.lstm_layers * arch.lstm_size}",
            f"#define DSA_WORK_FLOATS {2 * width}",
            f"#define DSA_STEPS {len(obs)}",
            f"#define DSA_RESET_EVERY {int(reset_every)}",
            "",
            *parts,
            dense,
            f"static const dsa_matrix dsa_lstm_layers[{len(inits['lstm'])}] = {{\n    "
            + ",\n    ".join(inits["lstm"])
            + "\n};\n",
            f"static const dsa_matrix dsa_head = {inits['head'][0]};\n",
            f"static const dsa_actor dsa_net = {{{arch.obs_dim}, {arch.num_actions}, "
            f"{len(inits['dense'])}, {arch.lstm_layers}, {arch.lstm_size}, {width}, "
            f"{'dsa_dense_layers' if inits['dense'] else 'NULL'}, dsa_lstm_layers, &dsa_head}};\n",
            c_array("dsa_obs_table", table),
            c_array("dsa_obs_index", index),
        ]
    )
    sizes = [matrix_bytes(m) for m in all_mats]
    counts = {
        "actor_bytes": sum(s["weights"] for s in sizes),
        "bias_bytes": sum(s["bias"] for s in sizes),
        "observation_bytes": int(table.nbytes + index.nbytes),
        "layouts": [f"{m.kind}/{m.dtype}" for m in all_mats],
    }
    return text, counts
