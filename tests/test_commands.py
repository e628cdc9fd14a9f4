"""``python -m <package> <command>``: the three packages' dispatchers keep one contract.

* ``--help`` alone prints the usage, listing every command, on standard output (exit 0);
* no command prints the same usage on standard error (exit 2);
* an unknown command is named on standard error with the allowed ones (exit 2);
* every command's ``--help`` starts with ``usage:``, names how it is started and names no
  folder of this machine;
* ``python -m <package> <command>`` reaches the command in a fresh process.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dsa_pettingzoo", "pruning_callbacks", "rllib_experiments")
#: A command whose argparse ``prog`` is its console script rather than ``python -m ...``.
CONSOLE_PROG = {("dsa_pettingzoo", "evaluate"): "dsa-evaluate"}


def _dispatcher(package: str):
    if package == "rllib_experiments":
        pytest.importorskip("ray")
    return importlib.import_module(f"{package}.__main__")


def _commands():
    for package in PACKAGES:
        try:
            names = _dispatcher(package).COMMANDS
        except pytest.skip.Exception:
            continue
        for name in sorted(names):
            yield package, name


@pytest.mark.parametrize("package, command", list(_commands()))
def test_every_help_says_how_it_starts_and_names_no_path_of_this_machine(package, command, capsys):
    with pytest.raises(SystemExit) as done:
        _dispatcher(package).main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    prog = CONSOLE_PROG.get((package, command), f"python -m {package} {command}")
    assert text.startswith(f"usage: {prog}"), text[:200]
    assert str(REPO) not in text and "/root/" not in text and "/work/" not in text
    assert "%%" not in text  # a literal percent sign argparse was not asked to format


@pytest.mark.parametrize("package", PACKAGES)
def test_help_no_command_and_unknown_command(package, capsys):
    dispatcher = _dispatcher(package)
    assert dispatcher.main(["--help"]) == 0
    said = capsys.readouterr()
    assert all(name in said.out for name in dispatcher.COMMANDS) and said.err == ""
    assert dispatcher.main([]) == 2
    said = capsys.readouterr()
    assert all(name in said.err for name in dispatcher.COMMANDS) and said.out == ""
    assert dispatcher.main(["nope"]) == 2
    said = capsys.readouterr()
    assert "unknown command 'nope'" in said.err
    assert "allowed: " + ", ".join(dispatcher.COMMANDS) in said.err


@pytest.mark.parametrize(
    "package, argv, expect",
    [
        (
            "dsa_pettingzoo",
            [
                "benchmark",
                "--scale-point",
                "batched",
                "4",
                "2",
                "--num-envs",
                "2",
                "--seconds",
                "0.001",
            ],
            '"num_users": 4',
        ),
        (
            "pruning_callbacks",
            ["schedules", "--help"],
            "usage: python -m pruning_callbacks schedules",
        ),
        ("rllib_experiments", ["train", "--help"], "usage: python -m rllib_experiments train"),
    ],
)
def test_python_dash_m_reaches_the_command(package, argv, expect):
    if package == "rllib_experiments":
        pytest.importorskip("ray")
    done = subprocess.run(
        [sys.executable, "-m", package, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert expect in done.stdout
