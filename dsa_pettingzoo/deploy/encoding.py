"""How one matrix of an exported-actor file is stored: dense, bitmask or CSR; float or int8.

``dense``: row-major values. ``bitmask``: one bit per entry (row-major, numpy
``packbits`` big-endian bit order), then the non-zero values in row-major
order. ``csr``: row pointers, column indices, values. ``auto`` keeps the
smallest of the three (ties: dense, bitmask, csr).

CSR column indices are either ``absolute`` (the column) or, from format
version 2, ``delta``: the number of columns skipped since the previous
non-zero of the row (the first non-zero of a row counts from column 0), so
column = previous + 1 + delta. Each uses the smallest unsigned type its
largest entry fits; the smaller of the two is kept (ties: absolute). Deltas
help matrices wider than 256 columns whose gaps stay below 256 (uint8).

An int8 matrix (format version 2) adds a ``scales`` part, float32 [rows]:
W[r, c] = scales[r] * values (see :mod:`dsa_pettingzoo.deploy.quantize`).

From format version 3 two encodings drop zeros that versions 1-2 stored:

* a vector (a bias) may be ``bitmask`` like a matrix: ``mask`` (one bit per
  entry), then its non-zero values. A pruned bias of 512 zeros costs 64 bytes
  instead of 2,048.
* an int8 matrix may say ``"scales_encoding": "bitmask"``: ``scales_mask``
  (one bit per row, set where the row has a non-zero weight) and ``scales``
  holding only those rows' scales. A row without weights has scale 0, so
  nothing is lost; above ~99% sparsity most of an int8 file's bytes were
  such zeros.

The writer uses each only where it is smaller, so files that gain nothing keep
their older version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from .quantize import quantize_rows

ENCODINGS = ("auto", "dense", "bitmask", "csr")
INDEX_ENCODINGS = ("absolute", "delta")
#: How an int8 matrix's row scales are stored ("bitmask" from format version 3).
SCALES_ENCODINGS = ("dense", "bitmask")
#: Table fields that only format version 3 defines (a writer bumps the version for them).
VERSION_3_FIELDS = ("scales_encoding",)


def uint_dtype(max_value: int) -> np.dtype:
    """Smallest unsigned dtype holding 0..max_value."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if max_value <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


def compact_indices(cols: np.ndarray, counts: np.ndarray, num_cols: int) -> Tuple[str, np.ndarray]:
    """(index encoding, indices) for the row-major column indices ``cols`` of rows of ``counts``."""
    cols = np.asarray(cols, np.int64)
    absolute = cols.astype(uint_dtype(max(num_cols - 1, 0)))
    if cols.size == 0:
        return "absolute", absolute
    delta = deltas_of(cols, counts)
    compact = delta.astype(uint_dtype(int(delta.max())))
    return ("delta", compact) if compact.nbytes < absolute.nbytes else ("absolute", absolute)


def deltas_of(cols: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Columns skipped before each non-zero since the previous one of its row (int64)."""
    cols = np.asarray(cols, np.int64)
    previous = np.concatenate([[-1], cols[:-1]])
    starts = np.cumsum(counts) - counts
    previous[starts[counts > 0]] = -1  # a row's first non-zero counts from column 0
    return cols - previous - 1


def columns_of(deltas: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Inverse of :func:`deltas_of`: the absolute columns (int64)."""
    steps = np.asarray(deltas, np.int64) + 1
    total = np.cumsum(steps)
    starts = np.cumsum(counts) - counts
    first = starts[counts > 0]
    base = np.zeros_like(total)
    base[first] = total[first] - steps[first]  # undo everything summed before the row's start
    return total - np.maximum.accumulate(base) - 1 if total.size else total


@dataclass(frozen=True)
class SparseMatrix:
    """A matrix as its non-zeros in row-major order (COO): W[rows[j], cols[j]] = values[j].

    From an int8 file ``q`` and ``scales`` hold the stored integers and the row
    scales (``values`` = scales[rows] * q, float32); otherwise they are None.
    """

    shape: Tuple[int, int]
    rows: np.ndarray
    """intp [nnz], non-decreasing."""
    cols: np.ndarray
    """intp [nnz], increasing within a row."""
    values: np.ndarray
    """float32 [nnz]."""
    q: Optional[np.ndarray] = None
    """int8 [nnz], or None (float weights)."""
    scales: Optional[np.ndarray] = None
    """float32 [rows], or None."""

    @classmethod
    def of(cls, w) -> "SparseMatrix":
        """``w`` itself when it is a SparseMatrix, else the non-zeros of the array ``w`` (float32)."""
        if isinstance(w, SparseMatrix):
            return w
        w = np.asarray(w, np.float32)
        r, c = np.nonzero(w)
        return cls(tuple(w.shape), r.astype(np.intp), c.astype(np.intp), w[r, c])

    @classmethod
    def quantized(cls, q: np.ndarray, scales: np.ndarray) -> "SparseMatrix":
        """The non-zeros of an int8 matrix q [rows, cols] with its row scales."""
        r, c = np.nonzero(q)
        scales = np.asarray(scales, np.float32)
        return cls(
            tuple(q.shape),
            r.astype(np.intp),
            c.astype(np.intp),
            (scales[r] * q[r, c].astype(np.float32)).astype(np.float32),
            np.ascontiguousarray(q[r, c], np.int8),
            scales,
        )

    def to_dense(self) -> np.ndarray:
        out = np.zeros(self.shape, np.float32)
        out[self.rows, self.cols] = self.values
        return out

    @property
    def row_counts(self) -> np.ndarray:
        """Non-zeros per row, int [rows]."""
        return np.bincount(self.rows, minlength=self.shape[0])

    def hstack(self, other: "SparseMatrix") -> "SparseMatrix":
        """[self, other] side by side (same number of rows), still row-major.

        The int8 integers are kept when both sides have the same row scales.
        """
        rows = np.concatenate([self.rows, other.rows])
        cols = np.concatenate([self.cols, other.cols + self.shape[1]])
        order = np.lexsort((cols, rows))
        q = scales = None
        if self.q is not None and other.q is not None and np.array_equal(self.scales, other.scales):
            q, scales = np.concatenate([self.q, other.q])[order], self.scales
        return SparseMatrix(
            (self.shape[0], self.shape[1] + other.shape[1]),
            rows[order],
            cols[order],
            np.concatenate([self.values, other.values])[order],
            q,
            scales,
        )


def encode_matrix(
    w: np.ndarray, dtype: str, encoding: str, scales: Optional[np.ndarray] = None
) -> Tuple[Dict, Dict[str, np.ndarray]]:
    """(table fields, parts) of one matrix; ``auto`` picks the smallest (ties: dense, bitmask, csr).

    ``dtype`` int8 needs the row ``scales``; the fields hold ``encoding`` and,
    for CSR with delta indices, ``index_encoding``.
    """
    rows, cols = w.shape
    scale_fields: Dict[str, str] = {}
    if dtype == "int8":
        stored = quantize_rows(w, scales)
        scale_fields, extra = encode_scales(scales)
    else:
        stored = w.astype(dtype)
        extra = {}
    nz = stored != 0
    values = stored[nz]
    r, c = np.nonzero(nz)

    def csr():
        counts = nz.sum(axis=1)
        index_encoding, indices = compact_indices(c, counts, cols)
        fields = {"index_encoding": index_encoding} if index_encoding != "absolute" else {}
        return fields, {
            "indptr": np.concatenate([[0], np.cumsum(counts)]).astype(uint_dtype(values.size)),
            "indices": indices,
            "values": values,
            **extra,
        }

    candidates = {
        "dense": lambda: ({}, {"values": stored.ravel(), **extra}),
        "bitmask": lambda: ({}, {**_zero_dropped(stored.ravel()), **extra}),
        "csr": csr,
    }
    names = list(candidates) if encoding == "auto" else [encoding]
    built = {name: candidates[name]() for name in names}
    best = min(built, key=lambda n: sum(p.nbytes for p in built[n][1].values()))
    fields, parts = built[best]
    return {"encoding": best, **fields, **scale_fields}, parts


def _zero_dropped(values: np.ndarray) -> Dict[str, np.ndarray]:
    """A vector as a bitmask of its non-zeros (numpy ``packbits`` order) and those values."""
    nz = values != 0
    return {"mask": np.packbits(nz), "values": values[nz]}


#: What a part costs a file besides its data, when choosing whether to drop zeros: its
#: table entry (about 55 bytes of JSON, e.g. ``"mask":{"offset":1234,"count":64,"dtype":"|u1"}``)
#: and up to 7 bytes of alignment padding.
PART_COST = 64


def _nbytes(parts: Dict[str, np.ndarray]) -> int:
    """Bytes ``parts`` add to a file, counting :data:`PART_COST` for each part."""
    return sum(p.nbytes + PART_COST for p in parts.values())


def encode_scales(scales: np.ndarray) -> Tuple[Dict[str, str], Dict[str, np.ndarray]]:
    """(table fields, parts) of an int8 matrix's row scales: dense, or bitmask when smaller.

    The choice depends on the scales alone, so the two matrices of an LSTM layer, which
    share their scales, always make the same one (and share the parts' bytes).
    """
    scales = np.asarray(scales, np.float32)
    dropped = _zero_dropped(scales)
    if _nbytes(dropped) < _nbytes({"scales": scales}):
        return {"scales_encoding": "bitmask"}, {
            "scales_mask": dropped["mask"],
            "scales": dropped["values"],
        }
    return {}, {"scales": scales}


def encode_vector(v: np.ndarray, encoding: str) -> Tuple[Dict[str, str], Dict[str, np.ndarray]]:
    """(table fields, parts) of a vector (float values already in the file's vector dtype).

    ``auto`` keeps ``bitmask`` (format version 3) only when it is smaller than
    ``dense`` (ties: dense). A forced matrix encoding (``dense``, ``bitmask``,
    ``csr``) leaves vectors dense, as versions 1-2 stored them.
    """
    dense = {"values": v}
    if encoding != "auto":
        return {"encoding": "dense"}, dense
    dropped = _zero_dropped(v)
    if _nbytes(dropped) < _nbytes(dense):
        return {"encoding": "bitmask"}, dropped
    return {"encoding": "dense"}, dense


class TensorError(ValueError):
    """A bad tensor table entry; the reader adds the file's name."""


def _part(
    payload: memoryview,
    entry: dict,
    part: str,
    count: int,
    kinds: str,
    itemsize: Optional[int] = None,
) -> np.ndarray:
    info = entry["parts"].get(part)
    if info is None:
        raise TensorError(f"tensor {entry['name']}: missing part {part!r}")
    dt = np.dtype(info["dtype"])
    if dt.kind not in kinds or info["count"] != count or (itemsize and dt.itemsize != itemsize):
        raise TensorError(
            f"tensor {entry['name']}: part {part!r} has dtype {dt} and "
            f"{info['count']} entries, expected kind {kinds!r}"
            f"{f' of {itemsize} byte(s)' if itemsize else ''} and {count}"
        )
    end = info["offset"] + count * dt.itemsize
    if info["offset"] < 0 or end > len(payload):
        raise TensorError(f"tensor {entry['name']}: part {part!r} lies outside the payload")
    return np.frombuffer(payload, dtype=dt, count=count, offset=info["offset"])


def _unpack_mask(payload: memoryview, entry: dict, part: str, count: int) -> np.ndarray:
    """The ``count`` bits of a packed bitmask part (numpy ``packbits`` order), as bools."""
    return np.unpackbits(_part(payload, entry, part, (count + 7) // 8, "u"), count=count).astype(
        bool
    )


def _bitmask(
    payload: memoryview, entry: dict, size: int, nnz: int, kinds: str, itemsize: Optional[int]
) -> Tuple[np.ndarray, np.ndarray]:
    """(flat positions, values) of a bitmask entry; its popcount must be the table's ``nnz``."""
    flat = np.flatnonzero(_unpack_mask(payload, entry, "mask", size))
    if flat.size != nnz:
        raise TensorError(
            f"tensor {entry['name']}: bitmask has {flat.size} ones, the table says {nnz} non-zeros"
        )
    return flat, _part(payload, entry, "values", nnz, kinds, itemsize)


def _decode_scales(payload: memoryview, entry: dict, rows: int, version: int) -> np.ndarray:
    """float32 [rows] row scales of an int8 entry, stored dense or (version 3) as a bitmask."""
    name, how = entry["name"], entry.get("scales_encoding", "dense")
    if how not in SCALES_ENCODINGS:
        raise TensorError(
            f"tensor {name}: unknown scales encoding {how!r} "
            f"(allowed: {', '.join(SCALES_ENCODINGS)})"
        )
    if how == "dense":
        scales = _part(payload, entry, "scales", rows, "f").astype(np.float32)
    else:
        if version < 3:
            raise TensorError(
                f"tensor {name}: bitmask row scales need format version 3, the file says {version}"
            )
        mask = _unpack_mask(payload, entry, "scales_mask", rows)
        kept = _part(payload, entry, "scales", int(mask.sum()), "f").astype(np.float32)
        if np.any(kept == 0):
            raise TensorError(f"tensor {name}: a bitmask's row scales must be non-zero")
        scales = np.zeros(rows, np.float32)
        scales[mask] = kept
    if not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise TensorError(f"tensor {name}: int8 row scales must be finite and >= 0")
    return scales


def decode_tensor(
    payload: memoryview, entry: dict, shape: Tuple[int, ...], dtype: str, version: int
):
    """One table entry, with structural checks: a float32 array or a SparseMatrix.

    Float bitmask and CSR matrices are never expanded to dense here, so a
    sparse file decodes in memory proportional to its non-zeros. Every int8
    matrix decodes to a SparseMatrix (keeping its integers and scales).
    Raises :class:`TensorError`.
    """
    name, enc, nnz = entry["name"], entry.get("encoding"), entry.get("nnz")
    size = int(np.prod(shape))
    if isinstance(nnz, bool) or not isinstance(nnz, int) or not 0 <= nnz <= size:
        raise TensorError(f"tensor {name}: bad non-zero count {nnz!r}")
    int8 = dtype == "int8" and len(shape) == 2
    index_encoding = entry.get("index_encoding", "absolute")
    if index_encoding not in INDEX_ENCODINGS:
        raise TensorError(
            f"tensor {name}: unknown index encoding {index_encoding!r} "
            f"(allowed: {', '.join(INDEX_ENCODINGS)})"
        )
    if version < 2 and (int8 or index_encoding != "absolute"):
        raise TensorError(
            f"tensor {name}: int8 values and delta indices need format version 2, "
            f"the file says {version}"
        )
    kinds, itemsize = ("i", 1) if int8 else ("f", None)
    if len(shape) == 1 and enc == "bitmask":
        if version < 3:
            raise TensorError(
                f"tensor {name}: a bitmask vector needs format version 3, the file says {version}"
            )
        flat, values = _bitmask(payload, entry, size, nnz, "f", None)
        out = np.zeros(size, np.float32)
        out[flat] = values
        if not np.all(np.isfinite(out)) or np.count_nonzero(out) != nnz:
            raise TensorError(f"tensor {name}: the bitmask's values must be finite and non-zero")
        return out
    if enc == "dense" and not int8:  # stays a dense array (vectors, and matrices stored dense)
        out = _part(payload, entry, "values", size, "f").astype(np.float32).reshape(shape)
        if not np.all(np.isfinite(out)):
            raise TensorError(f"tensor {name}: non-finite values")
        if np.count_nonzero(out) != nnz:
            raise TensorError(
                f"tensor {name}: {np.count_nonzero(out)} non-zero values, the table says {nnz}"
            )
        return out
    if enc == "dense" and int8:
        dense = _part(payload, entry, "values", size, kinds, itemsize)
        if np.count_nonzero(dense) != nnz:
            raise TensorError(
                f"tensor {name}: {np.count_nonzero(dense)} non-zero values, the table says {nnz}"
            )
        flat = np.flatnonzero(dense)
        values = dense[flat]
    elif enc == "bitmask" and len(shape) == 2:
        flat, values = _bitmask(payload, entry, size, nnz, kinds, itemsize)
    elif enc == "csr" and len(shape) == 2:
        rows, cols = shape
        indptr = _part(payload, entry, "indptr", rows + 1, "u").astype(np.intp)
        stored = _part(payload, entry, "indices", nnz, "u").astype(np.int64)
        if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
            raise TensorError(
                f"tensor {name}: CSR row pointers are not a non-decreasing sequence from 0 to {nnz}"
            )
        indices = columns_of(stored, np.diff(indptr)) if index_encoding == "delta" else stored
        if nnz and indices.max() >= cols:
            raise TensorError(f"tensor {name}: CSR column index {indices.max()} >= {cols}")
        flat = np.repeat(np.arange(rows), np.diff(indptr)) * cols + indices
        if nnz > 1 and np.any(np.diff(flat) <= 0):
            raise TensorError(
                f"tensor {name}: CSR column indices are not strictly increasing within each row"
            )
        values = _part(payload, entry, "values", nnz, kinds, itemsize)
    else:
        raise TensorError(f"tensor {name}: unknown encoding {enc!r} for shape {shape}")
    r, c = np.divmod(flat.astype(np.intp), shape[1])
    if int8:
        scales = _decode_scales(payload, entry, shape[0], version)
        q = np.ascontiguousarray(values, np.int8)
        if np.any(scales[r] == 0):
            raise TensorError(
                f"tensor {name}: row {int(r[scales[r] == 0][0])} has scale 0 "
                "but non-zero int8 values"
            )
        if np.any(q == -128):
            raise TensorError(
                f"tensor {name}: int8 value -128 is outside the symmetric range -127..127"
            )
        deq = (scales[r] * q.astype(np.float32)).astype(
            np.float32
        )  # as dequantize_rows, per non-zero
        return SparseMatrix(tuple(shape), r, c, deq, q, scales)
    values = values.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise TensorError(f"tensor {name}: non-finite values")
    return SparseMatrix(tuple(shape), r, c, values)
