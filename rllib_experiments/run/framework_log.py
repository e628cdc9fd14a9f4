"""Ray's and RLlib's own messages go to a log file, not to the terminal.

Every command prints its own progress lines; the framework's warnings (token
authentication, "You are running PPO on the new API stack", deprecations inside RLlib,
"Install gputil", Python warnings of the libraries below) are kept in a file beside the
command's outputs, where they can be read when something goes wrong, and shown on the
terminal too with ``--verbose``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import List, Optional

LOG_FILE = "framework.log"
#: Logger names whose records are the frameworks' ("py.warnings": ``warnings.warn``).
FRAMEWORK_PREFIXES = ("ray", "py.warnings")
#: Passed to ``ray.init``: Ray does not set up logging of its own.
RAY_INIT_KWARGS = {"configure_logging": False}


def _is_framework(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in FRAMEWORK_PREFIXES)


class _Router(logging.Handler):
    """On the root logger: framework records to ``framework`` handlers, the rest to standard
    error at WARNING and above (what Python prints for a record no handler takes)."""

    def __init__(self, framework: List[logging.Handler]):
        super().__init__()
        self.framework = framework
        self.others = logging.StreamHandler(sys.stderr)
        self.others.setLevel(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        if _is_framework(record.name):
            for handler in self.framework:
                if record.levelno >= handler.level:
                    handler.handle(record)
        elif record.levelno >= self.others.level:
            self.others.handle(record)


def route_framework_logs(folder: Optional[Path], *, verbose: bool = False) -> Optional[Path]:
    """Send the frameworks' log records to ``folder/framework.log`` (None: drop them), and to
    standard error as well when ``verbose``. Call before ``ray.init`` and pass it
    :data:`RAY_INIT_KWARGS`; returns the log file's path (None when dropped).

    Importing ray (ray.rllib, ray.data) installs handlers that write to standard error on
    loggers that keep their records to themselves, and ``ray.init`` empties the ``ray``
    logger's handlers: so every ``ray`` logger loses its handlers and passes its records up
    to one handler on the root logger, which sorts them from ours.
    """
    # imported for their side effect: the handlers removed below exist from here on
    import ray  # noqa: F401
    import ray.rllib  # noqa: F401

    path = None
    framework: List[logging.Handler] = []
    if folder is not None:
        path = Path(folder) / LOG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        framework.append(handler)
    if verbose:
        framework.append(logging.StreamHandler(sys.stderr))
    logging.captureWarnings(True)
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if _is_framework(name) and isinstance(logger, logging.Logger):
            for old in list(logger.handlers):
                logger.removeHandler(old)
            logger.propagate = True
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Router)]:
        root.removeHandler(old)
    root.addHandler(_Router(framework))
    return path
