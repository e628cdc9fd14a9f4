"""int8 weights (dsa_pettingzoo/deploy/quantize.py), compact CSR indices and format version 2.

No toolchain needed. The error bounds are the ones derived in quantize.py's docstring.
"""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

from dsa_pettingzoo.deploy import ActorFileError, Architecture, load_policy, read_actor_tensors, write_actor_file
from dsa_pettingzoo.deploy.benchmark import observation_sequence, random_params
from dsa_pettingzoo.deploy.encoding import columns_of, compact_indices, deltas_of
from dsa_pettingzoo.deploy.quantize import (dequantize_rows, error_bound, quantize_rows, row_scales,
                                            shared_row_scales)

SMALL = Architecture(obs_dim=10, num_actions=6, hidden_sizes=(16, 16), lstm_size=8)


def test_row_scales_and_quantization_by_hand():
    w = np.array([[0.5, -1.27, 0.0], [0.0, 0.0, 0.0], [0.004, 0.006, -0.01]], np.float32)
    s = row_scales(w)
    np.testing.assert_allclose(s, [0.01, 0.0, 0.01 / 127], rtol=1e-6)
    q = quantize_rows(w, s)
    # 0.5 / 0.01 = 50, -1.27 / 0.01 = -127; a zero row stays zero; 0.004 / (0.01/127) = 50.8.
    np.testing.assert_array_equal(q, [[50, -127, 0], [0, 0, 0], [51, 76, -127]])
    assert q.dtype == np.int8 and q.min() >= -127  # the symmetric range
    np.testing.assert_allclose(dequantize_rows(q, s)[0], [0.5, -1.27, 0.0], rtol=1e-6)


def test_quantization_error_is_at_most_half_a_step_and_the_matvec_bound_holds():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 200)).astype(np.float32) * (rng.random((64, 200)) < 0.1)
    s = row_scales(w)
    q = quantize_rows(w, s)
    err = np.abs(w - dequantize_rows(q, s))
    assert np.all(err <= s[:, None] / 2 * (1 + 1e-6))
    assert np.all(q[w == 0] == 0)  # pruned weights stay pruned
    for _ in range(20):
        x = rng.normal(size=200).astype(np.float32)
        gap = np.abs(w.astype(np.float64) @ x - dequantize_rows(q, s).astype(np.float64) @ x)
        assert np.all(gap <= error_bound(w, s, x) * (1 + 1e-6))


def test_shared_scales_cover_both_lstm_matrices():
    ih = np.array([[1.0, 0.0], [0.1, 0.2]], np.float32)
    hh = np.array([[0.5], [2.54]], np.float32)
    np.testing.assert_allclose(shared_row_scales(ih, hh), [1 / 127, 0.02], rtol=1e-6)


@pytest.mark.parametrize("counts, cols", [([3, 0, 2, 1], [5, 7, 300, 0, 1, 999]),
                                          ([0, 0], []), ([1], [0]), ([4], [0, 1, 2, 3])])
def test_delta_indices_round_trip(counts, cols):
    counts, cols = np.array(counts), np.array(cols, np.int64)
    d = deltas_of(cols, counts)
    np.testing.assert_array_equal(columns_of(d, counts), cols)
    if cols.size:
        assert d.min() >= 0


def test_compact_indices_choose_the_smaller_encoding():
    counts = np.array([3, 2])
    # 1000 columns: absolute needs uint16; gaps of at most 250: uint8 deltas.
    enc, idx = compact_indices(np.array([100, 350, 600, 0, 250]), counts, 1000)
    assert enc == "delta" and idx.dtype == np.uint8 and idx.tolist() == [100, 249, 249, 0, 249]
    # A gap of 300 needs uint16 deltas: no smaller than absolute, which wins the tie.
    enc, idx = compact_indices(np.array([0, 301, 5, 6, 7]), counts, 1000)
    assert enc == "absolute" and idx.dtype == np.uint16
    enc, idx = compact_indices(np.array([0, 200, 5, 6, 7]), counts, 256)
    assert enc == "absolute" and idx.dtype == np.uint8


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.95])
def test_int8_file_round_trip_and_every_compute_mode(tmp_path, sparsity):
    params = random_params(SMALL, sparsity, np.random.default_rng(1))
    path = tmp_path / "a.dsaactor"
    header = write_actor_file(path, params, SMALL, dtype="int8")
    assert header["format_version"] == 2 and header["dtype"] == "int8"
    _, _, tensors = read_actor_tensors(path)
    for name, w in params.items():
        t = tensors[name]
        if w.ndim == 1:
            np.testing.assert_array_equal(t, w)  # biases stay float32
            continue
        assert t.q.dtype == np.int8
        dense = t.to_dense()
        assert np.all(np.abs(dense - w) <= t.scales[:, None] / 2 * (1 + 1e-6))
    np.testing.assert_array_equal(tensors["lstm.0.weight_ih"].scales, tensors["lstm.0.weight_hh"].scales)
    obs = observation_sequence(SMALL, 50, np.random.default_rng(2))
    modes = ["auto", "sparse", "dense"]
    from dsa_pettingzoo.deploy import native

    if native.available():
        modes += ["native", "native-dense"]
    logits = {}
    for mode in modes:
        policy = load_policy(path, compute=mode)
        logits[mode] = np.stack([policy.logits(y)[0] for y in obs])
    for mode in modes:
        np.testing.assert_allclose(logits[mode], logits["dense"], rtol=0, atol=1e-5, err_msg=mode)


def test_int8_file_is_a_quarter_of_float32_at_95_percent(tmp_path):
    from dsa_pettingzoo.deploy.benchmark import PAPER_ARCH

    params = random_params(PAPER_ARCH, 0.95, np.random.default_rng(3))
    h32 = write_actor_file(tmp_path / "f.dsaactor", params, PAPER_ARCH)
    write_actor_file(tmp_path / "q.dsaactor", params, PAPER_ARCH, dtype="int8")
    size32, size8 = (tmp_path / "f.dsaactor").stat().st_size, (tmp_path / "q.dsaactor").stat().st_size
    assert h32["format_version"] == 1  # a float32 file keeps the old version
    # 7,475 non-zeros at 2 bytes (value, uint8 column) instead of 5; scales stored once per LSTM row.
    assert size8 < 0.6 * size32 and size8 < 0.045 * h32["dense_float32_bytes"]


def _rewrite(path, edit):
    """Apply ``edit`` to the JSON header of a file and re-frame it with a valid CRC."""
    data = path.read_bytes()
    magic, version, res, hlen, plen = struct.unpack_from("<8sHHIQ", data)
    header = json.loads(data[24:24 + hlen])
    version = edit(header) or version
    head = json.dumps(header).encode()
    start = 24 + hlen
    payload = data[start + (-start) % 8: len(data) - 4]
    body = struct.pack("<8sHHIQ", magic, version, res, len(head), plen) + head
    body += b"\0" * ((-len(body)) % 8) + payload
    path.write_bytes(body + struct.pack("<I", zlib.crc32(body)))


@pytest.fixture
def int8_file(tmp_path):
    path = tmp_path / "user_0.dsaactor"
    write_actor_file(path, random_params(SMALL, 0.9, np.random.default_rng(4)), SMALL, dtype="int8")
    return path


def test_int8_content_in_a_version_1_frame_is_refused(int8_file):
    _rewrite(int8_file, lambda h: 1)
    with pytest.raises(ActorFileError, match="int8 values and delta indices need format version 2"):
        load_policy(int8_file)


def test_bad_int8_entries_are_refused(int8_file, tmp_path, monkeypatch):
    from dsa_pettingzoo.deploy import format as fmt

    unshared = tmp_path / "unshared.dsaactor"
    with monkeypatch.context() as m:  # a writer that scales the LSTM's two matrices apart
        m.setattr(fmt, "int8_scales", lambda params, arch: {
            k: row_scales(v) for k, v in params.items() if np.ndim(v) == 2})
        write_actor_file(unshared, random_params(SMALL, 0.9, np.random.default_rng(4)), SMALL,
                         dtype="int8")
    with pytest.raises(ActorFileError, match="lstm.0: weight_ih and weight_hh of an int8 file "
                                             "must share their row scales"):
        load_policy(unshared)
    other = tmp_path / "b.dsaactor"
    write_actor_file(other, random_params(SMALL, 0.9, np.random.default_rng(4)), SMALL, dtype="int8")
    _rewrite(other, lambda h: h.update(dtype="int4"))
    with pytest.raises(ActorFileError, match=r"unknown dtype 'int4' \(allowed: float32, float16, int8\)"):
        load_policy(other)
    write_actor_file(other, random_params(SMALL, 0.9, np.random.default_rng(4)), SMALL, dtype="int8")

    def drop_scales(h):
        del next(e for e in h["tensors"] if e["name"] == "head.weight")["parts"]["scales"]

    _rewrite(other, drop_scales)
    with pytest.raises(ActorFileError, match="tensor head.weight: missing part 'scales'"):
        load_policy(other)


def test_write_refuses_an_unknown_dtype(tmp_path):
    with pytest.raises(ValueError, match="dtype must be one of"):
        write_actor_file(tmp_path / "a.dsaactor", random_params(SMALL, 0.5, np.random.default_rng(0)),
                         SMALL, dtype="int4")
