"""The exported-actor file: one user's pruned recurrent actor in a compact sparse encoding.

Numpy only (a device needs no torch and no ray). Layout of a file, version 1,
all integers little-endian (field by field in docs/deployment.md)::

    offset  size  field
    0       8     magic b"DSAACTOR"
    8       2     format version (uint16) = 1
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

A matrix is stored in the smallest of three encodings (``auto``):
``dense`` (row-major values), ``bitmask`` (one bit per entry, row-major,
numpy ``packbits`` big-endian bit order, then the non-zero values in row-major
order) or ``csr`` (row pointers, column indices, values). Vectors are dense.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

MAGIC = b"DSAACTOR"
FORMAT_VERSION = 1
#: magic, version, reserved, header length, payload length.
_PREFIX = struct.Struct("<8sHHIQ")
_CRC = struct.Struct("<I")
MIN_FILE_BYTES = _PREFIX.size + _CRC.size
ALIGN = 8
DTYPES = ("float32", "float16")
ENCODINGS = ("auto", "dense", "bitmask", "csr")
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
        ints = dict(obs_dim=self.obs_dim, num_actions=self.num_actions,
                    lstm_size=self.lstm_size, lstm_layers=self.lstm_layers)
        for name, v in ints.items():
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"architecture {name} must be an integer >= 1, got {v!r}")
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        if any(h < 1 for h in self.hidden_sizes):
            raise ValueError(f"architecture hidden_sizes must be positive, got {self.hidden_sizes}")
        if (self.activation, self.lstm_gate_order, self.output) != ("relu", "ifgo", "softmax"):
            raise ValueError("only activation 'relu', lstm_gate_order 'ifgo' and output 'softmax' "
                             f"are supported, got {self.activation!r}, {self.lstm_gate_order!r}, "
                             f"{self.output!r}")

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
def _index_dtype(max_value: int) -> np.dtype:
    """Smallest unsigned dtype holding 0..max_value."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if max_value <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


def _encode_matrix(w: np.ndarray, dtype: np.dtype, encoding: str) -> Tuple[str, Dict[str, np.ndarray]]:
    """(encoding, parts) of one matrix; ``auto`` picks the smallest (ties: dense, bitmask, csr)."""
    rows, cols = w.shape
    nz = w != 0
    nnz = int(nz.sum())
    values = w[nz].astype(dtype)
    candidates = {
        "dense": lambda: {"values": w.astype(dtype).ravel()},
        "bitmask": lambda: {"mask": np.packbits(nz.ravel()), "values": values},
        "csr": lambda: {
            "indptr": np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(_index_dtype(nnz)),
            "indices": np.nonzero(nz)[1].astype(_index_dtype(max(cols - 1, 0))),
            "values": values,
        },
    }
    if encoding != "auto":
        return encoding, candidates[encoding]()
    built = {name: make() for name, make in candidates.items()}
    best = min(built, key=lambda n: sum(p.nbytes for p in built[n].values()))
    return best, built[best]


def _check_float16(name: str, w: np.ndarray) -> None:
    big = np.abs(w) > np.finfo(np.float16).max
    if big.any():
        raise ValueError(f"tensor {name} has values beyond float16's range "
                         f"(max |w| = {np.abs(w).max():.3g}); export with dtype float32")


def sparsity_of(params: Mapping[str, np.ndarray]) -> Dict[str, Any]:
    """Zero fractions: ``prunable`` (weight matrices, as pruning_callbacks counts), ``overall``."""
    mats = [np.asarray(v) for v in params.values() if np.ndim(v) >= 2]
    total = sum(m.size for m in mats)
    zeros = sum(int((m == 0).sum()) for m in mats)
    all_size = sum(np.size(v) for v in params.values())
    all_zeros = sum(int((np.asarray(v) == 0).sum()) for v in params.values())
    return {"prunable": zeros / max(total, 1), "overall": all_zeros / max(all_size, 1),
            "nonzero_weights": total - zeros, "weights": total}


def write_actor_file(path, params: Mapping[str, np.ndarray], arch: Architecture, *,
                     dtype: str = "float32", encoding: str = "auto",
                     metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
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
        raise ValueError(f"params must hold exactly {sorted(shapes)}; missing "
                         f"{sorted(set(shapes) - set(params))}, unexpected {sorted(set(params) - set(shapes))}")
    np_dtype = np.dtype(dtype)
    blobs, table, offset = [], [], 0
    for name, shape in shapes.items():
        w = np.asarray(params[name], dtype=np.float32)
        if w.shape != shape:
            raise ValueError(f"tensor {name} must have shape {shape} for this architecture, got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"tensor {name} has non-finite values")
        if dtype == "float16":
            _check_float16(name, w)
        if w.ndim == 2:
            enc, parts = _encode_matrix(w, np_dtype, encoding)
        else:
            enc, parts = "dense", {"values": w.astype(np_dtype)}
        # nnz: stored entries of a bitmask / CSR matrix; non-zero stored values when dense
        # (a float16 value may round to 0).
        nnz = int(np.count_nonzero(parts["values"]) if enc == "dense" else np.count_nonzero(w))
        entry = {"name": name, "shape": list(shape), "encoding": enc, "nnz": nnz, "parts": {}}
        for part, arr in parts.items():
            pad = (-offset) % ALIGN
            blobs.append(b"\0" * pad)
            offset += pad
            little = arr.dtype.newbyteorder("<")  # the file is little-endian on every host
            entry["parts"][part] = {"offset": offset, "count": int(arr.size), "dtype": little.str}
            raw = np.ascontiguousarray(arr, dtype=little).tobytes()
            blobs.append(raw)
            offset += len(raw)
        table.append(entry)
    header = {
        "format": "dsa-pettingzoo exported actor",
        "format_version": FORMAT_VERSION,
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
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(head), len(payload)) + head
    body += b"\0" * ((-len(body)) % ALIGN) + payload
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(body + _CRC.pack(zlib.crc32(body)))
    tmp.replace(path)  # never leave a half-written file under the final name
    return header


# ----------------------------------------------------------------------------- decoding
def read_header(path) -> Tuple[Dict[str, Any], memoryview]:
    """Check a file's framing (size, magic, version, CRC) and return (header, payload view)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ActorFileError(path, "no such file") from None
    except IsADirectoryError:
        raise ActorFileError(path, "is a directory, not an exported-actor file") from None
    if len(data) < MIN_FILE_BYTES:
        raise ActorFileError(path, f"truncated: {len(data)} bytes, shorter than the "
                             f"{MIN_FILE_BYTES}-byte frame of an exported-actor file")
    magic, version, _, head_len, payload_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise ActorFileError(path, f"not an exported-actor file (magic {magic!r}, expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise ActorFileError(path, f"format version {version} is not supported "
                             f"(this loader reads version {FORMAT_VERSION}); re-export the actor")
    start = _PREFIX.size + head_len
    payload_start = start + (-start) % ALIGN
    expected = payload_start + payload_len + _CRC.size
    if len(data) < expected:
        raise ActorFileError(path, f"truncated: {len(data)} bytes, the frame declares {expected}")
    if len(data) > expected:
        raise ActorFileError(path, f"{len(data) - expected} unexpected trailing bytes "
                             f"(the frame declares {expected} bytes)")
    (crc,) = _CRC.unpack_from(data, expected - _CRC.size)
    if zlib.crc32(memoryview(data)[: expected - _CRC.size]) != crc:
        raise ActorFileError(path, "checksum mismatch (CRC-32): the file is corrupted")
    try:
        header = json.loads(data[_PREFIX.size:start].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ActorFileError(path, f"header is not valid JSON ({err})") from None
    return header, memoryview(data)[payload_start: payload_start + payload_len]


def _part(path, payload: memoryview, entry: dict, part: str, count: int, kinds: str) -> np.ndarray:
    info = entry["parts"].get(part)
    if info is None:
        raise ActorFileError(path, f"tensor {entry['name']}: missing part {part!r}")
    dt = np.dtype(info["dtype"])
    if dt.kind not in kinds or info["count"] != count:
        raise ActorFileError(path, f"tensor {entry['name']}: part {part!r} has dtype {dt} and "
                             f"{info['count']} entries, expected kind {kinds!r} and {count}")
    end = info["offset"] + count * dt.itemsize
    if info["offset"] < 0 or end > len(payload):
        raise ActorFileError(path, f"tensor {entry['name']}: part {part!r} lies outside the payload")
    return np.frombuffer(payload, dtype=dt, count=count, offset=info["offset"])


@dataclass(frozen=True)
class SparseMatrix:
    """A matrix as its non-zeros in row-major order (COO): W[rows[j], cols[j]] = values[j]."""

    shape: Tuple[int, int]
    rows: np.ndarray
    """intp [nnz], non-decreasing."""
    cols: np.ndarray
    """intp [nnz], increasing within a row."""
    values: np.ndarray
    """float32 [nnz]."""

    @classmethod
    def of(cls, w) -> "SparseMatrix":
        """``w`` itself when it is a SparseMatrix, else the non-zeros of the array ``w`` (float32)."""
        if isinstance(w, SparseMatrix):
            return w
        w = np.asarray(w, np.float32)
        r, c = np.nonzero(w)
        return cls(tuple(w.shape), r.astype(np.intp), c.astype(np.intp), w[r, c])

    def to_dense(self) -> np.ndarray:
        out = np.zeros(self.shape, np.float32)
        out[self.rows, self.cols] = self.values
        return out

    @property
    def row_counts(self) -> np.ndarray:
        """Non-zeros per row, int [rows]."""
        return np.bincount(self.rows, minlength=self.shape[0])

    def hstack(self, other: "SparseMatrix") -> "SparseMatrix":
        """[self, other] side by side (same number of rows), still row-major."""
        rows = np.concatenate([self.rows, other.rows])
        cols = np.concatenate([self.cols, other.cols + self.shape[1]])
        order = np.lexsort((cols, rows))
        return SparseMatrix((self.shape[0], self.shape[1] + other.shape[1]), rows[order],
                            cols[order], np.concatenate([self.values, other.values])[order])


def _decode_tensor(path, payload: memoryview, entry: dict, shape: Tuple[int, ...]):
    """One table entry, with structural checks: a float32 array (dense encoding) or a SparseMatrix.

    Bitmask and CSR matrices are never expanded to dense here, so a sparse
    file decodes in memory proportional to its non-zeros.
    """
    name, enc, nnz = entry["name"], entry.get("encoding"), entry.get("nnz")
    size = int(np.prod(shape))
    if isinstance(nnz, bool) or not isinstance(nnz, int) or not 0 <= nnz <= size:
        raise ActorFileError(path, f"tensor {name}: bad non-zero count {nnz!r}")
    if enc == "dense":  # stays a dense array (vectors, and matrices stored dense)
        out = _part(path, payload, entry, "values", size, "f").astype(np.float32).reshape(shape)
        if not np.all(np.isfinite(out)):
            raise ActorFileError(path, f"tensor {name}: non-finite values")
        if np.count_nonzero(out) != nnz:
            raise ActorFileError(path, f"tensor {name}: {np.count_nonzero(out)} non-zero values, "
                                 f"the table says {nnz}")
        return out
    if enc == "bitmask" and len(shape) == 2:
        mask = np.unpackbits(_part(path, payload, entry, "mask", (size + 7) // 8, "u"), count=size)
        flat = np.flatnonzero(mask)
        if flat.size != nnz:
            raise ActorFileError(path, f"tensor {name}: bitmask has {flat.size} ones, "
                                 f"the table says {nnz} non-zeros")
        values = _part(path, payload, entry, "values", nnz, "f")
    elif enc == "csr" and len(shape) == 2:
        rows, cols = shape
        indptr = _part(path, payload, entry, "indptr", rows + 1, "u").astype(np.intp)
        indices = _part(path, payload, entry, "indices", nnz, "u").astype(np.intp)
        if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
            raise ActorFileError(path, f"tensor {name}: CSR row pointers are not a non-decreasing "
                                 f"sequence from 0 to {nnz}")
        if nnz and indices.max() >= cols:
            raise ActorFileError(path, f"tensor {name}: CSR column index {indices.max()} >= {cols}")
        flat = np.repeat(np.arange(rows), np.diff(indptr)) * cols + indices
        if nnz > 1 and np.any(np.diff(flat) <= 0):
            raise ActorFileError(path, f"tensor {name}: CSR column indices are not strictly "
                                 "increasing within each row")
        values = _part(path, payload, entry, "values", nnz, "f")
    else:
        raise ActorFileError(path, f"tensor {name}: unknown encoding {enc!r} for shape {shape}")
    values = values.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise ActorFileError(path, f"tensor {name}: non-finite values")
    r, c = np.divmod(flat.astype(np.intp), shape[1])
    return SparseMatrix(tuple(shape), r, c, values)


def read_actor_tensors(path) -> Tuple[Dict[str, Any], Architecture, Dict[str, Any]]:
    """Read and check a file: (header, architecture, name -> float32 array or SparseMatrix).

    Raises :class:`ActorFileError` naming the file and the problem for a
    truncated or corrupted file, another format version, or an inconsistent
    tensor table.
    """
    header, payload = read_header(path)
    try:
        arch = Architecture.from_dict(header["architecture"])
        table = {e["name"]: e for e in header["tensors"]}
    except (KeyError, TypeError, ValueError) as err:
        raise ActorFileError(path, f"bad header ({type(err).__name__}: {err})") from None
    shapes = arch.shapes()
    if set(table) != set(shapes):
        raise ActorFileError(path, f"tensor table {sorted(table)} does not match the architecture "
                             f"({sorted(shapes)})")
    tensors = {}
    for name, shape in shapes.items():
        entry = table[name]
        if tuple(entry.get("shape", ())) != shape:
            raise ActorFileError(path, f"tensor {name}: shape {entry.get('shape')} does not match "
                                 f"the architecture's {list(shape)}")
        try:
            tensors[name] = _decode_tensor(path, payload, entry, shape)
        except (KeyError, TypeError) as err:
            raise ActorFileError(path, f"tensor {name}: bad table entry ({err})") from None
    return header, arch, tensors


def read_actor_file(path) -> Tuple[Dict[str, Any], Architecture, Dict[str, np.ndarray]]:
    """Read and check a file: (header, architecture, canonical name -> dense float32 array).

    The checks of :func:`read_actor_tensors`; matrices are expanded to dense.
    """
    header, arch, tensors = read_actor_tensors(path)
    return header, arch, {name: t.to_dense() if isinstance(t, SparseMatrix) else t
                          for name, t in tensors.items()}
