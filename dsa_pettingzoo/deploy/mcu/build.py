"""Build the firmware for one actor with arm-none-eabi-gcc, measure it, run it under QEMU.

The firmware links the host's kernel source (``native/actor_step.c``, one
source of truth) with ``startup.c``, ``main.c``, ``link.ld`` and the generated
``actor.h`` (:mod:`~dsa_pettingzoo.deploy.mcu.codegen`). Sizes come from
``arm-none-eabi-size``; the stack's high-water mark from the firmware itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from ...files import write_text_atomic
from ..format import read_actor_tensors
from ..native import SOURCE
from ..policy import load_policy
from .codegen import actor_header

HERE = Path(__file__).parent
GCC, SIZE, QEMU = "arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"
#: The board QEMU emulates: an Arm MPS2 with the AN386 image, a Cortex-M4 with FPU.
MACHINE = "mps2-an386"
TARGET_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard")
#: -std=c99 also turns off the contraction of a * b + c into a fused multiply-add, which the
#: host (x86-64) does not do either: the firmware's logits are the host kernel's, bit for bit.
CFLAGS = (
    "-O2",
    "-std=c99",
    "-fno-trapping-math",
    "-ffunction-sections",
    "-fdata-sections",
    "-DDSA_SINGLE_COPY",
    "-Wall",
    "-Wextra",
)
LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")
#: Wall-clock limit of one QEMU run (a 1,000-step dense float32 actor takes a few seconds).
QEMU_TIMEOUT = 120


class FirmwareError(RuntimeError):
    """The firmware failed to build or to run; the message holds the tool's output."""


def missing_tools() -> Optional[str]:
    """None when the cross compiler, size and QEMU are on PATH, else which are missing."""
    missing = [tool for tool in (GCC, SIZE, QEMU) if shutil.which(tool) is None]
    if not missing:
        return None
    return (
        f"{', '.join(missing)} not found on PATH (Debian: apt-get install gcc-arm-none-eabi "
        "libnewlib-arm-none-eabi qemu-system-arm)"
    )


def build_command(out_dir) -> list:
    """The compile-and-link command of the firmware in ``out_dir`` (holding actor.h)."""
    out_dir = Path(out_dir)
    return [
        GCC,
        *TARGET_FLAGS,
        *CFLAGS,
        f"-I{out_dir}",
        f"-I{HERE}",
        f"-I{SOURCE.parent}",
        f"-T{HERE / 'link.ld'}",
        *LDFLAGS,
        "-o",
        str(out_dir / "firmware.elf"),
        str(HERE / "startup.c"),
        str(HERE / "main.c"),
        str(SOURCE),
        "-lm",
    ]


def qemu_command(elf, output) -> list:
    """The QEMU command that runs the firmware, its semihosting output going to file ``output``.

    A file, not stdout: QEMU sends semihosting output to stderr or stdout depending on
    whether they are terminals.
    """
    return [
        QEMU,
        "-M",
        MACHINE,
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-chardev",
        f"file,id=semihost,path={output}",
        "-semihosting-config",
        "enable=on,target=native,chardev=semihost",
        "-kernel",
        str(elf),
    ]


def _run(cmd, what: str, timeout: int) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise FirmwareError(f"{what} did not finish within {timeout} s: {' '.join(cmd)}") from None
    if proc.returncode != 0:
        raise FirmwareError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"{(proc.stdout + proc.stderr).strip()[:3000]}"
        )
    return proc


def section_sizes(elf) -> Dict[str, int]:
    """Section name -> bytes, from ``arm-none-eabi-size -A``."""
    out = _run([SIZE, "-A", str(elf)], "arm-none-eabi-size", 60).stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)\s+\d+", out, re.M)}


def build_firmware(actor, obs: np.ndarray, out_dir, reset_every: int = 100) -> Dict:
    """Generate actor.h for ``actor`` (a .dsaactor file) and ``obs``, build, and measure the ELF.

    Returns the ELF path and the byte counts: ``flash_bytes`` (everything stored in
    flash: vectors, code, read-only data, the initial values of .data), ``text_bytes``,
    ``rodata_bytes``, ``static_ram_bytes`` (.data + .bss) and those of codegen.
    """
    reason = missing_tools()
    if reason:
        raise FirmwareError(reason)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _, arch, tensors = read_actor_tensors(actor)
    text, counts = actor_header(actor, arch, tensors, obs, reset_every)
    write_text_atomic(out_dir / "actor.h", text)
    _run(build_command(out_dir), "building the firmware", 300)
    elf = out_dir / "firmware.elf"
    s = section_sizes(elf)
    flash = sum(s.get(k, 0) for k in (".isr_vector", ".text", ".rodata", ".ARM.exidx", ".data"))
    return {
        "elf": str(elf),
        "flash_bytes": flash,
        "text_bytes": s.get(".text", 0),
        "rodata_bytes": s.get(".rodata", 0),
        "static_ram_bytes": s.get(".data", 0) + s.get(".bss", 0),
        **counts,
    }


def run_firmware(elf) -> Dict:
    """Run the firmware under QEMU: its ``actions`` (list), ``checksum``, ``steps``, ``stack_bytes``."""
    output = Path(elf).with_suffix(".out")
    output.unlink(missing_ok=True)
    _run(qemu_command(elf, output), f"running {elf} under {QEMU}", QEMU_TIMEOUT)
    out = output.read_text() if output.exists() else ""
    actions = [
        int(a) for line in out.splitlines() if line.startswith("actions ") for a in line.split()[1:]
    ]
    fields = dict(
        line.split(" ", 1)
        for line in out.splitlines()
        if line.split(" ", 1)[0] in ("checksum", "steps", "stack_bytes")
    )
    if set(fields) != {"checksum", "steps", "stack_bytes"} or len(actions) != int(
        fields.get("steps", -1)
    ):
        raise FirmwareError(f"unexpected output of {elf} under {QEMU}:\n{out[:3000]}")
    return {
        "actions": actions,
        "checksum": int(fields["checksum"], 16),
        "steps": int(fields["steps"]),
        "stack_bytes": int(fields["stack_bytes"]),
    }


def fnv1a(data: bytes, hash_: int = 2166136261) -> int:
    """FNV-1a 32 (the firmware's logits checksum)."""
    for byte in data:
        hash_ = ((hash_ ^ byte) * 16777619) & 0xFFFFFFFF
    return hash_


def host_reference(actor, obs: np.ndarray, reset_every: int = 100, compute: str = "auto") -> Dict:
    """The same steps on the host: greedy ``actions`` and the logits ``checksum`` of ``compute``."""
    policy = load_policy(actor, compute=compute)
    actions, digest = [], 2166136261
    for t, y in enumerate(np.asarray(obs, np.float32)):
        if t % reset_every == 0:
            policy.reset()
        actions.append(policy.act(y))
        digest = fnv1a(np.ascontiguousarray(policy._last_logits[0], "<f4").tobytes(), digest)
    return {"actions": actions, "checksum": digest}
