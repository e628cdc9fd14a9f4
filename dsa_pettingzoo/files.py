"""The one way a file is written whole: to a temporary name beside it, then renamed into place.

Every whole-file writer of the three packages goes through :func:`write_atomic` (the
experiments' JSON and CSV writers in :mod:`rllib_experiments.run.outputs` are built on it):
a process killed at any moment leaves either the old or the new file, never half a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional


def write_atomic(
    path, write: Callable[[Any], None], *, newline: Optional[str] = None, binary: bool = False
) -> Path:
    """Write ``path`` (creating its folder) with ``write(file)``, never leaving half a file.

    ``write`` gets a file open for text (``newline`` as :func:`open` takes it) or, with
    ``binary``, for bytes. It writes a temporary file beside ``path`` whose name carries the
    process id (two processes writing the same file, a trial and the driver's record writer,
    never share a temporary), which is flushed to disk and replaces ``path`` in one rename.
    If ``write`` raises, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb" if binary else "w", **({} if binary else {"newline": newline})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path, text: str) -> Path:
    """``text`` as the whole of ``path`` (:func:`write_atomic`)."""
    return write_atomic(path, lambda f: f.write(text))


def write_bytes_atomic(path, data: bytes) -> Path:
    """``data`` as the whole of ``path`` (:func:`write_atomic`)."""
    return write_atomic(path, lambda f: f.write(data), binary=True)
