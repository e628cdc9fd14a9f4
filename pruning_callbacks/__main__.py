"""``python -m pruning_callbacks <command> [flags]``, the package's one command line.

Commands:

- ``schedules``: print a sparsity schedule p_0 ... p_{iterations-1}
  (``python -m pruning_callbacks schedules --help``)
"""

from __future__ import annotations

import sys
from typing import Callable, Dict, Optional, Sequence

from pruning_callbacks.schedules.cli import main as schedules_main

COMMANDS: Dict[str, Callable[[Sequence[str]], int]] = {"schedules": schedules_main}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``argv[0]``'s command with the remaining arguments; usage on stderr otherwise."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    usage = f"usage: python -m pruning_callbacks {{{','.join(COMMANDS)}}} [flags]\n\n{__doc__}"
    if argv and argv[0] in ("-h", "--help"):
        print(usage)
        return 0
    print(usage, file=sys.stderr)
    print(
        f"python -m pruning_callbacks: unknown command {argv[0]!r}; allowed: {', '.join(COMMANDS)}"
        if argv
        else "python -m pruning_callbacks: give a command",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
