"""Tests of dsa_pettingzoo.deploy: the exported-actor file, the numpy policy, bad files.

ExportedPolicy and ``dsa-evaluate --policy exported:DIR``: tests/test_exported_policy.py; the
benchmark CLI: tests/test_deploy_benchmark.py; folders of actors: tests/test_deploy_folder.py.

numpy only (no torch): the torch equivalence lives in tests/test_export.py.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from dsa_pettingzoo.deploy import (
    FORMAT_VERSION,
    ActorFileError,
    Architecture,
    load_policy,
    read_actor_file,
    write_actor_file,
)
from dsa_pettingzoo.deploy.actor_speed import (
    PAPER_ARCH,
    observation_sequence,
    observations,
    random_params,
)
from dsa_pettingzoo.deploy import native

REPO = Path(__file__).resolve().parents[1]
SMALL = Architecture(obs_dim=7, num_actions=3, hidden_sizes=(12, 10), lstm_size=8)  # K = 2


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def reference_step(params, arch, y, h, c):
    """The actor's equations in float64, written out independently of the kernels."""
    x = np.asarray(y, np.float64)
    for i in range(len(arch.hidden_sizes)):
        x = np.maximum(
            params[f"dense.{i}.weight"].astype(np.float64) @ x + params[f"dense.{i}.bias"], 0
        )
    H = arch.lstm_size
    for k in range(arch.lstm_layers):
        z = (
            params[f"lstm.{k}.weight_ih"].astype(np.float64) @ x
            + params[f"lstm.{k}.weight_hh"].astype(np.float64) @ h[k]
            + params[f"lstm.{k}.bias"]
        )
        i, f, g, o = (
            sigmoid(z[:H]),
            sigmoid(z[H : 2 * H]),
            np.tanh(z[2 * H : 3 * H]),
            sigmoid(z[3 * H :]),
        )
        c[k] = f * c[k] + i * g
        h[k] = x = o * np.tanh(c[k])
    logits = params["head.weight"].astype(np.float64) @ x + params["head.bias"]
    p = np.exp(logits - logits.max())
    return logits, p / p.sum()


def write(tmp_path, params, arch=SMALL, name="user_0.dsaactor", **kw):
    path = tmp_path / name
    write_actor_file(path, params, arch, **kw)
    return path


# ----------------------------------------------------------------------------- import isolation
def test_deploy_imports_neither_torch_nor_ray():
    code = (
        "import sys, dsa_pettingzoo.deploy, dsa_pettingzoo.baselines.exported, "
        "dsa_pettingzoo.deploy.actor_speed, dsa_pettingzoo.cli.evaluate\n"
        "bad = [m for m in ('torch', 'ray') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# ----------------------------------------------------------------------------- the file
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.95])
@pytest.mark.parametrize("encoding", ["auto", "dense", "bitmask", "csr"])
def test_round_trip_is_exact_float32(tmp_path, sparsity, encoding):
    params = random_params(SMALL, sparsity, np.random.default_rng(1))
    header = write_actor_file(tmp_path / "a.dsaactor", params, SMALL, encoding=encoding)
    _, arch, back = read_actor_file(tmp_path / "a.dsaactor")
    # A float file without delta indices keeps version 1 (older loaders read it).
    assert arch == SMALL and header["format_version"] == 1
    for name, w in params.items():
        np.testing.assert_array_equal(back[name], w, err_msg=name)
        assert back[name].dtype == np.float32


@pytest.mark.parametrize("encoding", ["auto", "dense", "bitmask", "csr"])
def test_all_zero_matrices_round_trip(tmp_path, encoding):
    params = {name: np.zeros(shape, np.float32) for name, shape in SMALL.shapes().items()}
    params["head.bias"] = np.float32([0.0, 2.0, 1.0])
    policy = load_policy(write(tmp_path, params, encoding=encoding))
    assert policy.header["sparsity"]["prunable"] == 1.0
    assert policy.act(np.zeros(SMALL.obs_dim)) == 1


def test_round_trip_float16_rounds_values_only(tmp_path):
    params = random_params(SMALL, 0.9, np.random.default_rng(2))
    _, _, back = read_actor_file(write(tmp_path, params, dtype="float16"))
    for name, w in params.items():
        np.testing.assert_array_equal(back[name], w.astype(np.float16).astype(np.float32))
        np.testing.assert_array_equal(back[name] != 0, w != 0)  # same sparsity pattern


def test_auto_encoding_picks_the_smallest_and_meets_the_size_target(tmp_path):
    """Sizes of the paper's actor (hand-derivable): dense at 0%, bitmask at 50%, CSR at 95%."""
    dense_bytes = 4 * PAPER_ARCH.num_params()
    rng = np.random.default_rng(3)
    sizes, encodings = {}, {}
    for s in (0.0, 0.5, 0.95):
        path = tmp_path / f"a{s}.dsaactor"
        header = write_actor_file(path, random_params(PAPER_ARCH, s, rng), PAPER_ARCH)
        sizes[s] = path.stat().st_size
        encodings[s] = {t["name"]: t["encoding"] for t in header["tensors"] if len(t["shape"]) == 2}
    assert set(encodings[0.0].values()) == {"dense"} and set(encodings[0.5].values()) == {"bitmask"}
    # 95%: CSR (1 B column index per non-zero, 1 B row pointers while nnz < 256) beats the
    # bitmask (1 bit per entry) when nnz + rows + 1 < entries / 8: not for dense.0 (128 x 10,
    # 64 non-zeros: 193 > 160 B), yes for the head (6 x 128, 38 non-zeros: 45 < 96 B).
    assert encodings[0.95] == {
        "dense.0.weight": "bitmask",
        "dense.1.weight": "csr",
        "lstm.0.weight_ih": "csr",
        "lstm.0.weight_hh": "csr",
        "head.weight": "csr",
    }
    # 0%: the dense values plus a header of a few kB.
    assert dense_bytes < sizes[0.0] < dense_bytes + 8000
    # 50%: one bit per weight + half the values (+ dense biases), about 53% of dense.
    assert 0.50 < sizes[0.5] / dense_bytes < 0.56
    # 95%: per non-zero 4 B value + 1 B column index (< 256 columns) + row pointers: <= 10%.
    assert sizes[0.95] / dense_bytes <= 0.10


def test_header_records_architecture_sparsity_and_dtype(tmp_path):
    params = random_params(SMALL, 0.8, np.random.default_rng(4))
    header, arch, _ = read_actor_file(
        write(
            tmp_path, params, dtype="float16", metadata={"agent": "user_0", "env": {"setup": "A"}}
        )
    )
    assert header["architecture"]["hidden_sizes"] == [12, 10] and header["dtype"] == "float16"
    weights = sum(w.size for w in params.values() if w.ndim == 2)
    assert header["sparsity"]["weights"] == weights
    assert header["sparsity"]["prunable"] == pytest.approx(0.8, abs=1 / weights * 3)
    assert header["agent"] == "user_0" and header["env"] == {"setup": "A"}


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(dtype="float64"), "dtype"),
        (dict(encoding="coo"), "encoding"),
    ],
)
def test_write_rejects_bad_options(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        write(tmp_path, random_params(SMALL, 0.0, np.random.default_rng(0)), **change)


def test_write_rejects_bad_tensors(tmp_path):
    params = random_params(SMALL, 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="head.weight.*shape"):
        write(tmp_path, {**params, "head.weight": np.zeros((2, 8), np.float32)})
    with pytest.raises(ValueError, match="missing"):
        write(tmp_path, {k: v for k, v in params.items() if k != "head.bias"})
    bad = params["dense.0.weight"].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="dense.0.weight.*non-finite"):
        write(tmp_path, {**params, "dense.0.weight": bad})
    bad[0, 0] = 1e6
    with pytest.raises(ValueError, match="float16"):
        write(tmp_path, {**params, "dense.0.weight": bad}, dtype="float16")
    assert not list(tmp_path.iterdir())  # nothing half-written


# ----------------------------------------------------------------------------- bad files
@pytest.fixture
def good_file(tmp_path):
    return write(tmp_path, random_params(SMALL, 0.9, np.random.default_rng(5)))


def _reframe(data: bytes, **fields) -> bytes:
    """Rewrite prefix fields and re-seal the CRC (so the later checks are reached)."""
    magic, version, res, hlen, plen = struct.unpack_from("<8sHHIQ", data)
    values = {**dict(magic=magic, version=version, res=res, hlen=hlen, plen=plen), **fields}
    body = struct.pack("<8sHHIQ", *values.values()) + data[24:-4]
    return body + struct.pack("<I", zlib.crc32(body))


def _rewrite_header(data: bytes, edit) -> bytes:
    _, _, _, hlen, plen = struct.unpack_from("<8sHHIQ", data)
    header = json.loads(data[24 : 24 + hlen])
    edit(header)
    head = json.dumps(header).encode()
    start = 24 + hlen
    payload = data[start + (-start) % 8 : -4]
    body = struct.pack("<8sHHIQ", b"DSAACTOR", 1, 0, len(head), plen) + head
    body += b"\0" * ((-len(body)) % 8) + payload
    return body + struct.pack("<I", zlib.crc32(body))


@pytest.mark.parametrize("cut", [0, 10, 27, 100, -200, -1])
def test_truncated_file_is_named_and_refused(good_file, cut):
    data = good_file.read_bytes()
    good_file.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    with pytest.raises(ActorFileError, match="truncated") as err:
        load_policy(good_file)
    assert str(good_file) in str(err.value)


@pytest.mark.parametrize("where", [30, 0.5, -5])
def test_corrupted_byte_fails_the_checksum(good_file, where):
    data = bytearray(good_file.read_bytes())
    i = int(where * len(data)) if isinstance(where, float) else where
    data[i] ^= 0x10
    good_file.write_bytes(bytes(data))
    with pytest.raises(ActorFileError, match="checksum") as err:
        load_policy(good_file)
    assert str(good_file) in str(err.value)


def test_other_format_version_bad_magic_and_trailing_bytes(good_file):
    data = good_file.read_bytes()
    good_file.write_bytes(_reframe(data, version=FORMAT_VERSION + 1))
    with pytest.raises(
        ActorFileError, match=f"format version {FORMAT_VERSION + 1} is not supported"
    ):
        load_policy(good_file)
    good_file.write_bytes(_reframe(data, magic=b"NOTACTOR"))
    with pytest.raises(ActorFileError, match="not an exported-actor file"):
        load_policy(good_file)
    good_file.write_bytes(data + b"\0\0")
    with pytest.raises(ActorFileError, match="trailing"):
        load_policy(good_file)
    with pytest.raises(ActorFileError, match="no such file"):
        load_policy(good_file.with_name("missing.dsaactor"))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda h: h["architecture"].update(lstm_size=9), "does not match"),
        (lambda h: h["tensors"][0].update(nnz=h["tensors"][0]["nnz"] + 1), "non-zero|entries"),
        (lambda h: h["tensors"][0]["parts"]["values"].update(offset=10**6), "outside the payload"),
        (lambda h: h["tensors"][0].update(encoding="rle"), "unknown encoding"),
        (lambda h: h.pop("architecture"), "bad header"),
    ],
)
def test_inconsistent_table_with_a_valid_checksum_is_refused(good_file, edit, message):
    good_file.write_bytes(_rewrite_header(good_file.read_bytes(), edit))
    with pytest.raises(ActorFileError, match=message):
        load_policy(good_file)


def test_csr_with_out_of_range_column_is_refused(tmp_path):
    params = random_params(SMALL, 0.9, np.random.default_rng(6))
    path = write(tmp_path, params, encoding="csr")
    data = path.read_bytes()
    _, _, _, hlen, _ = struct.unpack_from("<8sHHIQ", data)
    header = json.loads(data[24 : 24 + hlen])
    entry = next(t for t in header["tensors"] if t["encoding"] == "csr" and t["nnz"])
    start = 24 + hlen
    at = start + (-start) % 8 + entry["parts"]["indices"]["offset"]
    body = bytearray(data[:-4])
    body[at] = 250  # column 250 of a matrix with fewer columns
    path.write_bytes(bytes(body) + struct.pack("<I", zlib.crc32(bytes(body))))
    with pytest.raises(ActorFileError, match="column"):
        load_policy(path)


# ----------------------------------------------------------------------------- the policy
_NO_CC = pytest.mark.skipif(not native.available(), reason="no C compiler for compute='native'")
_ALL_MODES = [
    "sparse",
    "dense",
    "auto",
    pytest.param("native", marks=_NO_CC),
    pytest.param("native-dense", marks=_NO_CC),
]


@pytest.mark.parametrize("compute", _ALL_MODES)
def test_hand_derived_constant_network(tmp_path, compute):
    """All weights zero: gates are constants, c_t = f c_{t-1} + i g is a geometric series."""
    params = {name: np.zeros(shape, np.float32) for name, shape in SMALL.shapes().items()}
    H = SMALL.lstm_size
    bi, bf, bg, bo = 0.3, -0.2, 0.5, 1.0
    params["lstm.0.bias"] = np.repeat(np.float32([bi, bf, bg, bo]), H)
    params["head.weight"][1] = 1.0  # logit 1 = sum of the H hidden units; others 0
    policy = load_policy(write(tmp_path, params), compute=compute)
    i, f, g, o = sigmoid(bi), sigmoid(bf), np.tanh(bg), sigmoid(bo)
    c = 0.0
    for t in range(5):
        c = f * c + i * g
        logit1 = H * o * np.tanh(c)
        p = policy.action_probs(np.zeros(SMALL.obs_dim))
        expected = np.exp([0.0, logit1, 0.0]) / np.exp([0.0, logit1, 0.0]).sum()
        np.testing.assert_allclose(p, expected, rtol=1e-6)
    policy.reset()  # back to c = 0
    np.testing.assert_allclose(
        policy.action_probs(np.zeros(SMALL.obs_dim))[1],
        np.exp(H * o * np.tanh(i * g)) / (2 + np.exp(H * o * np.tanh(i * g))),
        rtol=1e-6,
    )


@pytest.mark.parametrize("sparsity", [0.0, 0.95])
@pytest.mark.parametrize("compute", _ALL_MODES)
def test_policy_matches_float64_reference(tmp_path, sparsity, compute):
    arch = Architecture(
        obs_dim=10, num_actions=6, hidden_sizes=(32, 32), lstm_size=32, lstm_layers=2
    )
    rng = np.random.default_rng(7)
    params = random_params(arch, sparsity, rng)
    policy = load_policy(write(tmp_path, params, arch=arch), compute=compute)
    obs = observation_sequence(arch, 300, rng)
    h, c = np.zeros((2, 32)), np.zeros((2, 32))
    for t, y in enumerate(obs):
        if t % 100 == 0:
            policy.reset()
            h[:], c[:] = 0, 0
        logits, p = reference_step(params, arch, y, h, c)
        assert policy.act(y) == int(np.argmax(logits))
        np.testing.assert_allclose(policy.last_probs[0], p, atol=1e-6)


def test_batch_runs_independent_copies(tmp_path):
    params = random_params(SMALL, 0.7, np.random.default_rng(8))
    path = write(tmp_path, params)
    rng = np.random.default_rng(9)
    obs = observations(SMALL, 20, 4, rng)  # [T, B, d]
    for compute in ("sparse", "dense"):
        batched = load_policy(path, compute=compute)
        batched.reset(batch_size=4)
        probs = np.stack([batched.action_probs(o) for o in obs])
        for b in range(4):
            single = load_policy(path, compute=compute)
            np.testing.assert_allclose(
                np.stack([single.action_probs(o) for o in obs[:, b]]), probs[:, b], atol=1e-6
            )


def test_sampling_follows_the_softmax_and_is_seeded(tmp_path):
    params = {name: np.zeros(shape, np.float32) for name, shape in SMALL.shapes().items()}
    params["head.bias"] = np.log(np.float32([0.2, 0.5, 0.3]))
    policy = load_policy(write(tmp_path, params))
    n = 20000
    policy.reset(batch_size=n)
    a = policy.act(np.zeros((n, SMALL.obs_dim)), rng=np.random.default_rng(0), greedy=False)
    freq = np.bincount(a, minlength=3) / n
    # binomial standard error <= sqrt(0.25 / n) = 0.0035: 5 s.e. = 0.018
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.018)
    policy.reset(batch_size=n)
    again = policy.act(np.zeros((n, SMALL.obs_dim)), rng=np.random.default_rng(0), greedy=False)
    np.testing.assert_array_equal(a, again)
    assert policy.act(np.zeros((n, SMALL.obs_dim))).tolist() == [1] * n  # greedy: argmax
    with pytest.raises(ValueError, match="rng"):
        policy.act(np.zeros((n, SMALL.obs_dim)), greedy=False)


def test_bad_observations_are_refused(good_file):
    policy = load_policy(good_file)
    with pytest.raises(ValueError, match=r"observation must have shape \(7,\)") as err:
        policy.act(np.zeros(6))
    assert str(good_file) in str(err.value)
    with pytest.raises(ValueError, match="batch_size=1"):
        policy.act(np.zeros((2, 7)))
    with pytest.raises(ValueError, match="non-finite"):
        policy.act(np.full(7, np.nan))
    with pytest.raises(ValueError, match="batch_size"):
        policy.reset(0)
    with pytest.raises(ValueError, match="compute"):
        load_policy(good_file, compute="gpu")


def test_check_env_names_file_and_mismatch(good_file):
    policy = load_policy(good_file)
    policy.check_env(2, "last_action_feedback")  # K = 2: fits
    with pytest.raises(ValueError, match=r"3 actions .* K = 5") as err:
        policy.check_env(5, "last_action_feedback")
    assert str(good_file) in str(err.value)
    with pytest.raises(ValueError, match="size 7 .* has size 8"):
        policy.check_env(2, "last_action_feedback_rate")
    load_policy(good_file, env={"num_users": 3, "num_channels": 2})
    with pytest.raises(ValueError, match=r"K = 5 channels") as err:
        load_policy(good_file, env={"setup": "A"})
    assert str(good_file) in str(err.value)


# ----------------------------------------------------------------------------- evaluation
def export_dir(tmp_path, arch, n_users, sparsity=0.9, seed=0, env=None):
    rng = np.random.default_rng(seed)
    d = tmp_path / "actors"
    d.mkdir()
    for n in range(n_users):
        write_actor_file(
            d / f"user_{n}.dsaactor",
            random_params(arch, sparsity, rng),
            arch,
            metadata={"agent": f"user_{n}", "user_index": n, "env": env},
        )
    return d
