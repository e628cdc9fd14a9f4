"""Check a Ray cluster address before connecting, so a wrong one fails fast and clearly.

``ray.init(address=...)`` waits without bound for a cluster that does not answer (it only
logs a warning about the GCS) and raises a bare ``ValueError`` for an address it cannot
parse. :func:`check_ray_address` is called before any output is written: it accepts
``auto`` and ``local`` as they are (Ray resolves them at once), and for ``HOST:PORT`` or
``ray://HOST:PORT`` opens one TCP connection, waiting at most :data:`CONNECT_TIMEOUT_S`
seconds. It imports neither ray nor torch.
"""

from __future__ import annotations

import os
import socket
from typing import Optional

#: Seconds to wait for a cluster address to accept a connection before giving up.
CONNECT_TIMEOUT_S = 10.0
#: Addresses Ray resolves itself (``auto``: the cluster of this machine, ``local``: a new one).
KEYWORDS = ("auto", "local")


class RayAddressError(ValueError):
    """A Ray address that is malformed or does not answer; ``source`` says who gave it
    (``"--address"`` or ``"RAY_ADDRESS"``)."""

    def __init__(self, source: str, message: str):
        super().__init__(message)
        self.source = source


def given_address(flag_value: Optional[str]) -> tuple:
    """(address, where it came from): the flag's value, else RAY_ADDRESS, else (None, None)."""
    if flag_value is not None:
        return flag_value, "--address"
    env = os.environ.get("RAY_ADDRESS")
    if env:
        return env, "RAY_ADDRESS"
    return None, None


def check_ray_address(flag_value: Optional[str], timeout: float = CONNECT_TIMEOUT_S) -> None:
    """RayAddressError unless the address (``--address`` or RAY_ADDRESS) is a keyword or a
    HOST:PORT that accepts a TCP connection within ``timeout`` seconds."""
    address, source = given_address(flag_value)
    if address is None or address in KEYWORDS:
        return
    allowed = "auto, local, HOST:PORT or ray://HOST:PORT"
    hostport = address[len("ray://") :] if address.startswith("ray://") else address
    host, sep, port_text = hostport.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RayAddressError(
            source, f"{source}={address!r} is not a Ray cluster address; allowed: {allowed}"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), timeout=timeout):
            pass
    except OSError as err:
        raise RayAddressError(
            source,
            f"{source}={address!r}: no Ray cluster answers there within {timeout:g} s "
            f"({err}); start one (`ray start --head`), fix the address, or leave "
            f"{source} unset for a local Ray instance",
        ) from None
