"""``python -m dsa_pettingzoo COMMAND [FLAGS]``: the package's command-line tools.

    python -m dsa_pettingzoo evaluate --policy aloha --setup A   # = dsa-evaluate
    python -m dsa_pettingzoo benchmark                           # ParallelEnv vs BatchedDSA speed
    python -m dsa_pettingzoo study tune                          # the bandit baselines' study
    python -m dsa_pettingzoo deploy-benchmark                    # exported actors: size, memory, time
    python -m dsa_pettingzoo agreement --reference A/ --candidate B/
    python -m dsa_pettingzoo mcu --json                          # Cortex-M4 firmware under QEMU

``python -m dsa_pettingzoo COMMAND --help`` lists a command's flags.
"""

from __future__ import annotations

import importlib
import sys

#: command -> the module of dsa_pettingzoo.cli whose main(argv) runs it.
COMMANDS = {
    "evaluate": "evaluate",
    "benchmark": "benchmark",
    "study": "study",
    "deploy-benchmark": "deploy_benchmark",
    "agreement": "agreement",
    "mcu": "mcu",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):  # asked: stdout, 0; no command: stderr, 2
        print(
            __doc__.strip() + "\n\ncommands: " + ", ".join(COMMANDS),
            file=sys.stdout if argv else sys.stderr,
        )
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(
            f"python -m dsa_pettingzoo: unknown command {command!r}; "
            f"allowed: {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    # Only the command's own module is loaded: `benchmark --scale` measures the peak RSS of
    # processes started this way, which the other commands' imports would inflate.
    status = importlib.import_module(f".cli.{COMMANDS[command]}", __package__).main(rest)
    # benchmark returns its result dict: success, like the other commands' 0
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
