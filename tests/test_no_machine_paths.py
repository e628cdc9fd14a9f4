"""No committed file names a folder of the machine it was made on, and the records that once
did (rewritten by scripts/relative_record_paths.py) still name the same folders.

A record, log, report or doc of this project is read on other machines: an absolute path of
ours (``/work/...``, ``/root/...``, a home folder, ``/tmp/...``, ``C:\\...``) means nothing
there. Records store folders relative to their results folder, logs keep the command as
typed with paths inside the current directory relative to it, docs use relative folders.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rllib_experiments.studies.common.records import results_folder, run_folder
from rllib_experiments.studies.common.runner import log_run, logged_argument

REPO = Path(__file__).resolve().parents[1]

#: An absolute path of a machine: one of these folders at the start of a path (not inside a
#: relative path such as ``runs/tmp/``, nor a URL's path), or a Windows drive.
MACHINE_PATH = re.compile(
    r"(?<![\w.~/-])/(?:work|root|home|tmp|Users)/|(?<![\w{])[A-Z]:\\\\?[A-Za-z]"
)
#: What every match of MACHINE_PATH contains: files without any are not searched line by line.
NEEDLES = (b"/work/", b"/root/", b"/home/", b"/tmp/", b"/Users/", b":\\")

#: The only committed files allowed to hold such a path, and why.
ALLOWED = {
    # The migration that rewrote the old records names the folders it rewrites.
    "scripts/relative_record_paths.py",
    # Checks that a command's --help names no path of this machine: the paths it looks for.
    "tests/test_commands.py",
    # This test: the paths it looks for, and the old records' paths it compares with.
    "tests/test_no_machine_paths.py",
}

#: Subject of the commit that rewrote the committed records (and nothing else).
REWRITE_SUBJECT = "Records: absolute machine paths rewritten as relative ones"
#: The checkout the old records were made in: its paths are this repository's.
OLD_CHECKOUT = "/work/main/"


def _git(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, **kw)


def _tracked() -> list:
    try:
        done = _git("ls-files", "-z")
    except OSError:
        pytest.skip("git is not installed")
    if done.returncode != 0:
        pytest.skip("not a git checkout: no list of committed files")
    return [p for p in done.stdout.decode().split("\0") if p]


def test_no_committed_file_names_a_folder_of_a_machine():
    found = []
    for path in _tracked():
        if path in ALLOWED or not (REPO / path).is_file():
            continue
        data = (REPO / path).read_bytes()
        if b"\0" in data[:8192] or not any(n in data for n in NEEDLES):  # binary, or clean
            continue
        text = data.decode("utf-8", "replace")
        for n, line in enumerate(text.splitlines(), 1):
            m = MACHINE_PATH.search(line)
            if m:
                found.append(f"{path}:{n}: ...{line[max(0, m.start() - 60) : m.end() + 60]}...")
    assert not found, (
        f"{len(found)} lines name an absolute path of a machine; use a folder relative to "
        "the repository root (runs/..., docs/...) or to the record's results folder:\n"
        + "\n".join(found[:30])
    )


def test_the_allowed_files_exist():
    assert ALLOWED <= set(_tracked()), ALLOWED - set(_tracked())


def test_the_rewrite_script_has_nothing_left_to_do():
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "relative_record_paths.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------- the rewritten records
def _old_records():
    """{path: the record before the rewrite} for every trial record the rewrite commit changed
    (from the repository's history; skip when it is not there, e.g. a shallow clone)."""
    try:
        found = _git("log", "--format=%H", "-1", "-F", f"--grep={REWRITE_SUBJECT}", text=True)
    except OSError:
        pytest.skip("git is not installed")
    commit = found.stdout.strip()
    if found.returncode != 0 or not commit:
        pytest.skip("the commit that rewrote the records is not in this checkout's history")
    names = _git("diff", "--name-only", f"{commit}^", commit, text=True)
    if names.returncode != 0:
        pytest.skip("the parent of the rewrite commit is not in this checkout (shallow clone)")
    paths = [p for p in names.stdout.split() if "/trials/" in p and p.endswith(".json")]
    batch = _git("cat-file", "--batch", input="".join(f"{commit}^:{p}\n" for p in paths).encode())
    out, old, at = batch.stdout, {}, 0
    for p in paths:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        old[p] = json.loads(out[header_end + 1 : header_end + 1 + size])
        at = header_end + 1 + size + 1
    return old


@pytest.fixture(scope="module")
def old_records():
    return _old_records()


def _now(path: str) -> dict:
    return json.loads((REPO / path).read_text())


def test_the_rewrite_lost_no_run_folder_inside_the_repository(old_records):
    inside = {p: r for p, r in old_records.items() if r["run_folder"].startswith(OLD_CHECKOUT)}
    outside = set(old_records) - set(inside)
    assert len(inside) == 479 and len(outside) == 2
    for path, old in inside.items():
        new = _now(path)
        assert not Path(new["run_folder"]).is_absolute()
        was = REPO / old["run_folder"][len(OLD_CHECKOUT) :]
        now = run_folder(new, results_folder(REPO / path))
        assert os.path.normpath(now) == os.path.normpath(was), path
        assert {k: v for k, v in new.items() if k != "run_folder"} == {
            k: v for k, v in old.items() if k != "run_folder"
        }, path
    for path in outside:  # a temporary folder of the old machine: its name, and why
        old, new = old_records[path], _now(path)
        assert new["run_folder"] == Path(old["run_folder"]).name and new["run_folder_note"]
        assert {k: v for k, v in new.items() if k not in ("run_folder", "run_folder_note")} == {
            k: v for k, v in old.items() if k != "run_folder"
        }, path


def _copy_record(path: str, root: Path, **drop) -> Path:
    """The committed record ``path`` copied to the same place under ``root`` (without the
    fields in ``drop``)."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    rec = {k: v for k, v in _now(path).items() if k not in drop}
    target.write_text(json.dumps(rec))
    return target


class _Found(Exception):
    pass


def test_the_readers_find_the_old_folders(old_records, tmp_path):
    """The pruning study's actor sizes and the scale study's transfer open the run folder the
    old absolute path named (here: the same place under a copy of the repository)."""
    from rllib_experiments.studies.pruning.actor_bytes import backfill_actor_bytes
    from rllib_experiments.studies.scale.transfer import transfer_trials

    pruning = "docs/results/raw/pruning/trials/A__dense__s0.json"
    scale = "docs/results/raw/scale/N10/trials/A__ours__s0.json"
    seen = []

    def spy(folder, *rest):
        seen.append(Path(folder).resolve())
        raise _Found

    for path in (pruning, scale):
        (tmp_path / old_records[path]["run_folder"][len(OLD_CHECKOUT) :]).mkdir(parents=True)
    # the sizes are redone only for a record without them
    _copy_record(pruning, tmp_path, actor_bytes=1, actor_bytes_format=1)
    _copy_record(scale, tmp_path)
    assert backfill_actor_bytes(tmp_path / Path(pruning).parent.parent, spy, log=lambda m: 0) == 0
    with pytest.raises(_Found):
        transfer_trials(tmp_path / "docs/results/raw/scale", None, [10], ["B"], [0], spy)
    assert seen == [
        (tmp_path / old_records[p]["run_folder"][len(OLD_CHECKOUT) :]).resolve()
        for p in (pruning, scale)
    ]


# ---------------------------------------------------------------- what new logs keep
def test_a_log_keeps_paths_inside_the_current_folder_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    outside = str(tmp_path.parent / "elsewhere")
    assert logged_argument(str(tmp_path / "runs" / "tune")) == "runs/tune"
    assert logged_argument(f"--tune-dir={tmp_path / 'runs'}") == "--tune-dir=runs"
    assert logged_argument(str(tmp_path)) == "."
    assert logged_argument("docs/results") == "docs/results" and logged_argument("-3") == "-3"
    assert logged_argument(outside) == outside  # outside: as typed, the committed-tree test
    log_run(
        tmp_path / "runs.jsonl",
        "python -m rllib_experiments reproduce",
        ["--output", str(tmp_path / "out dir"), "--tune-dir", str(tmp_path / "runs")],
        [],
        [],
        [],
        1.0,
    )
    line = json.loads((tmp_path / "runs.jsonl").read_text())
    assert line["command"] == (
        "python -m rllib_experiments reproduce --output 'out dir' --tune-dir runs"
    )
    assert str(tmp_path) not in json.dumps(line)


def test_the_pattern_finds_machine_paths_and_only_them():
    for text in ("/work/main/x", '"/tmp/a"', "--x=/home/u", "exported:/root/a", "C:\\Users\\x"):
        assert MACHINE_PATH.search(text), text
    for text in ("runs/tmp/x", "https://x.org/home/a", "docs/work/", "f'{a}:\\n'", "~/tmp/x"):
        assert not MACHINE_PATH.search(text), text
