"""``python -m rllib_experiments <command>``: every command is listed, dispatched, and its
``--help`` names no folder of this machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")
from rllib_experiments.__main__ import COMMANDS, main  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_names_no_path_of_this_machine(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: ")
    assert str(REPO) not in text and "/root/" not in text and "/work/" not in text


def test_no_command_lists_them_and_an_unknown_one_is_named(capsys):
    assert main([]) == 2
    listed = capsys.readouterr().out
    assert all(f"  {name} " in listed for name in COMMANDS)
    assert main(["trian"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'trian'" in err and "train" in err


def test_python_dash_m_reaches_the_command():
    done = subprocess.run([sys.executable, "-m", "rllib_experiments", "train", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage: python -m rllib_experiments train" in done.stdout
