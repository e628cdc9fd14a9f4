"""Rewrite the absolute machine paths in the committed records as relative ones (2026-12-07).

One-off migration, kept so that the rewrite can be read and rerun: running it again changes
nothing (it only touches values that are still absolute). Run from anywhere:

    python scripts/relative_record_paths.py          # rewrite, print what changed
    python scripts/relative_record_paths.py --check  # exit 1 if anything is left to rewrite

The records were made in the checkout ``/work/main`` of the machine that ran them, by
commands run from that checkout's root. What is rewritten, file by file (every tracked
file under ``docs/results/raw``):

* Trial records (``RESULTS/trials/*.json``): ``run_folder``, the training run's folder.
  Under the old checkout it becomes the path relative to RESULTS (the folder holding
  ``trials/``), exactly what newer records store
  (:func:`rllib_experiments.studies.common.records.relative_run_folder`), so the readers
  (:func:`rllib_experiments.studies.common.records.run_folder`) resolve it to the same
  folder of the repository. A run folder that was outside the checkout (a temporary folder
  of that machine, never part of the repository) keeps only its name, and the record gets
  ``run_folder_note`` saying so: the readers find no folder there (they then say the run
  folder is not on this machine, as they did for that path on any other machine).
* Search tables (``search_trials.csv``, ``best.json``): ``trial_output``, a search trial's
  folder, relative to the search's folder (the file's folder), as the search now writes it.
* Exported actors of ``sparsest_actor/`` (``evaluate_*.json`` ``policy``, ``mcu.json``
  ``actor`` and ``observations``): they were in a folder outside the repository that the
  folder's README names ``$EXP``; the values name them as ``$EXP/...``, as the README's
  commands do.
* Run logs (``runs.jsonl``, ``scale_runs.jsonl``): the ``command`` each line quotes. Two
  flags there held folders outside the repository, and neither influences a result, so
  each is replaced by a folder under the repository and the line gets ``command_note``:
  ``--tune-dir`` (Ray Tune's own experiment folder: logs, not read by a trial, not needed
  to resume) becomes ``runs/tune``, its default today; ``--runs-dir`` (where the trials'
  training runs are written; a trial's result does not depend on where) becomes
  ``runs/<its old name>``, a folder of its own so that rerunning the command does not meet
  another study's run folders. A path under the old checkout in a command would become
  relative to the repository root (the commands ran from there); any other absolute path
  in a command stops the script, since it might name something a result depends on.

Anything else holding an absolute machine path stops the script with the file and field.
Every rewritten file is checked: parsed again, it equals the old content with only the
listed fields changed; the rest of its text is untouched.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import posixpath
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
RAW = "docs/results/raw"
#: The checkout the records were made in (commands ran from its root).
OLD_CHECKOUT = "/work/main/"
#: The folder outside the repository that sparsest_actor/*/README.md names $EXP.
OLD_EXPORTS = "/work/exports/"
EXPORTS_NAME = "$EXP/"
#: An absolute path of a machine, as tests/test_no_machine_paths.py looks for it.
NEEDLES = ("/work/", "/root/", "/home/", "/tmp/", "/Users/", ":\\")
MACHINE_PATH = re.compile(
    r"(?<![\w.~/-])/(?:work|root|home|tmp|Users)/|(?<![\w{])[A-Z]:\\\\?[A-Za-z]"
)

RUN_FOLDER_NOTE = (
    "the run folder was outside the repository (a temporary folder of the machine that ran "
    "the trial); only its name is kept here"
)
TUNE_DIR = "runs/tune"
COMMAND_NOTE = {
    "--tune-dir": (
        "--tune-dir named a folder outside the repository; shown as runs/tune (its default): "
        "Ray Tune's own experiment folder does not influence results"
    ),
    "--runs-dir": (
        "--runs-dir named a folder outside the repository; shown as runs/<its name>: where "
        "the training runs are written does not influence results"
    ),
}
FLAG_VALUE = re.compile(r"(?P<flag>--[\w-]+)(?P<sep>[= ])(?P<value>\S+)")


class Unexpected(RuntimeError):
    """An absolute path the script has no rule for."""


def is_machine_path(text: str) -> bool:
    """Whether ``text`` holds an absolute path of a machine (a cheap look first: the pattern
    is slow on megabytes)."""
    return any(n in text for n in NEEDLES) and bool(MACHINE_PATH.search(text))


def results_folder(path: str) -> str:
    """The folder a record's paths are relative to: RESULTS for RESULTS/trials/*.json, else
    the file's own folder."""
    folder = posixpath.dirname(path)
    return posixpath.dirname(folder) if posixpath.basename(folder) == "trials" else folder


def relative_to(old: str, base: str) -> str:
    """``old`` (a path under the old checkout) relative to ``base`` (a folder of the
    repository, relative to its root)."""
    return posixpath.relpath(old[len(OLD_CHECKOUT) :].rstrip("/"), base)


def new_value(path: str, key: Optional[str], value: str) -> Tuple[str, bool]:
    """(the rewritten ``value`` of field ``key`` in ``path``, whether a run-folder note is
    due); Unexpected when no rule applies."""
    prefix = "exported:" if value.startswith("exported:") else ""
    bare = value[len(prefix) :]
    if key in ("run_folder", "trial_output") and bare.startswith(OLD_CHECKOUT):
        return prefix + relative_to(bare, results_folder(path)), False
    if key in ("policy", "actor", "observations") and bare.startswith(OLD_EXPORTS):
        return prefix + EXPORTS_NAME + bare[len(OLD_EXPORTS) :], False
    if key == "run_folder" and bare.startswith("/tmp/"):
        return posixpath.basename(bare.rstrip("/")), True
    raise Unexpected(f"{path}: field {key!r} holds {value!r}, which no rule rewrites")


def _walk(obj: Any, key: Optional[str] = None):
    """(key, string) for every string in ``obj`` (a list item has its list's key)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v, key)
    elif isinstance(obj, str):
        yield key, obj


def _replace_strings(obj: Any, changes: Dict[str, str], notes: bool) -> Any:
    """``obj`` with the strings in ``changes`` replaced (and a note after a run_folder that
    was outside the repository): what the rewritten file must parse to."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out[k] = _replace_strings(v, changes, notes)
            if notes and k == "run_folder" and v in changes:
                out["run_folder_note"] = RUN_FOLDER_NOTE
        return out
    if isinstance(obj, list):
        return [_replace_strings(v, changes, notes) for v in obj]
    return changes.get(obj, obj) if isinstance(obj, str) else obj


def rewrite_json(path: str, text: str, counts: Counter) -> str:
    obj = json.loads(text)
    changes: Dict[str, str] = {}
    noted = set()
    for key, value in _walk(obj):
        if is_machine_path(value) and value not in changes:
            changes[value], note = new_value(path, key, value)
            counts[f"{key} ({'outside the repository' if note else 'rewritten'})"] += 1
            if note:
                noted.add(value)
    new = text
    for old, value in changes.items():
        quoted_old, quoted_new = json.dumps(old), json.dumps(value)
        if old in noted:
            new = re.sub(
                r'(?P<indent>[ \t]*)"run_folder": ' + re.escape(quoted_old) + r"(?P<comma>,?)",
                lambda m: (
                    f'{m["indent"]}"run_folder": {quoted_new},\n'
                    f'{m["indent"]}"run_folder_note": {json.dumps(RUN_FOLDER_NOTE)}{m["comma"]}'
                ),
                new,
            )
        else:
            new = new.replace(quoted_old, quoted_new)
    if json.loads(new) != _replace_strings(obj, changes, bool(noted)):
        raise Unexpected(f"{path}: the rewritten text does not parse to the intended record")
    return new


def rewrite_csv(path: str, text: str, counts: Counter) -> str:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, changes = rows[0], {}
    for row in rows[1:]:
        for key, value in zip(header, row):
            if is_machine_path(value) and value not in changes:
                changes[value], note = new_value(path, key, value)
                counts[f"{key} (rewritten)"] += 1
    new = text
    for old, value in changes.items():
        new = re.sub(r"(?<=[,\n])" + re.escape(old) + r"(?=[,\r\n]|$)", value, new)
    expected = [[changes.get(c, c) for c in row] for row in rows]
    if list(csv.reader(io.StringIO(new, newline=""))) != expected:
        raise Unexpected(f"{path}: the rewritten text does not parse to the intended table")
    return new


def new_command(path: str, command: str) -> Tuple[str, List[str]]:
    """The command with its absolute folders rewritten, and the flags that were."""
    flags: List[str] = []

    def one(m: re.Match) -> str:
        flag, value = m["flag"], m["value"]
        if not is_machine_path(value):
            return m[0]
        if value.startswith(OLD_CHECKOUT):
            new = posixpath.relpath(value[len(OLD_CHECKOUT) :], ".")
        elif flag == "--tune-dir":
            new, _ = TUNE_DIR, flags.append(flag)
        elif flag == "--runs-dir":
            new, _ = "runs/" + posixpath.basename(value.rstrip("/")), flags.append(flag)
        else:
            raise Unexpected(f"{path}: {flag} {value} in {command!r}: no rule rewrites it")
        return f"{flag}{m['sep']}{new}"

    new = FLAG_VALUE.sub(one, command)
    if is_machine_path(new):
        raise Unexpected(f"{path}: {command!r} holds an absolute path outside a flag's value")
    return new, flags


def rewrite_jsonl(path: str, text: str, counts: Counter) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not is_machine_path(line):
            continue
        obj = json.loads(line)
        for key, value in _walk(obj):
            if key != "command" and is_machine_path(value):
                raise Unexpected(f"{path}:{i + 1}: field {key!r} holds {value!r}")
        command, flags = new_command(path, obj["command"])
        for flag in dict.fromkeys(flags):
            counts[f"command {flag}"] += flags.count(flag)
        counts["command (line)"] += 1
        head = '{"command": ' + json.dumps(obj["command"]) + ", "
        if not line.startswith(head):
            raise Unexpected(f"{path}:{i + 1}: a log line that does not start with its command")
        note = " ".join(COMMAND_NOTE[f] + "." for f in dict.fromkeys(flags))
        lines[i] = (
            '{"command": '
            + json.dumps(command)
            + (', "command_note": ' + json.dumps(note) if note else "")
            + ", "
            + line[len(head) :]
        )
        expected = {"command": command, **({"command_note": note} if note else {}), **obj}
        expected["command"] = command
        if json.loads(lines[i]) != expected:
            raise Unexpected(f"{path}:{i + 1}: the rewritten line does not parse as intended")
    return "\n".join(lines)


REWRITERS = {".json": rewrite_json, ".csv": rewrite_csv, ".jsonl": rewrite_jsonl}


def tracked(folder: str) -> List[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", folder], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return sorted(p for p in out.split("\0") if p)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if due")
    args = parser.parse_args(argv)
    counts: Counter = Counter()
    changed = []
    for path in tracked(RAW):
        rewrite = REWRITERS.get(posixpath.splitext(path)[1])
        if rewrite is None:
            continue
        with open(REPO / path, encoding="utf-8", newline="") as f:
            text = f.read()
        if not is_machine_path(text):
            continue
        new = rewrite(path, text, counts)
        if new != text:
            changed.append(path)
            if not args.check:
                with open(REPO / path, "w", encoding="utf-8", newline="") as f:
                    f.write(new)
    for what, n in sorted(counts.items()):
        print(f"{n:5d}  {what}")
    print(f"{len(changed)} files {'to rewrite' if args.check else 'rewritten'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
