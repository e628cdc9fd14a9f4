"""The exported-actor file: one user's pruned recurrent actor in a compact sparse encoding.

Numpy only (a device needs no torch and no ray). Layout of a file, all
integers little-endian (field by field in docs/deployment.md)::

    offset  size  field
    0       8     magic b"DSAACTOR"
    8       2     format version (uint16): 1; 2 when the file uses int8
                  values or delta column indices; 3 when it also drops zero
                  biases or zero int8 row scales (bitmask vectors / scales)
    10      2     reserved, 0
    12      4     header length H in bytes (uint32)
    16      8     payload length P in bytes (uint64)
    24      H     header: UTF-8 JSON (architecture, observation/action encoding,
                  sparsity, environment settings, tensor table)
    24+H    pad   zero bytes up to a multiple of 8
    ...     P     payload: the tensors' parts, each starting at a multiple of 8
    end-4   4     CRC-32 (zlib / IEEE 802.3) of every byte before it

Tensors (canonical names; [rows, cols] as in torch, y = W x + b):
``dense.{i}.weight`` [h_i, in] and ``dense.{i}.bias`` for each ReLU layer,
``lstm.{k}.weight_ih`` [4H, in], ``lstm.{k}.weight_hh`` [4H, H] and
``lstm.{k}.bias`` [4H] (= torch's bias_ih + bias_hh) for each LSTM layer, gate
order i, f, g, o, ``head.weight`` [A, H] and ``head.bias`` [A].

A matrix is stored dense, as a bitmask or in CSR, with float32, float16 or
int8 values (:mod:`dsa_pettingzoo.deploy.encoding`); vectors are float (float32
in an int8 file), dense or, from version 3, a bitmask of their non-zeros. The
writer uses the lowest version that holds the file, so float files without
delta indices or pruned biases stay readable by version-1 loaders.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from ..files import write_bytes_atomic
from .encoding import (
    ENCODINGS,
    VERSION_3_FIELDS,
    SparseMatrix,
    TensorError,
    decode_tensor,
    encode_matrix,
    encode_vector,
)
from .quantize import row_scales, shared_row_scales

MAGIC = b"DSAACTOR"
#: The newest format version; a loader reads every version in SUPPORTED_VERSIONS.
FORMAT_VERSION = 3
SUPPORTED_VERSIONS = (1, 2, 3)
#: magic, version, reserved, header length, payload length.
_PREFIX = struct.Struct("<8sHHIQ")
_CRC = struct.Struct("<I")
MIN_FILE_BYTES = _PREFIX.size + _CRC.size
ALIGN = 8
DTYPES = ("float32", "float16", "int8")
#: File extension of exported actors (one file per user).
SUFFIX = ".dsaactor"


class ActorFileError(ValueError):
    """A bad exported-actor file: names the file and the problem."""

    def __init__(self, path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class Architecture:
    """The actor network: y -> [Linear -> ReLU] * len(hidden_sizes) -> LSTM -> Linear -> softmax."""

    obs_dim: int
    """Length of the observation y_t^n (eq. 2)."""
    num_actions: int
    """K + 1 (0 idle, k >= 1 channel k)."""
    hidden_sizes: Tuple[int, ...] = (128, 128)
    """Units of the dense ReLU layers before the LSTM."""
    lstm_size: int = 128
    """H, units of every LSTM layer."""
    lstm_layers: int = 1
    """Stacked LSTM layers."""
    activation: str = "relu"
    """Activation of the dense layers (only relu)."""
    lstm_gate_order: str = "ifgo"
    """Order of the 4H gate rows (torch's: input, forget, cell, output)."""
    output: str = "softmax"
    """The head's logits go through a softmax over the actions (eq. 3)."""

    def __post_init__(self):
        ints = dict(
            obs_dim=self.obs_dim,
            num_actions=self.num_actions,
            lstm_size=self.lstm_size,
            lstm_layers=self.lstm_layers,
        )
        for name, v in ints.items():
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"architecture {name} must be an integer >= 1, got {v!r}")
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        if any(h < 1 for h in self.hidden_sizes):
            raise ValueError(f"architecture hidden_sizes must be positive, got {self.hidden_sizes}")
        if (self.activation, self.lstm_gate_order, self.output) != ("relu", "ifgo", "softmax"):
            raise ValueError(
                "only activation 'relu', lstm_gate_order 'ifgo' and output 'softmax' "
                f"are supported, got {self.activation!r}, {self.lstm_gate_order!r}, "
                f"{self.output!r}"
            )

    def shapes(self) -> Dict[str, Tuple[int, ...]]:
        """Canonical tensor name -> shape, in file order."""
        out: Dict[str, Tuple[int, ...]] = {}
        size = self.obs_dim
        for i, h in enumerate(self.hidden_sizes):
            out[f"dense.{i}.weight"], out[f"dense.{i}.bias"] = (h, size), (h,)
            size = h
        H = self.lstm_size
        for k in range(self.lstm_layers):
            out[f"lstm.{k}.weight_ih"] = (4 * H, size)
            out[f"lstm.{k}.weight_hh"] = (4 * H, H)
            out[f"lstm.{k}.bias"] = (4 * H,)
            size = H
        out["head.weight"], out["head.bias"] = (self.num_actions, H), (self.num_actions,)
        return out

    def num_params(self) -> int:
        """Number of parameters stored (the LSTM's two biases count once, merged)."""
        return int(sum(np.prod(s) for s in self.shapes().values()))

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Architecture":
        return cls(**{k: (tuple(v) if k == "hidden_sizes" else v) for k, v in d.items()})


# ----------------------------------------------------------------------------- encoding
def _check_float16(name: str, w: np.ndarray) -> None:
    big = np.abs(w) > np.finfo(np.float16).max
    if big.any():
        raise ValueError(
            f"tensor {name} has values beyond float16's range "
            f"(max |w| = {np.abs(w).max():.3g}); export with dtype float32"
        )


def int8_scales(params: Mapping[str, np.ndarray], arch: Architecture) -> Dict[str, np.ndarray]:
    """Matrix name -> row scales of an int8 file; an LSTM layer's two matrices share theirs."""
    out = {}
    for name, shape in arch.shapes().items():
        if len(shape) == 2 and not name.startswith("lstm."):
            out[name] = row_scales(params[name])
    for k in range(arch.lstm_layers):
        ih, hh = f"lstm.{k}.weight_ih", f"lstm.{k}.weight_hh"
        out[ih] = out[hh] = shared_row_scales(params[ih], params[hh])
    return out


def sparsity_of(params: Mapping[str, np.ndarray]) -> Dict[str, Any]:
    """Zero fractions: ``prunable`` (weight matrices, as pruning_callbacks counts), ``overall``."""
    mats = [np.asarray(v) for v in params.values() if np.ndim(v) >= 2]
    total = sum(m.size for m in mats)
    zeros = sum(int((m == 0).sum()) for m in mats)
    all_size = sum(np.size(v) for v in params.values())
    all_zeros = sum(int((np.asarray(v) == 0).sum()) for v in params.values())
    return {
        "prunable": zeros / max(total, 1),
        "overall": all_zeros / max(all_size, 1),
        "nonzero_weights": total - zeros,
        "weights": total,
    }


def write_actor_file(
    path,
    params: Mapping[str, np.ndarray],
    arch: Architecture,
    *,
    dtype: str = "float32",
    encoding: str = "auto",
    metadata: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """Write one actor to ``path``; returns the header written.

    ``params``: canonical name -> array (see the module docstring), exactly the
    names of ``arch.shapes()``. ``metadata``: extra header entries, e.g.
    ``agent``, ``observation``, ``action``, ``env``, ``source`` (JSON-able).
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    shapes = arch.shapes()
    if set(params) != set(shapes):
        raise ValueError(
            f"params must hold exactly {sorted(shapes)}; missing "
            f"{sorted(set(shapes) - set(params))}, unexpected {sorted(set(params) - set(shapes))}"
        )
    scales = int8_scales(params, arch) if dtype == "int8" else {}
    vector_dtype = np.dtype("float32" if dtype == "int8" else dtype)
    blobs, table, offset, version = [], [], 0, 1
    # (part, dtype, bytes) of scales parts -> part info: an LSTM layer's shared scales are stored once
    written: Dict[Tuple[str, str, bytes], Dict[str, Any]] = {}
    for name, shape in shapes.items():
        w = np.asarray(params[name], dtype=np.float32)
        if w.shape != shape:
            raise ValueError(
                f"tensor {name} must have shape {shape} for this architecture, got {w.shape}"
            )
        if not np.all(np.isfinite(w)):
            raise ValueError(f"tensor {name} has non-finite values")
        if dtype == "float16":
            _check_float16(name, w)
        if w.ndim == 2:
            fields, parts = encode_matrix(w, dtype, encoding, scales.get(name))
        else:
            fields, parts = encode_vector(w.astype(vector_dtype), encoding)
        if dtype == "int8" or "index_encoding" in fields:
            version = max(version, 2)
        if any(f in fields for f in VERSION_3_FIELDS) or (
            w.ndim == 1 and fields["encoding"] != "dense"
        ):
            version = 3
        # nnz: the stored non-zero values (a float16 or int8 value may round to 0).
        nnz = int(np.count_nonzero(parts["values"]))
        entry = {
            "name": name,
            "shape": list(shape),
            "encoding": fields.pop("encoding"),
            **fields,
            "nnz": nnz,
            "parts": {},
        }
        for part, arr in parts.items():
            key = (part, arr.dtype.str, arr.tobytes())
            if part.startswith("scales") and key in written:
                entry["parts"][part] = written[key]
                continue
            pad = (-offset) % ALIGN
            blobs.append(b"\0" * pad)
            offset += pad
            little = arr.dtype.newbyteorder("<")  # the file is little-endian on every host
            entry["parts"][part] = {"offset": offset, "count": int(arr.size), "dtype": little.str}
            raw = np.ascontiguousarray(arr, dtype=little).tobytes()
            if part.startswith("scales"):
                written[key] = entry["parts"][part]
            blobs.append(raw)
            offset += len(raw)
        table.append(entry)
    header = {
        "format": "dsa-pettingzoo exported actor",
        "format_version": version,
        "architecture": arch.to_dict(),
        "dtype": dtype,
        "sparsity": sparsity_of(params),
        "dense_float32_bytes": 4 * arch.num_params(),
        "checksum": "crc32 of all preceding bytes, last 4 bytes of the file",
        **dict(metadata or {}),
        "tensors": table,
    }
    head = json.dumps(header, sort_keys=False, separators=(",", ":")).encode("utf-8")
    payload = b"".join(blobs)
    body = _PREFIX.pack(MAGIC, version, 0, len(head), len(payload)) + head
    body += b"\0" * ((-len(body)) % ALIGN) + payload
    write_bytes_atomic(path, body + _CRC.pack(zlib.crc32(body)))  # never half a file under its name
    return header


# ----------------------------------------------------------------------------- decoding
def read_header(path) -> Tuple[Dict[str, Any], memoryview]:
    """Check a file's framing (size, magic, version, CRC) and return (header, payload view)."""
    return _read_frame(path)[1:]


def _read_frame(path) -> Tuple[int, Dict[str, Any], memoryview]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ActorFileError(path, "no such file") from None
    except IsADirectoryError:
        raise ActorFileError(path, "is a directory, not an exported-actor file") from None
    if len(data) < MIN_FILE_BYTES:
        raise ActorFileError(
            path,
            f"truncated: {len(data)} bytes, shorter than the "
            f"{MIN_FILE_BYTES}-byte frame of an exported-actor file",
        )
    magic, version, _, head_len, payload_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise ActorFileError(
            path, f"not an exported-actor file (magic {magic!r}, expected {MAGIC!r})"
        )
    if version not in SUPPORTED_VERSIONS:
        raise ActorFileError(
            path,
            f"format version {version} is not supported (this loader "
            f"reads versions {', '.join(map(str, SUPPORTED_VERSIONS))}); "
            "re-export the actor",
        )
    start = _PREFIX.size + head_len
    payload_start = start + (-start) % ALIGN
    expected = payload_start + payload_len + _CRC.size
    if len(data) < expected:
        raise ActorFileError(path, f"truncated: {len(data)} bytes, the frame declares {expected}")
    if len(data) > expected:
        raise ActorFileError(
            path,
            f"{len(data) - expected} unexpected trailing bytes "
            f"(the frame declares {expected} bytes)",
        )
    (crc,) = _CRC.unpack_from(data, expected - _CRC.size)
    if zlib.crc32(memoryview(data)[: expected - _CRC.size]) != crc:
        raise ActorFileError(path, "checksum mismatch (CRC-32): the file is corrupted")
    try:
        header = json.loads(data[_PREFIX.size : start].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ActorFileError(path, f"header is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise ActorFileError(path, "header is not a JSON object")
    return version, header, memoryview(data)[payload_start : payload_start + payload_len]


def read_actor_tensors(path) -> Tuple[Dict[str, Any], Architecture, Dict[str, Any]]:
    """Read and check a file: (header, architecture, name -> float32 array or SparseMatrix).

    Raises :class:`ActorFileError` naming the file and the problem for a
    truncated or corrupted file, an unsupported format version, or an inconsistent
    tensor table.
    """
    version, header, payload = _read_frame(path)
    dtype = header.get("dtype", "float32")
    if dtype not in DTYPES:
        raise ActorFileError(path, f"unknown dtype {dtype!r} (allowed: {', '.join(DTYPES)})")
    try:
        arch = Architecture.from_dict(header["architecture"])
        table = {e["name"]: e for e in header["tensors"]}
    except (KeyError, TypeError, ValueError) as err:
        raise ActorFileError(path, f"bad header ({type(err).__name__}: {err})") from None
    shapes = arch.shapes()
    if set(table) != set(shapes):
        raise ActorFileError(
            path, f"tensor table {sorted(table)} does not match the architecture ({sorted(shapes)})"
        )
    tensors = {}
    for name, shape in shapes.items():
        entry = table[name]
        if tuple(entry.get("shape", ())) != shape:
            raise ActorFileError(
                path,
                f"tensor {name}: shape {entry.get('shape')} does not match "
                f"the architecture's {list(shape)}",
            )
        try:
            tensors[name] = decode_tensor(payload, entry, shape, dtype, version)
        except TensorError as err:
            raise ActorFileError(path, str(err)) from None
        except (KeyError, TypeError) as err:
            raise ActorFileError(path, f"tensor {name}: bad table entry ({err})") from None
    for k in range(arch.lstm_layers) if dtype == "int8" else ():
        ih, hh = tensors[f"lstm.{k}.weight_ih"], tensors[f"lstm.{k}.weight_hh"]
        if not np.array_equal(ih.scales, hh.scales):
            raise ActorFileError(
                path,
                f"lstm.{k}: weight_ih and weight_hh of an int8 file must "
                "share their row scales (one scale per gate row)",
            )
    return header, arch, tensors


def read_actor_file(path) -> Tuple[Dict[str, Any], Architecture, Dict[str, np.ndarray]]:
    """Read and check a file: (header, architecture, canonical name -> dense float32 array).

    The checks of :func:`read_actor_tensors`; matrices are expanded to dense.
    """
    header, arch, tensors = read_actor_tensors(path)
    return (
        header,
        arch,
        {name: t.to_dense() if isinstance(t, SparseMatrix) else t for name, t in tensors.items()},
    )
