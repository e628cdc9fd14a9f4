"""Every module, attribute and file that a command's --help names exists."""

from __future__ import annotations

import contextlib
import importlib
import io
import re
from pathlib import Path

import pytest

from dsa_pettingzoo.__main__ import COMMANDS as DSA_COMMANDS
from rllib_experiments.__main__ import COMMANDS as EXPERIMENT_COMMANDS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dsa_pettingzoo", "rllib_experiments", "pruning_callbacks")
DOTTED = re.compile(r"\b(?:%s)(?:\.[A-Za-z_]\w*)+" % "|".join(PACKAGES))
FILE = re.compile(r"\b[\w.-]+(?:/[\w.-]+)*/[\w-]+\.(?:py|json|yaml|yml|md|toml|csv)\b")

MODULES = (
    [f"rllib_experiments.cli.{m}" for m, _ in EXPERIMENT_COMMANDS.values()]
    + [f"dsa_pettingzoo.cli.{m}" for m in DSA_COMMANDS.values()]
    + ["pruning_callbacks.schedules.cli"]
)


def help_text(module: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as exit_info:
        importlib.import_module(module).main(["--help"])
    assert exit_info.value.code in (0, None)
    return " ".join(buf.getvalue().split())  # argparse wraps lines: join them back


def exists_dotted(name: str) -> bool:
    """A module, or a module followed by attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


@pytest.mark.parametrize("module", MODULES)
def test_help_names_only_modules_and_files_that_exist(module):
    text = help_text(module)
    dotted = [d.rstrip(".") for d in DOTTED.findall(text)]
    missing = [d for d in dotted if not exists_dotted(d)]
    files = [f for f in FILE.findall(text) if not re.match(r"^[A-Z_<]", f)]
    # Paths a command writes (runs/..., results/...) are outputs, not references: only the
    # ones under a package or docs/ must exist.
    refs = [f for f in files if f.split("/")[0] in (*PACKAGES, "docs", "tests")]
    missing += [f for f in refs if not (ROOT / f).exists()]
    assert not missing, f"{module} --help names {missing}, which do not exist"


def test_train_help_gives_the_presets_eval_defaults():
    text = help_text("rllib_experiments.cli.train")
    assert "default 10)" not in text
    assert "1 in tiny" in text
    assert "rllib_experiments/config.py" not in text
