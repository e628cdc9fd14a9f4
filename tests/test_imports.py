"""Imports go at the top of a module. One inside a function is there because it pulls in a
heavier dependency (torch, ray, matplotlib, ...) than its module loads, so that a light module
(settings, the commands' ``--help``, the torch-free environment) stays light; such an import says
so in a comment on its line or above its block of imports (e.g. ``# imports torch: only when called``)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dsa_pettingzoo", "pruning_callbacks", "rllib_experiments")


def _comment_above(lines, index: int) -> bool:
    """Is the block of imports that line ``index`` ends headed by a comment line?"""
    i = index - 1
    while i >= 0 and lines[i].strip().startswith(("import ", "from ")):
        i -= 1
    return i >= 0 and lines[i].strip().startswith("#")


def _function_imports_without_reason():
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            lines = path.read_text().splitlines()
            for node in ast.walk(ast.parse("\n".join(lines))):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        here = lines[inner.lineno - 1 : inner.end_lineno]
                        if not any("#" in line for line in here) and not _comment_above(
                            lines, inner.lineno - 1
                        ):
                            yield f"{path.relative_to(REPO)}:{inner.lineno}: {here[0].strip()}"


def test_an_import_inside_a_function_says_why():
    assert list(_function_imports_without_reason()) == []
