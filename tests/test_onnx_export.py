"""Tests of ``export --format onnx`` (rllib_experiments.dsa.actor_onnx): one-slot ONNX models that
onnxruntime runs to the torch actors' greedy actions and logits over 10,000 slots per user.

Needs torch and ray (marked ``rllib``); the tests that run a model also need the ``[onnx]`` extra
(onnx, onnxruntime) and skip without it. The checkpoint is ``test_export.fake_checkpoint``: three
tiny IAGCActors (N = 3, K = 2), half their weights pruned, laid out as an Algorithm checkpoint.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ray")

from test_export import fake_checkpoint, run_export, snapshot  # noqa: E402

pytestmark = pytest.mark.rllib


@pytest.fixture
def onnx_extra():
    """The ``[onnx]`` extra's packages; the test skips without them."""
    return pytest.importorskip("onnx"), pytest.importorskip("onnxruntime")


@pytest.fixture
def ckpt(tmp_path):
    return fake_checkpoint(tmp_path / "ckpt")


def test_onnx_export_agrees_with_torch_over_10000_steps(onnx_extra, ckpt, tmp_path, capsys):
    from rllib_experiments.cli import export
    from rllib_experiments.dsa.actor_onnx import (
        OPSET,
        TOLERANCE,
        check_onnx_agreement,
        read_onnx_metadata,
    )
    from rllib_experiments.run.checkpoints import find_actor_modules, load_module_state

    onnx, onnxruntime = onnx_extra
    out = tmp_path / "actors"
    assert export.main(["--checkpoint", str(ckpt), "--output", str(out), "--format", "onnx"]) == 0
    said = capsys.readouterr().out
    assert "onnxruntime vs torch over 10000 slots per user: 0 greedy actions differ" in said
    assert sorted(p.name for p in out.iterdir()) == ["user_0.onnx", "user_1.onnx", "user_2.onnx"]

    states = {m: load_module_state(d) for m, d in find_actor_modules(ckpt).items()}
    paths = {m: out / f"{m}.onnx" for m in states}
    env = {"num_users": 3, "num_channels": 2}
    report = check_onnx_agreement(paths, states, env, steps=10_000, seed=7)
    assert report["steps"] >= 10_000 and report["users"] == ["user_0", "user_1", "user_2"]
    assert report["greedy_mismatches"] == 0 and report["ok"]
    assert report["max_abs_logit_diff"] <= TOLERANCE, report
    print("largest |logit difference|:", report["max_abs_logit_diff"])

    # one slot, (obs, h, c) -> (logits, h', c'), at the stated opset, with dense weights
    model = onnx.load(str(paths["user_1"]))
    assert [i.name for i in model.graph.input] == ["obs", "h", "c"]
    assert [o.name for o in model.graph.output] == ["logits", "h_out", "c_out"]
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    props = {p.key: p.value for p in model.metadata_props}
    assert props["opset"] == str(OPSET)
    meta = read_onnx_metadata(paths["user_1"])
    assert meta["opset"] == OPSET and meta["user_index"] == 1
    assert meta["env"]["num_users"] == 3 and meta["system"]["num_users"] == 3
    stored = sum(np.prod(t.dims) for t in model.graph.initializer)
    weights = sum(np.size(v) for k, v in states["user_1"].items())
    assert stored >= weights  # the pruned zeros are stored too
    assert meta["sparsity"]["prunable"] == pytest.approx(0.5, abs=0.01)

    # the model runs at batch 1 from a zero state, as a device would
    session = onnxruntime.InferenceSession(str(paths["user_0"]), providers=["CPUExecutionProvider"])
    zero = np.zeros((1, 1, 4), np.float32)
    logits, h, c = session.run(None, {"obs": np.zeros((1, 7), np.float32), "h": zero, "c": zero})
    assert logits.shape == (1, 3) and h.shape == c.shape == (1, 1, 4)


def test_the_check_fails_on_another_actor(onnx_extra, ckpt, tmp_path):
    from rllib_experiments.dsa.actor_onnx import check_onnx_agreement
    from rllib_experiments.run.checkpoints import find_actor_modules, load_module_state
    from rllib_experiments.run.export import export_checkpoint

    export_checkpoint(ckpt, tmp_path / "o", format="onnx", check_steps=0, log=lambda *a: None)
    states = {m: load_module_state(d) for m, d in find_actor_modules(ckpt).items()}
    swapped = {"user_0": tmp_path / "o" / "user_1.onnx"}
    report = check_onnx_agreement(swapped, states, {"num_users": 3, "num_channels": 2}, steps=200)
    assert not report["ok"] and report["max_abs_logit_diff"] > 1e-3


def test_onnx_folder_is_moved_aside_by_overwrite(onnx_extra, ckpt, tmp_path):
    from rllib_experiments.run.export import export_checkpoint

    quiet = dict(format="onnx", check_steps=0, log=lambda *a: None)
    export_checkpoint(ckpt, tmp_path / "o", **quiet)
    export_checkpoint(ckpt, tmp_path / "o", overwrite=True, **quiet)
    assert len(list(tmp_path.glob("o.old-*"))) == 1
    assert sorted(p.name for p in (tmp_path / "o").iterdir())[0] == "user_0.onnx"


ONNX_FLAG_ERRORS = [
    (["--format", "onnx", "--dtype", "float16"], "--dtype", "float16 applies to the sparse files"),
    (["--format", "onnx", "--encoding", "csr"], "--encoding", "csr applies to the sparse files"),
    (["--format", "onnx", "--check-steps", "-1"], "--check-steps", "must be an integer >= 0"),
    (["--format", "onnx", "--check-steps", "x"], "--check-steps", "invalid int value: 'x'"),
    (["--check-steps", "100"], "--check-steps", "is for format onnx only"),
    (["--format", "tflite"], "--format", "invalid choice: 'tflite'"),
]


@pytest.mark.parametrize("argv, flag, message", ONNX_FLAG_ERRORS)
def test_onnx_flags_refuse_what_the_format_lacks(ckpt, tmp_path, capsys, argv, flag, message):
    before = snapshot(tmp_path)
    code, err = run_export(["--checkpoint", ckpt, "--output", tmp_path / "o", *argv], capsys)
    assert code == 2
    assert f"error: argument {flag}: " in err and message in err, err
    assert snapshot(tmp_path) == before


def test_onnx_check_without_environment_names_env(onnx_extra, tmp_path, capsys):
    ckpt = fake_checkpoint(tmp_path / "ckpt")
    (ckpt / "class_and_ctor_args.pkl").unlink()  # no recorded environment
    code, err = run_export(
        ["--checkpoint", ckpt, "--output", tmp_path / "o", "--format", "onnx"], capsys
    )
    assert code == 2 and "error: argument --env: the onnxruntime check plays" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime"])
def test_onnx_without_the_extra_names_format(ckpt, tmp_path, capsys, monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # import fails as if not installed
    import rllib_experiments.dsa

    monkeypatch.delitem(sys.modules, "rllib_experiments.dsa.actor_onnx", raising=False)
    monkeypatch.delattr(rllib_experiments.dsa, "actor_onnx", raising=False)
    code, err = run_export(
        ["--checkpoint", ckpt, "--output", tmp_path / "o", "--format", "onnx"], capsys
    )
    assert code == 2
    assert (
        f"error: argument --format: onnx needs the packages onnx and onnxruntime and {missing} is not installed"
        in err
    )
    assert "pip install 'dsa-pettingzoo[onnx]'" in err
    assert not (tmp_path / "o").exists()
