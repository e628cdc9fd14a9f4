"""Run an exported actor with numpy (or the optional C kernel): :class:`SparseRecurrentPolicy`.

>>> from dsa_pettingzoo.deploy import load_policy
>>> policy = load_policy("actors/user_0.dsaactor")      # checks the file (CRC, version, ...)
>>> policy.reset()                                       # zero hidden state: start of an episode
>>> a = policy.act(obs)                                  # greedy action in 0..K, one slot
>>> a = policy.act(obs, rng=np.random.default_rng(0), greedy=False)   # sampled from eq. (3)

Each call of :meth:`~SparseRecurrentPolicy.act` or
:meth:`~SparseRecurrentPolicy.action_probs` is one slot: it advances the
policy's own LSTM state. ``reset(batch_size=B)`` runs B independent copies
of the recurrent state (B episodes at once; observations [B, obs_dim]).

How a layer is computed (``compute``):

* ``"sparse"``: only the non-zero weights are kept in memory, row-padded
  (ELL layout, transposed): for every output row r the non-zero weights and
  their column indices, padded with zeros to the longest row; a step gathers
  ``x[cols]``, multiplies by the values and sums over the padded slots.
* ``"dense"``: the matrix is decompressed to a dense float32 array and run
  with one BLAS matrix-vector product.
* ``"auto"`` (default): per matrix, ``sparse`` when its padded fill (longest
  row / columns) is at most :data:`AUTO_MAX_FILL`, else ``dense``. The
  threshold comes from ``python -m dsa_pettingzoo deploy-benchmark``.

* ``"native"``: the whole slot runs in the compiled C kernel
  ``native/actor_step.c`` (:mod:`dsa_pettingzoo.deploy.native`), every
  matrix in CSR as stored in the file (one multiply-add per non-zero). Built
  on first use with the system C compiler; without one it raises
  :class:`~dsa_pettingzoo.deploy.native.NativeUnavailableError`.
* ``"native-dense"``: the same C kernel on dense matrices (the fair dense
  reference for ``native``).

``auto`` never uses the C kernel. All modes give the same numbers up to
float32 rounding. An int8 file runs in every mode: the numpy modes multiply
by its dequantized weights (scale x integer, float32), the C kernel by the
integers themselves, scaling each row's sum once. The LSTM's input and recurrent matrices are fused into one
[4H, in + H] matrix acting on [x, h].
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from ..config import DSAConfig, make_config
from ..physics import observation_dim
from .format import Architecture, SparseMatrix, read_actor_tensors
from .native import NATIVE_MODES, NativeActor  # the optional compiled kernel (built on first use)
from .system import actor_files

COMPUTE_MODES = ("auto", "sparse", "dense", *NATIVE_MODES)
#: ``compute="auto"`` runs a matrix sparse when (longest row's non-zeros) / columns <= this.
#: Measured on a 2-core x86-64 CPU (docs/deployment-benchmark.md): a gathered weight costs numpy about 20-40
#: times a BLAS multiply-add, so for the paper's 512 x 256 LSTM matrix the sparse kernel
#: only wins at about 99.5% sparsity (fill 0.02); at 95% (fill about 0.1) dense is 2-4x faster.
AUTO_MAX_FILL = 0.02


class DenseKernel:
    """y = x W^T with W stored dense (float32, transposed: [in, out])."""

    kind = "dense"

    def __init__(self, w):
        self.shape = tuple(w.shape)
        if isinstance(w, SparseMatrix):
            self.wt = np.zeros(self.shape[::-1], np.float32)
            self.wt[w.cols, w.rows] = w.values
        else:
            self.wt = np.ascontiguousarray(np.asarray(w, np.float32).T)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.wt

    @property
    def nbytes(self) -> int:
        return self.wt.nbytes


class SparseKernel:
    """y = x W^T with only W's non-zeros stored, row-padded (ELL), slot-major.

    ``cols`` and ``vals`` are [m, out]: slot j of column r holds the j-th
    non-zero of row r (padding: column 0 with value 0), m = the longest row.
    """

    kind = "sparse"

    def __init__(self, w):
        w = SparseMatrix.of(w)  # row-major non-zeros
        rows = w.shape[0]
        counts = w.row_counts
        m = max(int(counts.max(initial=0)), 1)
        slot = np.arange(w.rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
        self.cols = np.zeros((m, rows), np.intp)  # intp: np.take is ~25% slower with int32/uint8
        self.vals = np.zeros((m, rows), np.float32)
        self.cols[slot, w.rows] = w.cols
        self.vals[slot, w.rows] = w.values
        self.shape = tuple(w.shape)
        self.nnz = int(w.rows.size)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] == 1:
            g = np.take(x[0], self.cols, mode="clip")  # [m, out]
            g *= self.vals
            return np.add.reduce(g, axis=0)[None]
        g = np.take(x, self.cols, axis=1, mode="clip")  # [B, m, out]
        g *= self.vals
        return np.add.reduce(g, axis=1)

    @property
    def nbytes(self) -> int:
        return self.cols.nbytes + self.vals.nbytes


def fill_of(w) -> float:
    """Longest row's non-zero count / number of columns (the padded density of SparseKernel)."""
    counts = w.row_counts if isinstance(w, SparseMatrix) else np.count_nonzero(w, axis=1)
    return float(counts.max(initial=0)) / max(w.shape[1], 1)


def make_kernel(w, compute: str):
    """The kernel of one matrix for a compute mode (see the module docstring)."""
    if compute == "sparse" or (compute == "auto" and fill_of(w) <= AUTO_MAX_FILL):
        return SparseKernel(w)
    return DenseKernel(w)


def network_matrices(arch: Architecture, params: Dict[str, Any]) -> tuple:
    """(dense, lstm, head): (matrix, float32 bias) per dense layer, per LSTM layer, and the head.

    An LSTM layer's matrix is [W_ih, W_hh] fused, [4H, in + H], acting on [x, h].
    """
    dense = [
        (params[f"dense.{i}.weight"], np.array(params[f"dense.{i}.bias"], np.float32))
        for i in range(len(arch.hidden_sizes))
    ]
    lstm = []
    for k in range(arch.lstm_layers):
        w_ih, w_hh = params[f"lstm.{k}.weight_ih"], params[f"lstm.{k}.weight_hh"]
        if isinstance(w_ih, SparseMatrix) or isinstance(w_hh, SparseMatrix):
            fused = SparseMatrix.of(w_ih).hstack(SparseMatrix.of(w_hh))
        else:
            fused = np.concatenate([w_ih, w_hh], axis=1)
        lstm.append((fused, np.array(params[f"lstm.{k}.bias"], np.float32)))
    head = (params["head.weight"], np.array(params["head.bias"], np.float32))
    return dense, lstm, head


class SparseRecurrentPolicy:
    """One user's exported actor, run step by step with numpy (eq. 3).

    y_t -> [W x + b, ReLU] per dense layer -> LSTM (gates i, f, g, o) -> head
    logits -> softmax over the K + 1 actions. Build it with :func:`load_policy`
    (or from a header, architecture and tensors as read by
    :func:`~dsa_pettingzoo.deploy.format.read_actor_tensors`; matrices may be
    dense arrays or :class:`~dsa_pettingzoo.deploy.format.SparseMatrix`).
    """

    def __init__(
        self,
        header: Dict[str, Any],
        arch: Architecture,
        params: Dict[str, Any],
        *,
        path=None,
        compute: str = "auto",
    ):
        if compute not in COMPUTE_MODES:
            raise ValueError(
                f"compute must be one of {', '.join(map(repr, COMPUTE_MODES))}, got {compute!r}"
            )
        self.header, self.arch, self.compute = header, arch, compute
        self.path = str(path) if path is not None else "<in memory>"
        self.obs_dim, self.num_actions = arch.obs_dim, arch.num_actions
        dense, lstm, head = network_matrices(arch, params)
        self._native = None
        if compute in NATIVE_MODES:  # the compiled kernel runs the whole slot (native.py)
            self._native = NativeActor(arch, dense, lstm, head, compute)
            self.dense, self.lstm, self.head = [], [], None
        else:
            self.dense = [(make_kernel(w, compute), b) for w, b in dense]
            self.lstm = [(make_kernel(w, compute), b) for w, b in lstm]
            self.head = (make_kernel(head[0], compute), head[1])
        H = arch.lstm_size
        # sigmoid(z) = 0.5 tanh(z / 2) + 0.5 for gates i, f, o; tanh(z) for g: one tanh for all.
        half = np.full(H, 0.5, np.float32)
        one, zero = np.ones(H, np.float32), np.zeros(H, np.float32)
        self._pre = np.concatenate([half, half, one, half])
        self._shift = np.concatenate([half, half, zero, half])
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self, batch_size: int = 1) -> None:
        """Zero hidden state for ``batch_size`` independent episodes (start of an episode)."""
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        shape = (self.arch.lstm_layers, int(batch_size), self.arch.lstm_size)
        self.h = np.zeros(shape, np.float32)
        self.c = np.zeros(shape, np.float32)
        self.batch_size = int(batch_size)
        self._last_logits: Optional[np.ndarray] = None
        if self._native is not None:
            self._native.bind(self.h, self.c, self.obs_dim, self.num_actions)

    def _check_obs(self, observation) -> np.ndarray:
        x = np.asarray(observation, dtype=np.float32)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2 or x.shape[1] != self.obs_dim or x.shape[0] != self.batch_size:
            raise ValueError(
                f"{self.path}: observation must have shape ({self.obs_dim},) or "
                f"(batch_size={self.batch_size}, {self.obs_dim}), got "
                f"{np.shape(observation)}"
            )
        if not np.isfinite(x).all():
            raise ValueError(f"{self.path}: observation has non-finite values")
        return x

    # ------------------------------------------------------------------ one slot
    def logits(self, observation) -> np.ndarray:
        """Advance one slot; float32 logits [B, K+1] (eq. 3 before the softmax)."""
        x = self._check_obs(observation)
        if self._native is not None:
            return self._native.step(x)
        for kernel, b in self.dense:
            x = kernel(x)
            x += b
            np.maximum(x, 0.0, out=x)  # ReLU
        H = self.arch.lstm_size
        for k, (kernel, b) in enumerate(self.lstm):
            gates = kernel(np.concatenate((x, self.h[k]), axis=1))
            gates += b
            gates *= self._pre
            np.tanh(gates, out=gates)
            gates *= self._pre
            gates += self._shift  # i, f, o: sigmoid; g: tanh
            i, f, g, o = (
                gates[:, :H],
                gates[:, H : 2 * H],
                gates[:, 2 * H : 3 * H],
                gates[:, 3 * H :],
            )
            c = f * self.c[k]
            c += i * g
            x = o * np.tanh(c)
            self.c[k], self.h[k] = c, x
        kernel, b = self.head
        out = kernel(x)
        out += b
        return out

    @staticmethod
    def _probs(logits: np.ndarray) -> np.ndarray:
        z = logits.astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    @property
    def last_probs(self) -> Optional[np.ndarray]:
        """Softmax probabilities float64 [B, K+1] of the last slot (None before any)."""
        return None if self._last_logits is None else self._probs(self._last_logits)

    def action_probs(self, observation) -> np.ndarray:
        """Advance one slot; softmax probabilities float64 [K+1] (or [B, K+1] for a batch)."""
        self._last_logits = logits = self.logits(observation)
        p = self._probs(logits)
        return p[0] if np.ndim(observation) == 1 else p

    def act(self, observation, rng: Optional[np.random.Generator] = None, greedy: bool = True):
        """Advance one slot and return the action (int; int64 [B] for a batch).

        ``greedy``: argmax of the logits (first on ties); else a draw from the
        softmax with ``rng`` (a ``numpy.random.Generator``, required).
        ``last_probs`` holds this slot's probabilities afterwards.
        """
        if not greedy and not isinstance(rng, np.random.Generator):
            raise ValueError(
                f"{self.path}: sampling (greedy=False) needs "
                f"rng=numpy.random.Generator, got {rng!r}"
            )
        self._last_logits = logits = self.logits(observation)
        if greedy:
            a = logits.argmax(axis=1)
        else:
            p = self._probs(logits)
            u = rng.random((p.shape[0], 1))
            a = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), self.num_actions - 1)
        return int(a[0]) if np.ndim(observation) == 1 else a.astype(np.int64)

    # ------------------------------------------------------------------ introspection
    @property
    def nbytes(self) -> int:
        """Bytes of every array the policy holds (weights, indices, biases, state)."""
        total = self.h.nbytes + self.c.nbytes
        if self._native is not None:
            return int(total + self._native.nbytes)
        total += self._pre.nbytes + self._shift.nbytes
        for kernel, b in [*self.dense, *self.lstm, self.head]:
            total += kernel.nbytes + b.nbytes
        return int(total)

    @property
    def kernel_kinds(self) -> list:
        """'sparse' or 'dense' per matrix, in network order."""
        if self._native is not None:
            return list(self._native.kinds)
        return [k.kind for k, _ in [*self.dense, *self.lstm, self.head]]

    def check_env(
        self, num_channels: int, observation: str, num_users: Optional[int] = None
    ) -> None:
        """Raise ValueError naming the file unless the actor fits the env's K and observation.

        ``observation`` is the env's encoding name (``last_action_feedback`` or
        ``last_action_feedback_rate``); ``num_users`` is checked against the
        user index in the header when given.
        """
        with_rate = observation == "last_action_feedback_rate"
        want = observation_dim(num_channels, with_rate)
        if self.num_actions != num_channels + 1:
            raise ValueError(
                f"{self.path}: built for {self.num_actions} actions "
                f"(K = {self.num_actions - 1} channels) but the environment has "
                f"K = {num_channels} channels ({num_channels + 1} actions)"
            )
        if self.obs_dim != want:
            raise ValueError(
                f"{self.path}: built for observations of size {self.obs_dim} but the "
                f"environment's {observation!r} observation with K = {num_channels} "
                f"has size {want}"
            )
        enc = (self.header.get("observation") or {}).get("encoding")
        if enc is not None and enc != observation:
            raise ValueError(
                f"{self.path}: built for observation encoding {enc!r}, "
                f"the environment uses {observation!r}"
            )
        user = self.header.get("user_index")
        if num_users is not None and user is not None and not 0 <= user < num_users:
            raise ValueError(
                f"{self.path}: actor of user {user} but the environment has N = {num_users} users"
            )


def load_policy(path, compute: str = "auto", env=None) -> SparseRecurrentPolicy:
    """Read and check one exported-actor file (:class:`ActorFileError` on a bad file).

    ``env``: the environment it will act in, a ``DSAConfig`` or a dict of
    ``make_config`` keyword arguments (e.g. ``{"setup": "A"}``); when given, an
    actor built for another K or observation encoding is refused
    (:meth:`SparseRecurrentPolicy.check_env`).
    """
    header, arch, tensors = read_actor_tensors(path)
    policy = SparseRecurrentPolicy(header, arch, tensors, path=path, compute=compute)
    if env is not None:
        config = env if isinstance(env, DSAConfig) else make_config(**dict(env))
        policy.check_env(config.num_channels, config.observation, config.num_users)
    return policy


def load_actors(directory, compute: str = "auto") -> list:
    """Load every user's actor of a folder written by ``rllib_experiments.export``.

    The folder must be one system (:mod:`dsa_pettingzoo.deploy.system`): users 0..N-1
    of one export, nothing else.
    """
    return [load_policy(f, compute=compute) for f in actor_files(directory)]
