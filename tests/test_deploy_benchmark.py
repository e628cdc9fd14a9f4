"""``python -m dsa_pettingzoo deploy-benchmark``: the CLI runs and reports what it measured
(values that are timings are not asserted)."""

from __future__ import annotations

import json

import pytest

from dsa_pettingzoo.cli import deploy_benchmark
from test_deploy import SMALL, export_dir  # the actor files of the deploy tests


def test_benchmark_cli_runs(capsys):
    assert (
        deploy_benchmark.main(
            [
                "--sparsities",
                "0",
                "0.95",
                "--steps",
                "20",
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
    rows = out["actors"]
    assert out["kernels"][0]["sparsity"] == 0.99 and out["kernels"][0]["us_dense"] > 0
    assert [round(r["sparsity"], 3) for r in rows] == [0.0, 0.95]
    assert rows[1]["file_ratio"] <= 0.10 and rows[1]["nbytes_sparse"] < rows[1]["nbytes_dense"]
    for r in rows:
        for mode in r["modes"]:
            # the figure is the best of the repeats: never above their median
            assert 0 < r[f"us_per_step_{mode}"] <= r[f"us_per_step_{mode}_median"]
        for key, value in r.items():  # every ratio is the quotient of the two printed times
            if key.startswith("step_ratio_"):
                mode, ref = key[len("step_ratio_") :].split("_to_")
                mode, ref = (m if m in r["modes"] else m.replace("_", "-") for m in (mode, ref))
                assert value == pytest.approx(r[f"us_per_step_{mode}"] / r[f"us_per_step_{ref}"])
    # The 95% row's verdict follows from its own figures: a mode meets the target when it is
    # no slower than dense numpy and smaller in memory (the timings themselves vary).
    assert "target_met" not in rows[0] and isinstance(rows[1]["target_met"], bool)
    r = rows[1]
    expected = [
        m
        for m in ("sparse", "native")
        if f"us_per_step_{m}" in r
        and r[f"us_per_step_{m}"] <= r["us_per_step_dense"]
        and r[f"nbytes_{m}"] < r["nbytes_dense"]
    ]
    assert r["target_met_by"] == expected and r["target_met"] == bool(expected)
    assert {"auto", "sparse", "dense"} <= set(rows[0]["modes"])
    if out["native_note"] is None:  # a C compiler is available: the native modes ran too
        assert rows[1]["nbytes_native"] < 0.1 * rows[1]["nbytes_dense"]
        assert "step_ratio_native_to_native_dense" in rows[1]


def test_benchmark_cli_no_native(capsys):
    assert (
        deploy_benchmark.main(
            [
                "--sparsities",
                "0.95",
                "--steps",
                "5",
                "--repeats",
                "1",
                "--batch",
                "3",
                "--kernel-sparsities",
                "--no-native",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "native modes skipped (--no-native)" in out and "target at 95% sparsity" in out
    assert "batch 3)" in out and "at batch 3:" in out
    assert "native-dense" not in out.split("\n(batch 1")[0]


def test_benchmark_cli_on_exported_actors(tmp_path, capsys):
    d = export_dir(tmp_path, SMALL, 2, sparsity=0.9)
    assert (
        deploy_benchmark.main(
            ["--actors", str(d), "--steps", "5", "--repeats", "1", "--kernel-sparsities", "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert [r["actor"] for r in out["actors"]] == ["user_0.dsaactor", "user_1.dsaactor"]
    assert out["kernels"] == []
    assert out["actors"][0]["file_bytes"] == (d / "user_0.dsaactor").stat().st_size
    with pytest.raises(SystemExit):
        deploy_benchmark.main(["--actors", str(tmp_path / "none")])
