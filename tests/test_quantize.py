"""int8 weights (dsa_pettingzoo/deploy/quantize.py), compact CSR indices, format versions 2 and 3.

No toolchain needed. The error bounds are the ones derived in quantize.py's docstring.
"""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

from dsa_pettingzoo.deploy import (
    ActorFileError,
    Architecture,
    load_policy,
    read_actor_tensors,
    write_actor_file,
)
from dsa_pettingzoo.deploy.actor_speed import observation_sequence, random_params
from dsa_pettingzoo.deploy.encoding import columns_of, compact_indices, deltas_of
from dsa_pettingzoo.deploy.quantize import (
    dequantize_rows,
    error_bound,
    quantize_rows,
    row_scales,
    shared_row_scales,
)

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


@pytest.mark.parametrize(
    "counts, cols",
    [([3, 0, 2, 1], [5, 7, 300, 0, 1, 999]), ([0, 0], []), ([1], [0]), ([4], [0, 1, 2, 3])],
)
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
    # Version 3 exactly when some matrix has empty rows whose zero scales are dropped.
    dropped = any(e.get("scales_encoding") == "bitmask" for e in header["tensors"])
    assert header["format_version"] == (3 if dropped else 2) and header["dtype"] == "int8"
    _, _, tensors = read_actor_tensors(path)
    for name, w in params.items():
        t = tensors[name]
        if w.ndim == 1:
            np.testing.assert_array_equal(t, w)  # biases stay float32
            continue
        assert t.q.dtype == np.int8
        dense = t.to_dense()
        assert np.all(np.abs(dense - w) <= t.scales[:, None] / 2 * (1 + 1e-6))
    np.testing.assert_array_equal(
        tensors["lstm.0.weight_ih"].scales, tensors["lstm.0.weight_hh"].scales
    )
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
    from dsa_pettingzoo.deploy.actor_speed import PAPER_ARCH

    params = random_params(PAPER_ARCH, 0.95, np.random.default_rng(3))
    h32 = write_actor_file(tmp_path / "f.dsaactor", params, PAPER_ARCH)
    write_actor_file(tmp_path / "q.dsaactor", params, PAPER_ARCH, dtype="int8")
    size32, size8 = (
        (tmp_path / "f.dsaactor").stat().st_size,
        (tmp_path / "q.dsaactor").stat().st_size,
    )
    assert h32["format_version"] == 1  # a float32 file keeps the old version
    # 7,475 non-zeros at 2 bytes (value, uint8 column) instead of 5; scales stored once per LSTM row.
    assert size8 < 0.6 * size32 and size8 < 0.045 * h32["dense_float32_bytes"]


def _rewrite(path, edit):
    """Apply ``edit`` to the JSON header of a file and re-frame it with a valid CRC."""
    data = path.read_bytes()
    magic, version, res, hlen, plen = struct.unpack_from("<8sHHIQ", data)
    header = json.loads(data[24 : 24 + hlen])
    version = edit(header) or version
    head = json.dumps(header).encode()
    start = 24 + hlen
    payload = data[start + (-start) % 8 : len(data) - 4]
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
        m.setattr(
            fmt,
            "int8_scales",
            lambda params, arch: {k: row_scales(v) for k, v in params.items() if np.ndim(v) == 2},
        )
        write_actor_file(
            unshared, random_params(SMALL, 0.9, np.random.default_rng(4)), SMALL, dtype="int8"
        )
    with pytest.raises(
        ActorFileError,
        match="lstm.0: weight_ih and weight_hh of an int8 file must share their row scales",
    ):
        load_policy(unshared)
    other = tmp_path / "b.dsaactor"
    write_actor_file(
        other, random_params(SMALL, 0.9, np.random.default_rng(4)), SMALL, dtype="int8"
    )
    _rewrite(other, lambda h: h.update(dtype="int4"))
    with pytest.raises(
        ActorFileError, match=r"unknown dtype 'int4' \(allowed: float32, float16, int8\)"
    ):
        load_policy(other)
    write_actor_file(
        other, random_params(SMALL, 0.9, np.random.default_rng(4)), SMALL, dtype="int8"
    )

    def drop_scales(h):
        del next(e for e in h["tensors"] if e["name"] == "head.weight")["parts"]["scales"]

    _rewrite(other, drop_scales)
    with pytest.raises(ActorFileError, match="tensor head.weight: missing part 'scales'"):
        load_policy(other)


def test_write_refuses_an_unknown_dtype(tmp_path):
    with pytest.raises(ValueError, match="dtype must be one of"):
        write_actor_file(
            tmp_path / "a.dsaactor",
            random_params(SMALL, 0.5, np.random.default_rng(0)),
            SMALL,
            dtype="int4",
        )


# ----------------------------------------------------------------------------- format version 3
def _entry(header, name):
    return next(e for e in header["tensors"] if e["name"] == name)


MEDIUM = Architecture(obs_dim=10, num_actions=6, hidden_sizes=(64, 64), lstm_size=64)


def _write_version_2_layout(path, params, arch, dtype):
    """Write with dense vectors and dense scales, as a version-2 writer did."""
    from dsa_pettingzoo.deploy import encoding

    with pytest.MonkeyPatch.context() as m:
        m.setattr(encoding, "_nbytes", lambda parts: 0 if "mask" not in parts else 1 << 60)
        return write_actor_file(path, params, arch, dtype=dtype)


def _pruned_everywhere(arch, sparsity, seed, zero_bias=("lstm.0.bias",)):
    params = random_params(arch, sparsity, np.random.default_rng(seed))
    for name in zero_bias:
        params[name] = np.zeros_like(params[name])
    return params


def test_zero_biases_and_zero_scales_are_dropped_by_hand(tmp_path):
    """A hand-built actor: sizes of the dropped parts, exact round trip, shared LSTM scales."""
    params = _pruned_everywhere(SMALL, 0.0, 0, zero_bias=())
    params["lstm.0.bias"] = np.zeros(32, np.float32)
    params["lstm.0.bias"][[3, 17]] = [0.5, -0.25]  # 2 of 32 non-zero: 4 bytes of mask + 8 of values
    params["lstm.0.weight_ih"][8:] = 0  # gate rows 8..31 empty in both LSTM matrices
    params["lstm.0.weight_hh"][8:] = 0
    path = tmp_path / "a.dsaactor"
    header = write_actor_file(path, params, SMALL, dtype="int8")
    assert header["format_version"] == 3
    bias = _entry(header, "lstm.0.bias")
    assert bias["encoding"] == "bitmask" and bias["nnz"] == 2
    assert {k: (v["count"], v["dtype"]) for k, v in bias["parts"].items()} == {
        "mask": (4, "|u1"),
        "values": (2, "<f4"),
    }
    ih, hh = _entry(header, "lstm.0.weight_ih"), _entry(header, "lstm.0.weight_hh")
    assert ih["scales_encoding"] == hh["scales_encoding"] == "bitmask"
    assert ih["parts"]["scales"]["count"] == 8  # only the 8 non-empty gate rows keep a scale
    assert ih["parts"]["scales_mask"]["count"] == 4
    for part in ("scales", "scales_mask"):  # stored once, pointed at by both matrices
        assert ih["parts"][part] == hh["parts"][part]
    # Dense biases (no zeros) and matrices without empty rows keep the version-2 layout.
    assert _entry(header, "dense.0.bias")["encoding"] == "dense"
    assert "scales_encoding" not in _entry(header, "dense.0.weight")
    _, _, tensors = read_actor_tensors(path)
    np.testing.assert_array_equal(tensors["lstm.0.bias"], params["lstm.0.bias"])
    scales = shared_row_scales(params["lstm.0.weight_ih"], params["lstm.0.weight_hh"])
    np.testing.assert_array_equal(tensors["lstm.0.weight_ih"].scales, scales)
    assert np.all(tensors["lstm.0.weight_ih"].scales[8:] == 0)
    np.testing.assert_array_equal(
        tensors["lstm.0.weight_ih"].to_dense(),
        dequantize_rows(quantize_rows(params["lstm.0.weight_ih"], scales), scales),
    )


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_version_3_round_trip_matches_the_version_2_layout(tmp_path, dtype):
    """Dropping zeros changes bytes, never weights: v3 decodes to what the v2 layout decodes to."""
    params = _pruned_everywhere(MEDIUM, 0.99, 5, zero_bias=("lstm.0.bias", "dense.1.bias"))
    v3 = write_actor_file(tmp_path / "v3.dsaactor", params, MEDIUM, dtype=dtype)
    assert v3["format_version"] == 3
    old = _write_version_2_layout(tmp_path / "v2.dsaactor", params, MEDIUM, dtype)
    assert old["format_version"] == (2 if dtype == "int8" else 1)
    _, _, a = read_actor_tensors(tmp_path / "v3.dsaactor")
    _, _, b = read_actor_tensors(tmp_path / "v2.dsaactor")
    for name in params:
        dense_a, dense_b = (
            t.to_dense() if hasattr(t, "to_dense") else t for t in (a[name], b[name])
        )
        np.testing.assert_array_equal(dense_a, dense_b, err_msg=name)
    assert (tmp_path / "v3.dsaactor").stat().st_size < (tmp_path / "v2.dsaactor").stat().st_size
    obs = observation_sequence(MEDIUM, 20, np.random.default_rng(6))
    p3, p2 = load_policy(tmp_path / "v3.dsaactor"), load_policy(tmp_path / "v2.dsaactor")
    np.testing.assert_array_equal(
        np.stack([p3.logits(y)[0] for y in obs]), np.stack([p2.logits(y)[0] for y in obs])
    )


def test_the_paper_actor_at_99_5_percent_with_pruned_biases_saves_what_is_derived(tmp_path):
    """The zeros version 3 drops from a paper-shape int8 actor, counted by hand.

    Biases of 128, 128 and 512 float32 zeros (512, 512 and 2,048 B) become bitmasks of
    16, 16 and 64 B; the head's 6 (24 B) stay dense, cheaper than a bitmask's two parts.
    A matrix whose scales go to a bitmask saves 4 B per empty row and pays 1 bit per row.
    Each new part also costs a table entry and padding (PART_COST), plus the fields that
    name the encodings and the LSTM's second entry pointing at the shared parts: at most
    100 B of header per new part.
    """
    from dsa_pettingzoo.deploy.actor_speed import PAPER_ARCH
    from dsa_pettingzoo.deploy.encoding import PART_COST

    biases = [n for n, shape in PAPER_ARCH.shapes().items() if len(shape) == 1]
    params = _pruned_everywhere(PAPER_ARCH, 0.995, 7, zero_bias=biases)
    new = write_actor_file(tmp_path / "v3.dsaactor", params, PAPER_ARCH, dtype="int8")
    _write_version_2_layout(tmp_path / "v2.dsaactor", params, PAPER_ARCH, "int8")
    assert [_entry(new, n)["encoding"] for n in biases] == [
        "bitmask",
        "bitmask",
        "bitmask",
        "dense",
    ]
    saved, new_parts = (512 - 16) + (512 - 16) + (2048 - 64), 3
    scales = {n: row_scales(params[n]) for n in ("dense.0.weight", "dense.1.weight", "head.weight")}
    scales["lstm.0.weight_ih"] = shared_row_scales(
        params["lstm.0.weight_ih"], params["lstm.0.weight_hh"]
    )
    for name, s in scales.items():  # the LSTM's two matrices share one set of parts
        if _entry(new, name).get("scales_encoding") == "bitmask":
            saved += 4 * int((s == 0).sum()) - (s.size + 7) // 8
            new_parts += 1
    assert _entry(new, "lstm.0.weight_ih").get("scales_encoding") == "bitmask"
    assert (scales["lstm.0.weight_ih"] == 0).sum() > 100  # at 99.5 % many gate rows are empty
    size3, size2 = ((tmp_path / f).stat().st_size for f in ("v3.dsaactor", "v2.dsaactor"))
    assert saved - new_parts * 100 <= size2 - size3 <= saved - new_parts * PART_COST // 2


@pytest.fixture
def v3_file(tmp_path):
    path = tmp_path / "user_0.dsaactor"
    params = _pruned_everywhere(MEDIUM, 0.99, 8)
    header = write_actor_file(path, params, MEDIUM, dtype="int8")
    assert header["format_version"] == 3
    return path


def _edit_entry(name, edit):
    def apply(h):
        edit(_entry(h, name))

    return apply


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda h: 2,
            "tensor dense.0.weight: bitmask row scales need format version 3, the file says 2",
        ),
        (
            _edit_entry("lstm.0.bias", lambda e: e.update(nnz=3)),
            "tensor lstm.0.bias: bitmask has 0 ones, the table says 3 non-zeros",
        ),
        (
            _edit_entry("lstm.0.weight_ih", lambda e: e.update(scales_encoding="log")),
            r"tensor lstm.0.weight_ih: unknown scales encoding 'log' \(allowed: dense, bitmask\)",
        ),
        (
            _edit_entry("lstm.0.weight_ih", lambda e: e.update(scales_encoding="dense")),
            "tensor lstm.0.weight_ih: part 'scales' has dtype float32 and \\d+ entries, expected kind 'f' and 256",
        ),
        (
            _edit_entry("lstm.0.weight_ih", lambda e: e["parts"].pop("scales_mask")),
            "tensor lstm.0.weight_ih: missing part 'scales_mask'",
        ),
    ],
)
def test_bad_version_3_entries_are_refused(v3_file, edit, message):
    _rewrite(v3_file, edit)
    with pytest.raises(ActorFileError, match=message):
        load_policy(v3_file)


def test_a_zero_scale_on_a_row_with_weights_is_refused(tmp_path):
    """Rewrite one stored scale to 0: the row's integers would silently vanish."""
    path = tmp_path / "a.dsaactor"
    write_actor_file(path, random_params(SMALL, 0.5, np.random.default_rng(9)), SMALL, dtype="int8")
    header, _, _ = read_actor_tensors(path)
    part = _entry(header, "head.weight")["parts"]["scales"]
    data = bytearray(path.read_bytes())
    hlen = struct.unpack_from("<I", data, 12)[0]
    start = 24 + hlen + (-(24 + hlen)) % 8
    data[start + part["offset"] : start + part["offset"] + 4] = struct.pack("<f", 0.0)
    body = bytes(data[:-4])
    path.write_bytes(body + struct.pack("<I", zlib.crc32(body)))
    with pytest.raises(
        ActorFileError, match="tensor head.weight: row 0 has scale 0 but non-zero int8 values"
    ):
        load_policy(path)


def test_a_bitmask_vector_in_an_older_frame_is_refused(tmp_path):
    path = tmp_path / "user_0.dsaactor"
    assert (
        write_actor_file(path, _pruned_everywhere(MEDIUM, 0.5, 10), MEDIUM)["format_version"] == 3
    )
    _rewrite(path, lambda h: 1)
    with pytest.raises(
        ActorFileError,
        match="tensor lstm.0.bias: a bitmask vector needs format version 3, the file says 1",
    ):
        load_policy(path)
