"""``python -m dsa_pettingzoo COMMAND``: the one dispatcher of the package's commands."""

import subprocess
import sys
from pathlib import Path

import pytest

from dsa_pettingzoo.__main__ import COMMANDS, main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_its_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"python -m dsa_pettingzoo {command}" in capsys.readouterr().out or command == "evaluate"


def test_no_command_or_an_unknown_one_exits_2(capsys):
    assert main([]) == 2
    assert "commands: evaluate, benchmark" in capsys.readouterr().err
    assert main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err
    assert main(["--help"]) == 0 and "deploy-benchmark" in capsys.readouterr().out


def test_python_dash_m_runs_a_command():
    proc = subprocess.run([sys.executable, "-m", "dsa_pettingzoo", "benchmark", "--scale-point",
                           "batched", "4", "2", "--num-envs", "2", "--seconds", "0.001"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '"num_users": 4' in proc.stdout
