"""Firmware flash, RAM and QEMU equality per actor (``python -m dsa_pettingzoo mcu``).

For each sparsity (default 0, 0.95, 0.99) and dtype (float32, int8) it writes an
actor of the paper's architecture (random weights drawn like torch's init, or
the weights of ``--actor FILE``), each weight matrix magnitude-pruned to the
sparsity, builds the firmware, runs it under QEMU over the same recorded
observations as the numpy runtime and prints one row per build (``--json``:
``{"builds": [...], "targets": {...}}``). ``ram_bytes`` = .data + .bss + the
stack's measured high-water mark; ``flash_bytes`` = everything stored in flash.
QEMU is not cycle-accurate: no cycle count is given.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..actor_speed import magnitude_prune, random_params
from ..format import read_actor_file, write_actor_file
from ..native import available
from .build import GCC, QEMU, FirmwareError, build_firmware, host_reference, run_firmware

#: The targets of the 95%-sparse int8 actor.
TARGETS = {
    "actor_bytes": ("<= 4% of dense_float32_bytes", lambda b: 0.04 * b["dense_float32_bytes"]),
    "flash_bytes": ("<= 48 KiB", lambda b: 48 * 1024),
    "ram_bytes": ("<= 8 KiB", lambda b: 8 * 1024),
}


def measure(path, obs: np.ndarray, out_dir, reset_every: int) -> dict:
    """Build and run one actor file; the row of the report."""
    header, _, _ = read_actor_file(path)
    built = build_firmware(path, obs, out_dir, reset_every)
    ran = run_firmware(built["elf"])
    host = host_reference(path, obs, reset_every)
    layouts = set(built["layouts"])
    # The host kernel in the same layout sums in the same order: equal bits expected.
    same = (
        {"sparse": "native", "dense": "native-dense"}.get(layouts.pop().split("/")[0])
        if len(layouts) == 1
        else None
    )
    native = host_reference(path, obs, reset_every, compute=same) if same and available() else None
    return {
        "sparsity": header["sparsity"]["prunable"],
        "dtype": header["dtype"],
        "dense_float32_bytes": header["dense_float32_bytes"],
        "flash_bytes": built["flash_bytes"],
        "ram_bytes": built["static_ram_bytes"] + ran["stack_bytes"],
        "actor_bytes": built["actor_bytes"],
        "bias_bytes": built["bias_bytes"],
        "observation_bytes": built["observation_bytes"],
        "text_bytes": built["text_bytes"],
        "rodata_bytes": built["rodata_bytes"],
        "static_ram_bytes": built["static_ram_bytes"],
        "stack_bytes": ran["stack_bytes"],
        "layouts": built["layouts"],
        "steps": ran["steps"],
        "qemu_actions_equal": ran["actions"] == host["actions"],
        "distinct_actions": len(set(ran["actions"])),
        "logits_bit_identical_to": same
        if native and native["checksum"] == ran["checksum"]
        else None,
        "file_bytes": Path(path).stat().st_size,
    }


def targets(builds: list) -> dict:
    """Whether the 95%-sparse int8 build meets each target, and by how much."""
    row = next(
        (b for b in builds if b["dtype"] == "int8" and abs(b["sparsity"] - 0.95) < 0.005), None
    )
    if row is None:
        return {}
    out = {}
    for key, (text, limit) in TARGETS.items():
        bound = limit(row)
        out[key] = {
            "target": text,
            "value": row[key],
            "limit": round(bound, 1),
            "met": row[key] <= bound,
            "margin_bytes": round(bound - row[key], 1),
        }
    return out


def tool_version(tool: str) -> str:
    return subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.splitlines()[
        0
    ]


def firmware_builds(
    arch, base, obs: np.ndarray, sparsities, dtypes, reset_every: int, rng: np.random.Generator
) -> list:
    """:func:`measure` for each sparsity and dtype: random weights of ``arch`` (``base`` None)
    or ``base``'s weight matrices, magnitude-pruned to the sparsity.

    A build that fails raises :class:`FirmwareError` naming the build (``s0.95_int8: ...``).
    """
    builds = []
    with tempfile.TemporaryDirectory(prefix="dsa_mcu_") as tmp:
        for sparsity in sparsities:
            params = (
                random_params(arch, sparsity, rng)
                if base is None
                else {
                    k: magnitude_prune(v, sparsity) if v.ndim == 2 else v for k, v in base.items()
                }
            )
            for dtype in dtypes:
                name = f"s{sparsity:g}_{dtype}"
                path = Path(tmp) / f"{name}.dsaactor"
                write_actor_file(path, params, arch, dtype=dtype)
                try:
                    builds.append(measure(path, obs, Path(tmp) / name, reset_every))
                except FirmwareError as err:
                    raise FirmwareError(f"{name}: {err}") from err
    return builds


def firmware_report(builds: list, actor: str, observations: str, steps: int) -> dict:
    """The report of ``builds``: the targets' verdicts, what was measured, the toolchain."""
    return {
        "builds": builds,
        "targets": targets(builds),
        "actor": actor,
        "observations": observations,
        "steps": steps,
        "toolchain": [tool_version(GCC), tool_version(QEMU)],
        "cycles_per_step": None,
        "cycles_note": "QEMU is not cycle-accurate; no cycle-accurate source is available "
        "here, so no cycle count (and QEMU's wall time is not device time)",
    }
