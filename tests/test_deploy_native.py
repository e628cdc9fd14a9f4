"""Tests of dsa_pettingzoo.deploy.native: the compiled C kernel (compute="native" / "native-dense").

The kernel must give the numpy policy's logits within float32 rounding and the same
greedy actions. Tests that run it skip when no C compiler is available here; the
error paths (no compiler, failed build, bad mode) always run. No timings here: the
speed comparison is ``python -m dsa_pettingzoo deploy-benchmark``.
"""

from __future__ import annotations

import numpy as np
import pytest

from dsa_pettingzoo.deploy import (
    COMPUTE_MODES,
    Architecture,
    NativeUnavailableError,
    load_policy,
    write_actor_file,
)
from dsa_pettingzoo.deploy import native
from dsa_pettingzoo.deploy.actor_speed import (
    PAPER_ARCH,
    observation_sequence,
    observations,
    random_params,
)

needs_native = pytest.mark.skipif(
    not native.available(),
    reason="no C compiler could build dsa_pettingzoo/deploy/native/actor_step.c "
    "(compute='native' / 'native-dense' unavailable here)",
)

#: float32 rounding: the kernels sum the same products in different orders; logits are O(1).
ATOL = 1e-5


def write(tmp_path, params, arch, name="user_0.dsaactor", **kw):
    path = tmp_path / name
    write_actor_file(path, params, arch, **kw)
    return path


def run(policy, obs, episode=100):
    """Greedy actions and logits over a sequence, resetting the state every ``episode`` slots."""
    actions, logits = [], []
    for t, y in enumerate(obs):
        if t % episode == 0:
            policy.reset()
        actions.append(policy.act(y))
        logits.append(policy._last_logits[0])
    return np.array(actions), np.array(logits)


@needs_native
def test_native_matches_numpy_over_10000_steps_of_a_95_percent_sparse_actor(tmp_path):
    rng = np.random.default_rng(20)
    # Weights x 6: a 95%-pruned actor at torch's init scale always plays one action (the head's
    # bias wins); scaled, this one plays five of the six, with a top-two logit gap >= 3e-5 at
    # every step (far above the kernels' ~1e-7 differences), so equal greedy actions are a test.
    params = {
        k: v * 6 if v.ndim == 2 else v for k, v in random_params(PAPER_ARCH, 0.95, rng).items()
    }
    path = write(tmp_path, params, PAPER_ARCH)
    obs = observation_sequence(PAPER_ARCH, 10_000, rng)
    results = {
        m: run(load_policy(path, compute=m), obs)
        for m in ("sparse", "dense", "native", "native-dense")
    }
    ref_actions, ref_logits = results["dense"]
    assert len(set(ref_actions.tolist())) >= 4  # the actor does not play one constant action
    for mode in ("native", "native-dense", "sparse"):
        actions, logits = results[mode]
        np.testing.assert_array_equal(actions, ref_actions, err_msg=mode)
        np.testing.assert_allclose(logits, ref_logits, rtol=0, atol=ATOL, err_msg=mode)
    np.testing.assert_allclose(results["native"][1], results["sparse"][1], rtol=0, atol=ATOL)


@needs_native
def test_native_holds_only_the_nonzeros():
    rng = np.random.default_rng(21)
    params = random_params(PAPER_ARCH, 0.95, rng)
    from dsa_pettingzoo.deploy.policy import SparseRecurrentPolicy

    header = {"sparsity": {}}
    sparse = SparseRecurrentPolicy(header, PAPER_ARCH, params, compute="native")
    dense = SparseRecurrentPolicy(header, PAPER_ARCH, params, compute="native-dense")
    assert sparse.kernel_kinds == ["sparse"] * 4 and dense.kernel_kinds == ["dense"] * 4
    nnz = sum(int(np.count_nonzero(w)) for w in params.values() if w.ndim == 2)
    mats = sparse._native.lstm + sparse._native.dense + [sparse._native.head]
    assert sum(m.values.size for m in mats) == nnz
    # 256 columns at most: 1-byte column indices; fewer than 65536 non-zeros per matrix:
    # 2-byte row pointers.
    assert all(m.indices.dtype == np.uint8 and m.indptr.dtype == np.uint16 for m in mats)
    rows = sum(m.shape[0] + 1 for m in mats)
    biases = sum(w.size for w in params.values() if w.ndim == 1)
    expected = 5 * nnz + 2 * rows + 4 * biases
    assert expected <= sparse._native._matrix_bytes < expected + 64
    assert sparse.nbytes < 0.1 * dense.nbytes


@needs_native
@pytest.mark.parametrize(
    "arch",
    [
        Architecture(obs_dim=10, num_actions=6, hidden_sizes=(32, 32), lstm_size=32, lstm_layers=2),
        Architecture(obs_dim=7, num_actions=3, hidden_sizes=(), lstm_size=8),  # no dense layer
        Architecture(
            obs_dim=8, num_actions=3, hidden_sizes=(300,), lstm_size=16
        ),  # 316 columns: uint16
    ],
)
@pytest.mark.parametrize("sparsity", [0.0, 0.9])
def test_native_other_architectures_and_batches(tmp_path, arch, sparsity):
    rng = np.random.default_rng(22)
    path = write(tmp_path, random_params(arch, sparsity, rng), arch, dtype="float16")
    # B = 11: the C kernel runs a batch in blocks of 8 copies, then the 3 left one by one.
    obs = observations(arch, 30, 11, rng)  # [T, B, d]
    out = {}
    for mode in ("dense", "native", "native-dense"):
        policy = load_policy(path, compute=mode)
        policy.reset(batch_size=11)
        out[mode] = np.stack([policy.logits(o) for o in obs])
        for copy in (1, 9):  # one in the first block of 8, one of the last 3
            policy.reset(batch_size=1)
            single = np.stack([policy.logits(o[copy])[0] for o in obs])
            np.testing.assert_allclose(single, out[mode][:, copy], rtol=0, atol=ATOL)
    for mode in ("native", "native-dense"):
        np.testing.assert_allclose(out[mode], out["dense"], rtol=0, atol=ATOL, err_msg=mode)
    if arch.hidden_sizes == (300,):
        kernel = load_policy(path, compute="native")._native
        lstm = kernel.lstm[0]  # [4H, 300 + H]: columns beyond uint8, the gaps between them not
        assert lstm.index_encoding == "delta" and lstm.indices.dtype == np.uint8


@needs_native
@pytest.mark.parametrize(
    "shape, density, index_encoding, dtype",
    [
        ((512, 256), 0.1, "absolute", np.uint8),
        ((20, 300), 0.1, "delta", np.uint8),
        ((20, 3000), 0.002, "absolute", np.uint16),  # gaps beyond uint8: deltas no smaller
        ((2, 70000), 0.01, "delta", np.uint16),
        ((3, 1), 0.1, "absolute", np.uint8),
    ],
)
def test_matvec_alone_csr_and_dense(shape, density, index_encoding, dtype):
    rng = np.random.default_rng(24)
    w = rng.normal(size=shape).astype(np.float32) * (rng.random(shape) < density)
    w[0] = 0.0  # an empty row: its output is the bias alone
    b = rng.normal(size=shape[0]).astype(np.float32)
    x = rng.normal(size=shape[1]).astype(np.float32)
    for sparse in (True, False):
        m = native.NativeMatrix(w, b, sparse)
        if sparse:
            assert m.indices.dtype == dtype and m.values.size == np.count_nonzero(w)
            assert m.index_encoding == index_encoding
        call, xb, yb = m.matvec_function()
        xb[:] = x
        call()
        np.testing.assert_allclose(yb, w.astype(np.float64) @ x + b, rtol=0, atol=ATOL)
        assert yb[0] == b[0]


@needs_native
def test_activations_match_float64():
    """The kernel's branch-free sigmoid and tanh: within 2.5e-7 (about 2 float32 ulps at 1)."""
    lib = native.load_library()
    z = np.linspace(-20, 20, 400_001).astype(np.float32)
    z = np.concatenate([z, np.float32([0.0, -0.0, 1e-30, -1e-7, 88.0, -88.0, 1e30, -1e30])])
    exact_sig = 0.5 + 0.5 * np.tanh(z.astype(np.float64) / 2)  # 1 / (1 + e^-z), no overflow
    exact_tanh = np.tanh(z.astype(np.float64))
    sig, th = z.copy(), z.copy()
    lib.dsa_sigmoid(sig.ctypes.data, sig.size)
    lib.dsa_tanh(th.ctypes.data, th.size)
    assert np.abs(sig - exact_sig).max() < 2.5e-7
    assert np.abs(th - exact_tanh).max() < 2.5e-7
    small = np.abs(z) < 1e-2  # tanh keeps its relative accuracy near 0 (expm1, not exp - 1)
    nonzero = small & (z != 0)
    assert np.max(np.abs(th[nonzero] - exact_tanh[nonzero]) / np.abs(exact_tanh[nonzero])) < 1e-6
    assert th[-8] == 0.0 and np.signbit(th[-7])  # tanh(+-0) = +-0
    assert np.all((sig >= 0) & (sig <= 1)) and np.all(np.abs(th) <= 1)


@needs_native
def test_native_all_zero_actor_and_sampling(tmp_path):
    arch = Architecture(obs_dim=7, num_actions=3, hidden_sizes=(12,), lstm_size=8)
    params = {name: np.zeros(shape, np.float32) for name, shape in arch.shapes().items()}
    params["head.bias"] = np.log(np.float32([0.2, 0.5, 0.3]))
    policy = load_policy(write(tmp_path, params, arch), compute="native")
    assert policy.act(np.zeros(7)) == 1
    np.testing.assert_allclose(policy.last_probs[0], [0.2, 0.5, 0.3], rtol=1e-6)
    n = 4000
    policy.reset(batch_size=n)
    a = policy.act(np.zeros((n, 7)), rng=np.random.default_rng(0), greedy=False)
    # binomial standard error <= sqrt(0.25 / n) = 0.008: 5 s.e. = 0.04
    np.testing.assert_allclose(np.bincount(a, minlength=3) / n, [0.2, 0.5, 0.3], atol=0.04)


# ----------------------------------------------------------------------------- errors
@pytest.fixture
def small_file(tmp_path):
    arch = Architecture(obs_dim=7, num_actions=3, hidden_sizes=(12,), lstm_size=8)
    return write(tmp_path, random_params(arch, 0.5, np.random.default_rng(23)), arch)


def test_bad_compute_mode_names_the_allowed_ones(small_file):
    with pytest.raises(
        ValueError,
        match="compute must be one of 'auto', 'sparse', 'dense', "
        "'native', 'native-dense', got 'gpu'",
    ):
        load_policy(small_file, compute="gpu")
    assert COMPUTE_MODES == ("auto", "sparse", "dense", "native", "native-dense")


@pytest.mark.parametrize(
    "cc, message",
    [
        ("", "no C compiler found"),
        ("no-such-compiler-xyz", "no C compiler found"),
        ("false", "failed to build"),
    ],
)
def test_no_compiler_is_a_clear_error_and_auto_never_needs_it(
    small_file, tmp_path, monkeypatch, cc, message
):
    monkeypatch.setattr(native, "_LIB", None)  # forget a library loaded by an earlier test
    monkeypatch.setenv("CC", cc)
    monkeypatch.setenv("DSA_PETTINGZOO_CACHE", str(tmp_path / "cache"))
    for mode in ("native", "native-dense"):
        with pytest.raises(NativeUnavailableError, match=message) as err:
            load_policy(small_file, compute=mode)
        text = str(err.value)
        assert f"compute={mode!r}" in text and "actor_step.c" in text
        assert "'auto', 'sparse' or 'dense'" in text
    assert not native.available()
    for mode in ("auto", "sparse", "dense"):  # the numpy modes never touch the compiler
        load_policy(small_file, compute=mode).act(np.zeros(7))
    assert native._LIB is None
    assert not list((tmp_path / "cache").glob("*.so"))  # nothing half-built left behind


def test_unwritable_cache_is_a_clear_error(small_file, tmp_path, monkeypatch):
    monkeypatch.setattr(native, "_LIB", None)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("DSA_PETTINGZOO_CACHE", str(blocker / "cache"))
    monkeypatch.setenv("CC", "true")  # a "compiler" is found; the cache is the problem
    with pytest.raises(NativeUnavailableError, match="cache directory .* DSA_PETTINGZOO_CACHE"):
        load_policy(small_file, compute="native")


@needs_native
def test_build_is_cached_per_source_and_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("DSA_PETTINGZOO_CACHE", str(tmp_path))
    first = native.build()
    assert first.parent == tmp_path and first.exists()
    mtime = first.stat().st_mtime_ns
    assert native.build() == first and first.stat().st_mtime_ns == mtime  # not rebuilt
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary files left
    monkeypatch.setenv("DSA_PETTINGZOO_CFLAGS", "-DDSA_UNUSED=1")  # other flags: another build
    assert native.cflags()[-1] == "-DDSA_UNUSED=1" and "-DDSA_UNUSED=1" in native.build_command()
    second = native.build()
    assert second != first and second.exists()


@needs_native
def test_exported_policy_runs_on_the_native_kernel(tmp_path):
    """dsa-evaluate's batched path: same greedy play with compute='native' as with numpy."""
    from dsa_pettingzoo.evaluation import evaluate_policy
    from dsa_pettingzoo.baselines.exported import ExportedPolicy

    arch = Architecture(obs_dim=7, num_actions=3, hidden_sizes=(16,), lstm_size=8)
    rng = np.random.default_rng(25)
    d = tmp_path / "actors"
    d.mkdir()
    for n in range(3):
        params = {k: v * 4 if v.ndim == 2 else v for k, v in random_params(arch, 0.9, rng).items()}
        write(d, params, arch, name=f"user_{n}.dsaactor")
    env = dict(num_users=3, num_channels=2, horizon=25)
    numpy_run = evaluate_policy(ExportedPolicy(d, compute="dense"), 12, seed=0, **env)
    native_run = evaluate_policy(ExportedPolicy(d, compute="native"), 12, seed=0, **env)
    np.testing.assert_array_equal(native_run.successes, numpy_run.successes)
    np.testing.assert_array_equal(native_run.reward, numpy_run.reward)


def test_benchmark_without_a_compiler_skips_the_native_modes(tmp_path, monkeypatch, capsys):
    import json

    from dsa_pettingzoo.cli import deploy_benchmark

    monkeypatch.setattr(native, "_LIB", None)
    monkeypatch.setenv("CC", "")
    monkeypatch.setenv("DSA_PETTINGZOO_CACHE", str(tmp_path))
    assert (
        deploy_benchmark.main(
            [
                "--sparsities",
                "0.95",
                "--steps",
                "3",
                "--repeats",
                "1",
                "--kernel-sparsities",
                "0.99",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert "no C compiler found" in out["native_note"] and out["native_build"] is None
    row = out["actors"][0]
    assert row["modes"] == ["auto", "sparse", "dense"] and row["target_met_by"] in ([], ["sparse"])
    assert "us_native" not in out["kernels"][0] and "us_dense" in out["kernels"][0]


@needs_native
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_pruned_biases_are_not_stored_and_change_nothing(tmp_path, dtype):
    """A bias of zeros becomes a NULL pointer: 4 bytes per entry less, the same logits as the
    numpy kernel (which stores the zeros), bit for bit against a stored bias of zeros."""
    from dsa_pettingzoo.deploy.policy import SparseRecurrentPolicy

    params = random_params(PAPER_ARCH, 0.95, np.random.default_rng(31))
    params["lstm.0.bias"] = np.zeros(512, np.float32)
    params["dense.1.bias"] = np.zeros(128, np.float32)
    path = write(tmp_path, params, PAPER_ARCH, dtype=dtype)
    native_policy = load_policy(path, compute="native")
    numpy_policy = load_policy(path, compute="sparse")
    obs = observation_sequence(PAPER_ARCH, 300, np.random.default_rng(32))
    a_native, l_native = run(native_policy, obs)
    a_numpy, l_numpy = run(numpy_policy, obs)
    np.testing.assert_allclose(l_native, l_numpy, rtol=0, atol=ATOL)
    assert (a_native == a_numpy).all()
    kept = dict(params, **{"lstm.0.bias": np.full(512, 1e-30, np.float32)})  # tiny, so stored
    header = {"sparsity": {}}
    zero = SparseRecurrentPolicy(header, PAPER_ARCH, params, compute="native")
    stored = SparseRecurrentPolicy(header, PAPER_ARCH, kept, compute="native")
    assert stored._native._matrix_bytes - zero._native._matrix_bytes == 4 * 512
    assert zero._native.lstm[0].bias is None and zero._native.dense[1].bias is None
