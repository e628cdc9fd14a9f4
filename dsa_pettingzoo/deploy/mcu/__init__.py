"""An exported actor as bare-metal firmware for a Cortex-M4F, run under QEMU (``mps2-an386``).

Sources (package data): ``startup.c`` (vectors, reset, stack painting),
``link.ld`` (an STM32F4's 1 MB flash / 192 KB RAM at the AN386 addresses),
``main.c`` (steps the actor over recorded observations, reports through
semihosting), ``semihost.h``; the kernel is ``../native/actor_step.c``, the
very source ``compute="native"`` builds for the host. ``actor.h`` is generated
from a ``.dsaactor`` file (:mod:`.codegen`); :mod:`.build` compiles, sizes and
runs it. The report of flash, RAM and equality with the numpy runtime::

    python -m dsa_pettingzoo mcu --json            # random actors at 0 / 95 / 99 %
    python -m dsa_pettingzoo mcu --actor actors/user_0.dsaactor

Needs ``arm-none-eabi-gcc`` (with newlib) and ``qemu-system-arm`` on PATH.
"""

from .build import FirmwareError, build_firmware, host_reference, missing_tools, run_firmware
from .codegen import actor_header

__all__ = [
    "FirmwareError",
    "actor_header",
    "build_firmware",
    "host_reference",
    "missing_tools",
    "run_firmware",
]
