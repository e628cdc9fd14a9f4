"""docs/figures.toml: the numbers README.md and docs/ quote from a command, checked against it.

Every entry's `text` must appear in its doc verbatim (so an edit that drops or changes a number
fails too). Cheap entries rerun their commands (each once, however many entries use it) and
compare each number of `text` with the command's value, formatted as the doc writes it; expensive
entries (training, timings) are only checked for presence. The manifest's header describes the
fields.
"""

from __future__ import annotations

import ast
import json
import operator
import os
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "docs" / "figures.toml"
# A number as the docs write it: digits, optional thousands commas, optional decimals. Signs are
# left to the words around it ("-1.5 s.e.m." is checked as 1.5), so "1497-1693" is two numbers;
# digits inside a word ("float32", "theta_0") are not numbers.
NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?")
SKIP = "-"  # a number in `text` that no command produced (the paper's, a definition)
# Each cheap command takes 1-10 s; two at a time fits the 2-core CI machines.
WORKERS = 2


def load_manifest() -> dict:
    with open(MANIFEST, "rb") as f:
        return tomllib.load(f)


MAN = load_manifest()
ENTRIES = MAN["figure"]
COMMANDS = MAN["commands"]


def numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


def split_value(spec: str) -> tuple[str, str]:
    """'expr | {:.1f}' -> (expr, format); without '|' the format comes from the last key's name."""
    expr, _, fmt = spec.partition("|")
    expr, fmt = expr.strip(), fmt.strip()
    if not fmt:
        last = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", expr)[-1]
        fmt = MAN["formats"].get(last, MAN["default_format"])
    return expr, fmt


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
}
_FUNCS = {"min": min, "max": max, "abs": abs}


def evaluate(expr: str, names: dict):
    """A value expression: names (a command's JSON keys or command names), `.key` and `[i]` into
    the JSON, + - * /, min/max/abs. A tiny evaluator rather than eval(), so a manifest typo
    gives a clear error instead of running arbitrary code."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise KeyError(f"{node.id!r} (known: {sorted(names)})")
            return names[node.id]
        if isinstance(node, ast.Attribute):
            return ev(node.value)[node.attr]
        if isinstance(node, ast.Subscript):
            return ev(node.value)[ev(node.slice)]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.operand))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in _FUNCS:
            return _FUNCS[node.func.id](*(ev(a) for a in node.args))
        raise ValueError(f"unsupported expression {ast.dump(node)}")

    return ev(ast.parse(expr, mode="eval"))


def compare(entry: dict, names: dict) -> list[str]:
    """Problems of one entry: each number of `text` against its value; [] when all agree."""
    doc_numbers = numbers(entry["text"])
    tol = entry.get("tolerance", MAN["default_tolerance"])
    problems = []
    for i, (doc_num, spec) in enumerate(zip(doc_numbers, entry["values"])):
        if spec == SKIP:
            continue
        expr, fmt = split_value(spec)
        try:
            value = evaluate(expr, names)
            formatted = fmt.format(value)
        except Exception as e:  # a wrong key or format is a manifest bug: say which
            problems.append(f"number {i + 1} ({doc_num}): cannot evaluate {spec!r}: {e!r}")
            continue
        found = numbers(formatted)  # "7.5%" -> "7.5": the doc's number without its unit
        got = found[0] if len(found) == 1 else formatted
        # Tolerance 0: the printed digits must match exactly (deterministic figures). Otherwise a
        # distance, with 1e-9 of slack for the float error of e.g. 997.81 - 997.80.
        ok = (
            got == doc_num
            if tol == 0
            else (
                len(found) == 1
                and abs(float(got.replace(",", "")) - float(doc_num.replace(",", ""))) <= tol + 1e-9
            )
        )
        if not ok:
            problems.append(
                f"number {i + 1}: the doc says {doc_num}, `{expr}` gives {formatted} "
                f"(raw {value!r}, format {fmt}, tolerance {tol})"
            )
    return problems


def report(entry: dict, problems: list[str]) -> str:
    cmds = "; ".join(
        "python -m " + " ".join(COMMANDS[c]["argv"]) for c in entry.get("commands", [])
    )
    return (
        f"{entry['doc']}: figure {entry['id']!r}, text {entry['text']!r}\n    "
        + "\n    ".join(problems)
        + (f"\n    command: {cmds}" if cmds else "")
    )


def source_names(entry: dict) -> dict:
    """For an entry quoting another doc's figure: `src` = the numbers of source.text (a string or
    a list of strings, numbers in order)."""
    src = entry["source"]
    doc = (REPO / src["doc"]).read_text()
    texts = [src["text"]] if isinstance(src["text"], str) else src["text"]
    for t in texts:
        assert t in doc, f"{entry['id']}: its source {src['doc']} no longer contains {t!r}"
    return {"src": [float(n.replace(",", "")) for t in texts for n in numbers(t)]}


# ----------------------------------------------------------------------------- the manifest itself
def test_manifest_is_well_formed():
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for e in ENTRIES:
        assert (REPO / e["doc"]).is_file(), f"{e['id']}: no file {e['doc']}"
        if e.get("cheap", True):
            for c in e.get("commands", []):
                assert c in COMMANDS, f"{e['id']}: unknown command {c!r}"
            assert e.get("commands") or "source" in e, f"{e['id']}: a cheap figure needs a command"
        else:
            missing = {"command", "budget", "last_run", "commit"} - set(e)
            assert not missing, f"{e['id']}: an expensive figure needs {sorted(missing)}"
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", e["last_run"]), e["id"]
        if "values" in e:
            n = len(numbers(e["text"]))
            assert n == len(e["values"]), (
                f"{e['id']}: text has {n} numbers {numbers(e['text'])}, values has {len(e['values'])}"
            )
    for name, c in COMMANDS.items():
        assert c["argv"] and c["budget"], name


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_doc_contains_the_figure(entry):
    text = (REPO / entry["doc"]).read_text()
    assert entry["text"] in text, (
        f"{entry['doc']} no longer contains figure {entry['id']!r}: {entry['text']!r}. If the "
        "number changed, rerun its command and update docs/figures.toml with the doc"
    )


def test_the_check_can_fail():
    """A wrong number, a wrong rounding and a wrong key are each reported, naming the entry."""
    entry = {
        "id": "fake",
        "doc": "README.md",
        "text": "| 997.80 ± 56.72 | 0.375 |",
        "values": ["mean_reward", "std_reward", "oracle_ratio"],
    }
    out = {"mean_reward": 997.8011, "std_reward": 56.72, "oracle_ratio": 0.37503}
    assert compare(entry, out) == []
    assert "the doc says 997.80" in compare(entry, {**out, "mean_reward": 997.81})[0]
    assert len(compare(entry, {**out, "oracle_ratio": 0.3756})) == 1
    assert "cannot evaluate" in compare({**entry, "values": ["mean", "-", "-"]}, out)[0]
    assert len(compare({**entry, "tolerance": 0.01}, {**out, "mean_reward": 997.81})) == 0
    assert "fake" in report(entry, ["x"])


# ----------------------------------------------------------------------------- rerunning the commands
def run(name: str, tmp: Path) -> dict:
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [a.replace("{tmp}", str(tmp)) for a in COMMANDS[name]["argv"]]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    p = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, (
        f"python -m {' '.join(argv)} exited {p.returncode}:\n{p.stderr[-2000:]}"
    )
    return json.loads(p.stdout) if COMMANDS[name].get("json", True) else {}


@pytest.mark.slow
def test_cheap_figures_reproduce(tmp_path):
    cheap = [e for e in ENTRIES if e.get("cheap", True)]
    used = sorted({c for e in cheap for c in e.get("commands", [])})
    with ThreadPoolExecutor(WORKERS) as pool:
        outputs = dict(zip(used, pool.map(lambda c: run(c, tmp_path / c), used)))
    failures = []
    for e in cheap:
        cmds = e.get("commands", [])
        if "source" in e:
            names = source_names(e)
        else:
            names = outputs[cmds[0]] if len(cmds) == 1 else {c: outputs[c] for c in cmds}
        problems = compare(e, names) if "values" in e else []
        for produced, doc in e.get("files", []):
            got = (tmp_path / cmds[0] / produced).read_bytes()
            if got != (REPO / doc).read_bytes():
                problems.append(f"{doc} differs from what the command writes ({produced})")
        if problems:
            failures.append(report(e, problems))
    assert not failures, (
        "docs and code disagree (fix the doc, or the code, and the manifest):\n"
        + "\n".join(failures)
    )


def test_expensive_figures_agree_with_their_source():
    """An expensive figure quoted from a doc that a cheap entry checks (README's Table I summary
    from docs/results/table1.md) must round what that doc says."""
    failures = [
        report(e, p)
        for e in ENTRIES
        if not e.get("cheap", True) and "source" in e
        if (p := compare(e, source_names(e)))
    ]
    assert not failures, "\n".join(failures)
