"""The firmware (dsa_pettingzoo/deploy/mcu/) under qemu-system-arm acts as the numpy runtime does.

Skipped when arm-none-eabi-gcc or qemu-system-arm is missing (.ci/run installs them when it
can). One build and run takes a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from dsa_pettingzoo.deploy import native, write_actor_file
from dsa_pettingzoo.deploy.actor_speed import PAPER_ARCH, observation_sequence, random_params
from dsa_pettingzoo.deploy.mcu import build_firmware, host_reference, missing_tools, run_firmware
from dsa_pettingzoo.cli.mcu import main as report_main

MISSING = missing_tools()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"MCU toolchain unavailable: {MISSING}")
STEPS = 1000


def actor(tmp_path, dtype, sparsity=0.95):
    # Weights x 6: at torch's init scale a 95%-pruned actor always plays the head bias's
    # action; scaled it plays several, so equal actions over the run are a real check.
    rng = np.random.default_rng(30)
    params = {
        k: v * 6 if v.ndim == 2 else v for k, v in random_params(PAPER_ARCH, sparsity, rng).items()
    }
    path = tmp_path / f"{dtype}.dsaactor"
    write_actor_file(path, params, PAPER_ARCH, dtype=dtype)
    return path, observation_sequence(PAPER_ARCH, STEPS, rng)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_firmware_actions_equal_the_numpy_runtime_over_1000_steps(tmp_path, dtype):
    path, obs = actor(tmp_path, dtype)
    built = build_firmware(path, obs, tmp_path / "fw")
    ran = run_firmware(built["elf"])
    assert ran["steps"] == STEPS and len(ran["actions"]) == STEPS
    numpy_run = host_reference(path, obs, compute="auto")
    assert len(set(numpy_run["actions"])) >= 3  # not one constant action
    assert ran["actions"] == numpy_run["actions"]
    assert built["layouts"] == [f"sparse/{dtype}"] * 4
    if native.available():  # the same C source on the host: the same logits, bit for bit
        assert ran["checksum"] == host_reference(path, obs, compute="native")["checksum"]
    if dtype == "int8":  # the targets for the 95%-sparse int8 actor
        assert built["actor_bytes"] <= 0.04 * 4 * PAPER_ARCH.num_params()
        assert built["flash_bytes"] <= 48 * 1024
        assert 0 < ran["stack_bytes"] < 1024
        assert built["static_ram_bytes"] + ran["stack_bytes"] <= 8 * 1024


def test_report_command_rows(capsys):
    assert (
        report_main(["--json", "--sparsities", "0.99", "--dtypes", "int8", "--steps", "200"]) == 0
    )
    import json

    report = json.loads(capsys.readouterr().out)
    (row,) = report["builds"]
    assert row["dtype"] == "int8" and abs(row["sparsity"] - 0.99) < 1e-3
    assert row["qemu_actions_equal"] is True
    assert row["logits_bit_identical_to"] == ("native" if native.available() else None)
    assert row["dense_float32_bytes"] == 4 * PAPER_ARCH.num_params()
    assert row["ram_bytes"] == row["static_ram_bytes"] + row["stack_bytes"]
    assert report["cycles_per_step"] is None
