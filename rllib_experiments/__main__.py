"""``python -m rllib_experiments <command> [flags]``: every experiment command in one place.

``python -m rllib_experiments`` alone lists the commands; ``<command> --help`` explains one.
The four main commands are also console scripts: ``dsa-train``, ``dsa-tune``,
``dsa-reproduce``, ``dsa-export``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Optional, Sequence

#: command -> (module under rllib_experiments.cli with a ``main(argv)``, one line of help)
COMMANDS = {
    "train": ("train", "train IAGC-PPO with optional actor pruning (no flags: the demo)"),
    "tune_schedules": ("tune_schedules", "Ray Tune grids and searches over pruning schedules"),
    "reproduce": ("reproduce", "Table I and Figures 1-2 of the paper, every row, through Tune"),
    "pruning_study": (
        "pruning_study",
        "the pruning study: variants of the pruning rows, many seeds",
    ),
    "scale": ("scale", "the scale study: ours and the baselines at N = 10 ... 100 users"),
    "scale_goal": ("scale_goal", "where the scale study's goal stands, every study folder pooled"),
    "verify": ("verify", "rerun trial records and report equal, or the first figure that differs"),
    "export": ("export", "export trained actors to compact sparse files that run without torch"),
    "pretrained": ("pretrained", "build a set of learned actors shipped with the environment"),
    "frameworks": ("frameworks", "BenchMARL's MAPPO and IPPO beside IAGC-PPO on setup A"),
    "benchmark": ("benchmark", "env steps per second of the training loop"),
    "plot_runs": ("plot_runs", "plot the evaluation curves of training runs"),
}

PROG = "python -m rllib_experiments"


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        f"usage: {PROG} <command> [flags]   ({PROG} <command> --help for its flags)",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):  # asked: stdout, 0; no command: stderr, 2
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(
            f"{PROG}: unknown command {name!r}; allowed: {', '.join(COMMANDS)}\n\n{usage()}",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(f"rllib_experiments.cli.{COMMANDS[name][0]}")
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
