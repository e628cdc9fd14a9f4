"""The optional compiled kernel: one slot of an exported actor in C (``compute="native"``).

``native/actor_step.c`` (shipped with the package) runs the actor straight from
the file's CSR arrays: one multiply-add per stored non-zero, no Python between
the layers. It is built on first use with the system C compiler (``$CC``, else
``cc``, ``gcc`` or ``clang``) into a per-user cache directory
(``$DSA_PETTINGZOO_CACHE``, else ``$XDG_CACHE_HOME/dsa_pettingzoo``, else
``~/.cache/dsa_pettingzoo``), named by a hash of the source, compiler and flags,
and loaded with ctypes. The flags are :data:`CFLAGS` (portable: the build runs
on any host of the platform) plus ``$DSA_PETTINGZOO_CFLAGS`` (for example
``-march=native``, to let the compiler use this CPU's vector units). Nothing here is needed by the numpy modes: without a
compiler only ``compute="native"`` / ``"native-dense"`` fail, with
:class:`NativeUnavailableError`.

``native`` keeps every matrix in CSR (row pointers of 2 or 4 bytes, column
indices of 1, 2 or 4 bytes, absolute or as deltas, as
:func:`~dsa_pettingzoo.deploy.encoding.compact_indices` picks); ``native-dense``
runs the same C code on dense row-major matrices, the fair dense reference for
the compiled kernel. The values are float32, or the file's int8 integers with
their row scales when the actor comes from an int8 file (both modes).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from .encoding import SparseMatrix, compact_indices, uint_dtype

SOURCE = Path(__file__).with_name("native") / "actor_step.c"
#: The structs of the kernel, shared with the firmware (dsa_pettingzoo/deploy/mcu/).
HEADER = SOURCE.with_suffix(".h")
#: Compiler flags: portable (no -march=native), so a cached build runs on any host of the platform.
CFLAGS = ("-O3", "-std=c99", "-fno-trapping-math", "-shared", "-fPIC")
ABI_VERSION = 4
#: compute modes that run the compiled kernel (never chosen by compute="auto").
NATIVE_MODES = ("native", "native-dense")
_DENSE, _CSR = 0, 1
_FLOAT32, _INT8 = 0, 1
INDEX_MODES = {"absolute": 0, "delta": 1}
_LIB = None


class NativeUnavailableError(RuntimeError):
    """The compiled kernel cannot be built or loaded here (no C compiler, a failed build)."""


class _Matrix(ctypes.Structure):
    _fields_ = [
        ("rows", ctypes.c_int32),
        ("cols", ctypes.c_int32),
        ("kind", ctypes.c_int32),
        ("value_type", ctypes.c_int32),
        ("index_bytes", ctypes.c_int32),
        ("index_mode", ctypes.c_int32),
        ("indptr_bytes", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
        ("indptr", ctypes.c_void_p),
        ("indices", ctypes.c_void_p),
        ("values", ctypes.c_void_p),
        ("scales", ctypes.c_void_p),
        ("bias", ctypes.c_void_p),
    ]


class _Actor(ctypes.Structure):
    _fields_ = [
        ("obs_dim", ctypes.c_int32),
        ("num_actions", ctypes.c_int32),
        ("num_dense", ctypes.c_int32),
        ("lstm_layers", ctypes.c_int32),
        ("lstm_size", ctypes.c_int32),
        ("max_width", ctypes.c_int32),
        ("dense", ctypes.c_void_p),
        ("lstm", ctypes.c_void_p),
        ("head", ctypes.c_void_p),
    ]


def _unavailable(mode: str, why: str) -> NativeUnavailableError:
    return NativeUnavailableError(
        f"compute={mode!r} needs the compiled kernel {SOURCE.name}, which {why}. "
        f"Use compute='auto', 'sparse' or 'dense' (numpy only), or set CC to a C compiler."
    )


def cache_dir() -> Path:
    """Where built kernels are kept (per user)."""
    if os.environ.get("DSA_PETTINGZOO_CACHE"):
        return Path(os.environ["DSA_PETTINGZOO_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dsa_pettingzoo"


def find_compiler() -> Optional[list]:
    """The compiler command: ``$CC`` when set (``CC=`` with no value: none; ``CC="ccache gcc"``
    works), else the first of cc, gcc, clang on PATH; None when there is none."""
    if "CC" in os.environ:
        words = shlex.split(os.environ["CC"])
        found = shutil.which(words[0]) if words else None
        return [found, *words[1:]] if found else None
    for name in ("cc", "gcc", "clang"):
        found = shutil.which(name)
        if found:
            return [found]
    return None


def cflags() -> tuple:
    """The compiler flags: :data:`CFLAGS` and then ``$DSA_PETTINGZOO_CFLAGS``."""
    return (*CFLAGS, *shlex.split(os.environ.get("DSA_PETTINGZOO_CFLAGS", "")))


def build_command() -> Optional[str]:
    """The compile command that :func:`build` runs (None without a compiler), for reports."""
    cc = find_compiler()
    return None if cc is None else " ".join([*cc, *cflags(), SOURCE.name, "-lm"])


def build(mode: str = "native") -> Path:
    """Compile ``actor_step.c`` into the cache (if not built yet) and return the library path."""
    cc = find_compiler()
    if cc is None:
        raise _unavailable(mode, "cannot be built: no C compiler found ($CC, cc, gcc, clang)")
    source = SOURCE.read_bytes() + HEADER.read_bytes()
    flags = cflags()
    key = hashlib.sha256(
        b"\0".join([source, " ".join(cc).encode(), " ".join(flags).encode(), sys.platform.encode()])
    ).hexdigest()[:16]
    suffix = ".dll" if sys.platform == "win32" else ".so"
    target = cache_dir() / f"actor_step-{key}{suffix}"
    if target.exists():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=suffix, dir=target.parent)
        os.close(fd)
    except OSError as err:
        raise _unavailable(
            mode,
            f"cannot be built: the cache directory {target.parent} is not "
            f"writable ({err}); set DSA_PETTINGZOO_CACHE",
        ) from None
    name = " ".join(cc)
    try:
        proc = subprocess.run(
            [*cc, *flags, "-o", tmp, str(SOURCE), "-lm"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise _unavailable(mode, f"failed to build with {name}: {proc.stderr.strip()[:2000]}")
        os.replace(tmp, target)  # atomic: concurrent builds never see a half-written library
    except (OSError, subprocess.SubprocessError) as err:
        raise _unavailable(mode, f"failed to build with {name} ({err})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def load_library(mode: str = "native"):
    """The ctypes library (built on first use, then cached for the process)."""
    global _LIB
    if _LIB is None:
        path = build(mode)
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as err:
            raise _unavailable(mode, f"was built at {path} but cannot be loaded ({err})") from None
        lib.dsa_actor_abi_version.restype = ctypes.c_int32
        if lib.dsa_actor_abi_version() != ABI_VERSION:
            raise _unavailable(
                mode, f"at {path} has ABI {lib.dsa_actor_abi_version()}, expected {ABI_VERSION}"
            )
        lib.dsa_actor_sizeof_matrix.restype = ctypes.c_int32
        lib.dsa_actor_sizeof_actor.restype = ctypes.c_int32
        if (lib.dsa_actor_sizeof_matrix(), lib.dsa_actor_sizeof_actor()) != (
            ctypes.sizeof(_Matrix),
            ctypes.sizeof(_Actor),
        ):
            raise _unavailable(mode, "has struct sizes that differ from the ctypes mirror")
        lib.dsa_actor_step.restype = ctypes.c_int32
        lib.dsa_actor_step.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int32,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        for name in ("dsa_sigmoid", "dsa_tanh"):
            getattr(lib, name).restype = None
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int32]
        lib.dsa_matvec.restype = None
        lib.dsa_matvec.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        _LIB = lib
    return _LIB


def available() -> bool:
    """True when the compiled kernel can be built and loaded here."""
    try:
        load_library()
        return True
    except NativeUnavailableError:
        return False


def _to_dense(w) -> np.ndarray:
    return w.to_dense() if isinstance(w, SparseMatrix) else np.ascontiguousarray(w, np.float32)


class NativeMatrix:
    """One matrix as the C kernel reads it: CSR (``sparse=True``) or dense row-major.

    int8 when ``w`` is a SparseMatrix with integers (``q``) and scales, else float32.
    The arrays are those the firmware generator writes to flash (mcu/codegen.py).
    """

    def __init__(self, w, bias, sparse: bool):
        self.shape = rows, cols = tuple(w.shape)
        bias = np.ascontiguousarray(bias, np.float32)
        self.bias = bias if np.any(bias) else None  # a pruned bias of zeros: NULL, not stored
        self.kind = "sparse" if sparse else "dense"
        s = SparseMatrix.of(w) if (sparse or isinstance(w, SparseMatrix)) else None
        int8 = s is not None and s.q is not None
        self.dtype = "int8" if int8 else "float32"
        self.scales = np.ascontiguousarray(s.scales, np.float32) if int8 else None
        self.indptr = self.indices = None
        self.index_encoding = "absolute"
        if sparse:
            self.indptr = np.zeros(rows + 1, uint_dtype(max(s.rows.size, 65535)))
            np.cumsum(s.row_counts, out=self.indptr[1:])
            self.index_encoding, self.indices = compact_indices(s.cols, s.row_counts, cols)
            self.values = np.ascontiguousarray(s.q if int8 else s.values)
        elif int8:
            self.values = np.zeros(self.shape, np.int8)
            self.values[s.rows, s.cols] = s.q
        else:
            self.values = _to_dense(w)
        self.arrays = tuple(
            a
            for a in (self.indptr, self.indices, self.values, self.scales, self.bias)
            if a is not None
        )

        def ptr(a):
            return None if a is None else a.ctypes.data

        self.struct = _Matrix(
            rows,
            cols,
            _CSR if sparse else _DENSE,
            _INT8 if int8 else _FLOAT32,
            0 if self.indices is None else self.indices.itemsize,
            INDEX_MODES[self.index_encoding],
            0 if self.indptr is None else self.indptr.itemsize,
            0,
            ptr(self.indptr),
            ptr(self.indices),
            ptr(self.values),
            ptr(self.scales),
            ptr(self.bias),
        )

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.arrays))

    def matvec_function(self):
        """A no-argument callable computing y = W x + b in C into ``(x, y)`` buffers it returns.

        For timing the kernel alone: ``f, x, y = m.matvec_function(); x[:] = ...; f()``.
        """
        lib = load_library("native" if self.kind == "sparse" else "native-dense")
        x = np.zeros(self.shape[1], np.float32)
        y = np.zeros(self.shape[0], np.float32)
        args = (ctypes.addressof(self.struct), x.ctypes.data, y.ctypes.data)
        fn = lib.dsa_matvec
        keep = (self, x, y)  # every array the C call points to lives as long as the callable
        return (lambda keep=keep: fn(*args)), x, y


class NativeActor:
    """The whole actor for the C kernel: holds every array the C code points to."""

    def __init__(self, arch, dense, lstm, head, mode: str):
        if mode not in NATIVE_MODES:
            raise ValueError(f"native mode must be one of {NATIVE_MODES}, got {mode!r}")
        self.lib = load_library(mode)
        sparse = mode == "native"
        self.dense = [NativeMatrix(w, b, sparse) for w, b in dense]
        self.lstm = [NativeMatrix(w, b, sparse) for w, b in lstm]
        self.head = NativeMatrix(head[0], head[1], sparse)
        mats = [*self.dense, *self.lstm, self.head]
        self._dense_arr = (_Matrix * max(len(self.dense), 1))(*[m.struct for m in self.dense])
        self._lstm_arr = (_Matrix * len(self.lstm))(*[m.struct for m in self.lstm])
        self._head = self.head.struct
        width = max([arch.obs_dim, *[d for m in mats for d in m.shape]])
        self.struct = _Actor(
            arch.obs_dim,
            arch.num_actions,
            len(self.dense),
            arch.lstm_layers,
            arch.lstm_size,
            width,
            ctypes.addressof(self._dense_arr),
            ctypes.addressof(self._lstm_arr),
            ctypes.addressof(self._head),
        )
        self._ptr = ctypes.addressof(self.struct)
        self.width = width
        self.kinds = [m.kind for m in mats]
        self._matrix_bytes = sum(m.nbytes for m in mats)
        self._step = self.lib.dsa_actor_step

    def bind(self, h: np.ndarray, c: np.ndarray, obs_dim: int, num_actions: int) -> None:
        """Point the kernel at a (new) state [layers, B, H]; allocate the B-sized buffers."""
        assert h.flags.c_contiguous and c.flags.c_contiguous and h.dtype == c.dtype == np.float32
        self.batch = h.shape[1]
        self.work = np.zeros(2 * self.width * self.batch, np.float32)  # scratch of the C step
        self.obs = np.zeros((self.batch, obs_dim), np.float32)
        self.out = np.zeros((self.batch, num_actions), np.float32)
        self._args = (
            self._ptr,
            self.batch,
            self.obs.ctypes.data,
            h.ctypes.data,
            c.ctypes.data,
            self.out.ctypes.data,
            self.work.ctypes.data,
        )

    def step(self, x: np.ndarray) -> np.ndarray:
        """One slot for the observations x [B, obs_dim]; the logits [B, A] (a new array)."""
        self.obs[...] = x
        if self._step(*self._args) != 0:
            raise RuntimeError("the native kernel refused the actor description (a bug)")
        return self.out.copy()

    @property
    def nbytes(self) -> int:
        """Weights, indices and biases, scratch and I/O buffers (the state is counted by the policy)."""
        return int(self._matrix_bytes + self.work.nbytes + self.obs.nbytes + self.out.nbytes)
