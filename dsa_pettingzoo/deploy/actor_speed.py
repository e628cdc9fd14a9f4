"""Exported actors measured: file size, resident memory and step time at several sparsities.

Without exported actors it builds random actors of the paper's architecture (obs
10 = K+1+4 for K = 5, two dense ReLU layers of 128, an LSTM of 128, 6 actions;
weights drawn like torch's default init) and prunes each weight matrix to the
sparsity by magnitude, as ``pruning_callbacks`` does with layer ranking. For
each actor it measures:

* file bytes (float32 and float16 values) versus the dense float32 parameters;
* resident memory of the loaded policy: the bytes of every array it holds
  (``nbytes``) and what ``tracemalloc`` sees retained after loading, and the
  peak while loading (this loader decodes every tensor to dense float32 first);
* microseconds per step (batch 1, one slot, ``policy.act``) of the same file
  loaded with every compute mode: numpy ``auto``, ``sparse``, ``dense``, and
  the compiled C kernel ``native`` (CSR) and ``native-dense`` when a C
  compiler is available. The modes are timed in turn inside every repeat. The
  best (minimum) over repeats is reported, as ``timeit`` advises: on a machine
  shared with other jobs the slower repeats measure the other jobs; the medians
  are kept too;
* the step ratios sparse / dense (numpy), native / native-dense (C) and
  native / dense numpy, and, for an actor of at least 95% sparsity, whether
  the deployment target is met: a step no slower than the dense numpy policy
  by a mode that keeps only the non-zeros in memory (``sparse`` or ``native``).

The command: ``python -m dsa_pettingzoo deploy-benchmark``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from ..physics import encode_observation
from .format import Architecture, write_actor_file
from .native import NativeMatrix, NativeUnavailableError, load_library
from .policy import COMPUTE_MODES, NATIVE_MODES, DenseKernel, SparseKernel, fill_of, load_policy

#: The paper's actor for setup A/B (K = 5): IV-A, our reading in rllib_experiments/modules.py.
PAPER_ARCH = Architecture(obs_dim=10, num_actions=6, hidden_sizes=(128, 128), lstm_size=128)
#: The modes that keep only the non-zero weights in memory, and the sparsity of the target.
SPARSE_MEMORY_MODES = ("sparse", "native")
TARGET_SPARSITY = 0.95


def random_params(arch: Architecture, sparsity: float, rng: np.random.Generator) -> dict:
    """Canonical parameters with torch's default init, each weight matrix magnitude-pruned.

    Every matrix keeps all but round(sparsity * entries) of its largest-magnitude weights.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    params = {}
    for name, shape in arch.shapes().items():
        fan_in = (
            shape[1] if len(shape) == 2 else (arch.lstm_size if name.startswith("lstm") else None)
        )
        if fan_in is None:  # dense / head bias: fan_in of the matching weight
            fan_in = arch.shapes()[name.replace("bias", "weight")][1]
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, size=shape).astype(np.float32)
        if name.startswith("lstm") and name.endswith("bias"):
            w = w + rng.uniform(-bound, bound, size=shape).astype(np.float32)  # b_ih + b_hh
        params[name] = magnitude_prune(w, sparsity) if len(shape) == 2 else w
    return params


def magnitude_prune(w: np.ndarray, sparsity: float) -> np.ndarray:
    """A float32 copy of ``w`` with its round(sparsity * size) smallest-magnitude entries zeroed."""
    w = np.array(w, np.float32)
    k = int(np.floor(sparsity * w.size + 0.5))
    if k:
        order = np.argsort(np.abs(w), axis=None, kind="stable")[:k]
        w.reshape(-1)[order] = 0.0
    return w


def observation_sequence(arch: Architecture, steps: int, rng: np.random.Generator) -> np.ndarray:
    """float32 [steps, obs_dim]: one-hot (last action, last feedback) as the env encodes them."""
    K = arch.num_actions - 1
    with_rate = arch.obs_dim == K + 6
    a = rng.integers(0, K + 1, size=(steps, 1))
    o = rng.integers(-2, 2, size=(steps, 1))
    return encode_observation(a, o, rng.random((steps, 1)), K, with_rate)[:, 0]


def observations(
    arch: Architecture, steps: int, batch: int, rng: np.random.Generator
) -> np.ndarray:
    """[steps, obs_dim] for batch 1, else [steps, batch, obs_dim] (independent sequences)."""
    if batch == 1:
        return observation_sequence(arch, steps, rng)
    return np.stack([observation_sequence(arch, steps, rng) for _ in range(batch)], axis=1)


def time_steps(policy, obs: np.ndarray) -> float:
    """Microseconds per greedy step over the sequence (one episode from a zero state).

    ``obs`` [steps, obs_dim] (batch 1) or [steps, B, obs_dim]: one step advances all B copies.
    """
    policy.reset(1 if obs.ndim == 2 else obs.shape[1])
    act = policy.act
    t0 = time.perf_counter()
    for y in obs:
        act(y)
    return (time.perf_counter() - t0) / len(obs) * 1e6


def loaded_bytes(path, compute: str) -> tuple:
    """(policy.nbytes, bytes tracemalloc sees retained by the loaded policy, peak while loading)."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    policy = load_policy(path, compute=compute)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return policy.nbytes, current - before, peak - before


def benchmark_file(
    path,
    obs: np.ndarray,
    repeats: int,
    label: str,
    dense_bytes: int,
    file16: int | None = None,
    modes=COMPUTE_MODES,
) -> dict:
    """Every figure for one actor file, for the compute ``modes`` (must include ``dense``)."""
    policies = {mode: load_policy(path, compute=mode) for mode in modes}
    times = {mode: [] for mode in modes}
    for _ in range(repeats):
        for mode, policy in policies.items():
            times[mode].append(time_steps(policy, obs))
    row = {
        "actor": label,
        "batch": 1 if obs.ndim == 2 else int(obs.shape[1]),
        "sparsity": policies["dense"].header["sparsity"]["prunable"],
        "file_bytes": Path(path).stat().st_size,
        "file_bytes_float16": file16,
        "dense_float32_bytes": dense_bytes,
        "modes": list(modes),
    }
    row["file_ratio"] = row["file_bytes"] / dense_bytes
    if file16 is not None:
        row["file_ratio_float16"] = file16 / dense_bytes
    for mode in modes:
        nbytes, traced, peak = loaded_bytes(path, mode)
        row[f"nbytes_{mode}"] = nbytes
        row[f"tracemalloc_{mode}"] = traced
        row[f"load_peak_{mode}"] = peak
        row[f"us_per_step_{mode}"] = min(times[mode])
        row[f"us_per_step_{mode}_median"] = statistics.median(times[mode])
        row[f"kernels_{mode}"] = policies[mode].kernel_kinds
    dense_us = row["us_per_step_dense"]
    for mode, ref in (
        ("sparse", "dense"),
        ("auto", "dense"),
        ("native", "native-dense"),
        ("native", "dense"),
    ):
        if mode in modes and ref in modes:
            key = f"step_ratio_{mode}_to_{ref}".replace("-", "_")
            row[key] = row[f"us_per_step_{mode}"] / row[f"us_per_step_{ref}"]
    if row["sparsity"] >= TARGET_SPARSITY - 1e-3:
        # The deployment target: a step no slower than the dense numpy policy, by a mode that
        # holds only the non-zeros (fewer bytes than the dense numpy policy).
        met = [
            m
            for m in SPARSE_MEMORY_MODES
            if m in modes
            and row[f"us_per_step_{m}"] <= dense_us
            and row[f"nbytes_{m}"] < row["nbytes_dense"]
        ]
        row["target_met_by"] = met
        row["target_met"] = bool(met)
    return row


def target_lines(row: dict) -> list:
    """The verdict on the 95% target for one row (empty below the target's sparsity)."""
    if "target_met" not in row:
        return []
    dense_us = row["us_per_step_dense"]
    parts = []
    for m in SPARSE_MEMORY_MODES:
        if f"us_per_step_{m}" in row:
            us = row[f"us_per_step_{m}"]
            verdict = "met" if m in row["target_met_by"] else "not met"
            parts.append(
                f"{m} {verdict} ({us:.1f} us = {us / dense_us:.2f} x dense numpy, "
                f"{row[f'nbytes_{m}']} B vs {row['nbytes_dense']} B)"
            )
    head = "MET" if row["target_met"] else "NOT MET"
    return [
        f"  target    {head} at batch {row['batch']}: step <= dense numpy {dense_us:.1f} us "
        "with sparse memory: " + "; ".join(parts)
    ]


#: The kernels timed alone on one matrix by :func:`kernel_crossover`, in print order.
KERNEL_VARIANTS = ("sparse", "csr_reduceat", "csr_bincount", "dense", "native", "native_dense")


def kernel_variants(w: np.ndarray, x: np.ndarray, native: bool) -> dict:
    """name -> (no-argument callable computing W x, its result getter) for one matrix.

    ``sparse``: the ELL kernel of ``compute="sparse"``; ``csr_reduceat`` / ``csr_bincount``:
    numpy alternatives on the CSR arrays (gather x[indices], multiply, then a segmented sum
    with ``np.add.reduceat`` or ``np.bincount(row, weights)``); ``dense``: BLAS (the kernel of
    ``compute="dense"``); ``native`` / ``native_dense``: the C kernel's CSR and dense loops.
    """
    r, c = np.nonzero(w)
    v, counts = w[r, c], np.bincount(r, minlength=w.shape[0])
    nonempty = np.flatnonzero(counts)  # reduceat needs the start of non-empty rows only
    starts = (np.cumsum(counts) - counts)[nonempty]
    xs, out = x[0], np.zeros(w.shape[0], np.float32)

    def reduceat():
        out[nonempty] = np.add.reduceat(xs[c] * v, starts)
        return out

    ell, dense = SparseKernel(w), DenseKernel(w)
    variants = {
        "sparse": lambda: ell(x)[0],
        "csr_reduceat": reduceat,
        "csr_bincount": lambda: np.bincount(r, weights=v * xs[c], minlength=w.shape[0]),
        "dense": lambda: dense(x)[0],
    }
    if native:
        zero = np.zeros(w.shape[0], np.float32)
        for name, sparse in (("native", True), ("native_dense", False)):
            fn, xb, yb = NativeMatrix(w, zero, sparse).matvec_function()
            xb[:] = xs
            variants[name] = lambda fn=fn, yb=yb: (fn(), yb)[1]
    return variants


def kernel_crossover(
    sparsities, repeats: int, rng: np.random.Generator, native: bool = False
) -> list:
    """Every kernel variant alone on the paper's fused LSTM matrix [4H, in + H] = [512, 256].

    The variants are timed in turn inside every repeat (best of ``repeats`` timings of 200
    calls); their results are checked against float64 first.
    """
    rows = []
    x = rng.random((1, 256)).astype(np.float32)
    for s in sparsities:
        w = random_params(
            Architecture(obs_dim=128, num_actions=2, hidden_sizes=(), lstm_size=128), s, rng
        )
        fused = np.concatenate([w["lstm.0.weight_ih"], w["lstm.0.weight_hh"]], axis=1)
        kernels = kernel_variants(fused, x, native)
        exact = fused.astype(np.float64) @ x[0]
        for name, kernel in kernels.items():
            err = float(np.abs(np.asarray(kernel(), np.float64) - exact).max())
            if err > 1e-4:
                raise RuntimeError(f"kernel {name} is wrong by {err:.3g} at sparsity {s}")
        times = {k: [] for k in kernels}
        for _ in range(repeats):
            for name, kernel in kernels.items():
                t0 = time.perf_counter()
                for _ in range(200):
                    kernel()
                times[name].append((time.perf_counter() - t0) / 200 * 1e6)
        row = {"sparsity": s, "fill": fill_of(fused), "nnz": int(np.count_nonzero(fused))}
        for name, t in times.items():
            row[f"us_{name}"], row[f"us_{name}_median"] = min(t), statistics.median(t)
        rows.append(row)
    return rows


def format_kernels(kernels: list) -> str:
    """The kernel-alone table, one line per sparsity."""
    lines = ["\nfused LSTM matrix 512 x 256 alone (batch 1, best of the repeats, us per call):"]
    for k in kernels:
        lines.append(
            f"  {100 * k['sparsity']:g}% (fill {k['fill']:.3f}, {k['nnz']} non-zeros): "
            + ", ".join(
                f"{name} {k[f'us_{name}']:.1f}" for name in KERNEL_VARIANTS if f"us_{name}" in k
            )
        )
    return "\n".join(lines)


def format_rows(rows: list) -> str:
    """A human-readable table of benchmark rows."""
    lines = []
    for r in rows:
        modes = r["modes"]
        f16 = (
            f", float16 {r['file_bytes_float16']} B ({100 * r['file_ratio_float16']:.1f}%)"
            if r.get("file_bytes_float16")
            else ""
        )
        ratios = [
            f"{name} {r[key]:.2f}"
            for name, key in (
                ("sparse/dense", "step_ratio_sparse_to_dense"),
                ("native/native-dense", "step_ratio_native_to_native_dense"),
                ("native/dense", "step_ratio_native_to_dense"),
                ("auto/dense", "step_ratio_auto_to_dense"),
            )
            if key in r
        ]
        lines += [
            f"{r['actor']}: sparsity {100 * r['sparsity']:.1f}% of weights",
            f"  file      float32 {r['file_bytes']} B = {100 * r['file_ratio']:.1f}% of dense "
            f"float32 params {r['dense_float32_bytes']} B{f16}",
            "  memory    "
            + ", ".join(
                f"{m} {r[f'nbytes_{m}']} B arrays / {r[f'tracemalloc_{m}']} B traced" for m in modes
            ),
            "  load peak " + ", ".join(f"{m} {r[f'load_peak_{m}']} B" for m in modes),
            "  step      "
            + ", ".join(f"{m} {r[f'us_per_step_{m}']:.1f} us" for m in modes)
            + f" (auto kernels: {'/'.join(r['kernels_auto'])})",
            "  ratios    " + ", ".join(ratios),
            *target_lines(r),
        ]
    return "\n".join(lines)


def numpy_modes() -> tuple:
    """The compute modes that need no C compiler."""
    return tuple(m for m in COMPUTE_MODES if m not in NATIVE_MODES)


def available_modes() -> tuple:
    """(the compute modes this machine runs, why the native ones are missing or None)."""
    try:
        load_library()
    except NativeUnavailableError as err:
        return numpy_modes(), f"native modes skipped: {err}"
    return COMPUTE_MODES, None


def exported_rows(
    files, steps: int, batch: int, repeats: int, modes, rng: np.random.Generator, on_row=None
) -> list:
    """:func:`benchmark_file` for each exported actor file; ``on_row(row)`` after each."""
    rows = []
    for f in files:
        policy = load_policy(f)
        obs = observations(policy.arch, steps, batch, rng)
        rows.append(
            benchmark_file(
                f, obs, repeats, f.name, policy.header["dense_float32_bytes"], modes=modes
            )
        )
        if on_row is not None:
            on_row(rows[-1])
    return rows


def random_rows(
    sparsities, steps: int, batch: int, repeats: int, modes, rng: np.random.Generator, on_row=None
) -> list:
    """:func:`benchmark_file` for a random paper actor at each sparsity, written as float32
    (float16 for its size only); ``on_row(row)`` after each."""
    rows = []
    obs = observations(PAPER_ARCH, steps, batch, rng)
    with tempfile.TemporaryDirectory() as tmp:
        for s in sparsities:
            params = random_params(PAPER_ARCH, s, rng)
            f32, f16 = Path(tmp) / f"a{s}.dsaactor", Path(tmp) / f"a{s}_16.dsaactor"
            write_actor_file(f32, params, PAPER_ARCH)
            write_actor_file(f16, params, PAPER_ARCH, dtype="float16")
            rows.append(
                benchmark_file(
                    f32,
                    obs,
                    repeats,
                    f"paper actor @ {100 * s:g}%",
                    4 * PAPER_ARCH.num_params(),
                    f16.stat().st_size,
                    modes=modes,
                )
            )
            if on_row is not None:
                on_row(rows[-1])
    return rows
