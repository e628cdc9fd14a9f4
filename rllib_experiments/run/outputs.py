"""Files of one training run's output folder, written so that nothing already written is lost.

Layout of ``OUTPUT/``::

    run.json          the settings and run options (written once, read by --resume)
    progress.csv      one row per training iteration 0..n-1, flushed after every row
    tensorboard/      TensorBoard event files (tensorboardX), step = iteration
    checkpoints/iter_000050/   RLlib checkpoint (algo.save_to_path) + run_state.json,
                      random_state.pkl (every random stream) and manifest.json (sha256 of
                      every file: a resume skips a damaged checkpoint, see verify_checkpoint)
    result.json       final evaluation, sparsity, budget, wall time, ALOHA reference

Every whole-file write goes to a temporary name first and is renamed into place
(atomic on POSIX), so a run killed at any moment leaves either the old or the new
file, never a half-written one. A checkpoint directory only appears under its final
name once complete. On resume, :func:`rllib_experiments.run.progress.truncate_progress` keeps exactly the rows of
the iterations the checkpoint contains (rows of later iterations, including a
half-written last line, are dropped) and TensorBoard is reopened with
``purge_step`` so its later events are hidden.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import pickle
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

# The one atomic writer of every whole file, defined where the environment's files use it too;
# the experiments import it from here, beside the JSON and CSV writers built on it.
from dsa_pettingzoo.files import write_atomic as write_atomic
from dsa_pettingzoo.files import write_text_atomic as write_text_atomic
from rllib_experiments.run.framework_log import LOG_FILE

RUN_FILE = "run.json"
PROGRESS_FILE = "progress.csv"
RESULT_FILE = "result.json"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINT_DIR = "checkpoints"
RUN_STATE_FILE = "run_state.json"
RANDOM_STATE_FILE = "random_state.pkl"
MANIFEST_FILE = "manifest.json"
_CKPT_RE = re.compile(r"^iter_(\d{6,})$")

GRID_FILE = "grid.json"
REPRODUCE_LOG = "runs.jsonl"
SCALE_LOG = "scale_runs.jsonl"

#: The file each command writes first into its output folder, and the command's name: a
#: folder holding another command's file belongs to that command and is never written into.
SEARCH_FILE = "search.json"
OWNER_FILES = {
    RUN_FILE: "train",
    GRID_FILE: "tune_schedules",
    SEARCH_FILE: "tune_schedules",
    REPRODUCE_LOG: "reproduce",
    SCALE_LOG: "scale",
}

#: Entries whose presence means "this folder holds results".
RESULT_ENTRIES = (RUN_FILE, PROGRESS_FILE, RESULT_FILE, CHECKPOINT_DIR, TENSORBOARD_DIR)


class OutputExistsError(ValueError):
    """The output folder already holds results and neither resume nor overwrite was asked."""


def write_json_atomic(path: Path, data: Any) -> None:
    """``data`` as indented JSON with sorted keys and a final newline (:func:`write_atomic`)."""

    def write(f):
        json.dump(data, f, indent=2, sort_keys=True, default=_json_default)
        f.write("\n")

    write_atomic(path, write)


def write_csv_atomic(
    path: Path, columns: Sequence[str], rows: Iterable[Mapping], *, lineterminator: str = "\r\n"
) -> None:
    """``rows`` under the header ``columns`` (keys outside it ignored, None written as empty),
    through :func:`write_atomic`; ``lineterminator`` as :mod:`csv` takes it."""

    def write(f):
        w = csv.DictWriter(
            f, fieldnames=list(columns), extrasaction="ignore", lineterminator=lineterminator
        )
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})

    write_atomic(path, write, newline="")


def write_rows_csv_atomic(path: Path, rows: Sequence[Mapping]) -> None:
    """``rows`` under the union of their keys, in order of first appearance
    (:func:`write_csv_atomic`)."""
    columns: List[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    write_csv_atomic(path, columns, rows)


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def has_results(output: Path) -> bool:
    """Does the folder exist and hold any run file?"""
    output = Path(output)
    return output.is_dir() and any((output / name).exists() for name in RESULT_ENTRIES)


def foreign_entries(output: Path) -> List[str]:
    """Entries of an existing folder that holds no run which a run never writes (sorted): a
    run is not started among them. A run's own files, a log and hidden files are not counted."""
    output = Path(output)
    if not output.is_dir() or has_results(output):
        return []
    own = {*RESULT_ENTRIES, LOG_FILE, LOCK_FILE}
    return sorted(
        p.name for p in output.iterdir() if p.name not in own and not p.name.startswith(".")
    )


def check_owner(output: Path, command: str) -> None:
    """OutputExistsError if ``output`` holds the output of a command other than ``command``."""
    for name, owner in OWNER_FILES.items():
        if owner != command and (Path(output) / name).exists():
            raise OutputExistsError(
                f"{str(output)!r} holds the output of {owner} ({name}); {command} never writes "
                "into another command's folder: choose another output folder"
            )


def prepare_output(output: Path, *, resume: bool, overwrite: bool) -> Optional[Path]:
    """Check (and create) the output folder; returns where old results were moved, if anywhere.

    * new or empty folder: created;
    * holds results, ``resume``: kept as it is (the run continues in it);
    * holds results, ``overwrite``: the old folder is renamed to ``NAME.old-YYYYmmdd-HHMMSS``
      (nothing is deleted) and a fresh one is created;
    * holds results otherwise: :class:`OutputExistsError`.
    """
    output = Path(output)
    if resume and overwrite:
        raise ValueError("give --resume or --overwrite, not both")
    check_owner(output, "train")
    for folder in (output, *output.parents):
        if folder.exists() and not folder.is_dir():
            raise OutputExistsError(
                f"output {str(output)!r}: {str(folder)!r} exists and is not a folder"
            )
    moved = None
    if has_results(output):
        if resume:
            return None
        if not overwrite:
            raise OutputExistsError(
                f"output folder {str(output)!r} already holds results; pass --resume to continue "
                "that run or --overwrite to start again (the old folder is then kept as "
                f"{output.name}.old-<time>), or choose another --output"
            )
        moved = move_aside(output)
    output.mkdir(parents=True, exist_ok=True)
    return moved


def move_aside(path: Path, tag: str = "old") -> Path:
    """Rename ``path`` to ``NAME.<tag>-YYYYmmdd-HHMMSS`` (``-1``, ``-2`` ... if taken); returns it.

    What ``--overwrite`` does to old outputs (tag "old") and a resume to a damaged
    checkpoint (tag "damaged"): nothing is deleted.
    """
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = path.with_name(f"{path.name}.{tag}-{stamp}")
    n = 1
    while moved.exists():
        moved = path.with_name(f"{path.name}.{tag}-{stamp}-{n}")
        n += 1
    os.rename(path, moved)
    return moved


def publish_folder(
    output: Path,
    write: Callable[[Path], Any],
    *,
    overwrite: bool,
    refuse_overwrite: Optional[Callable[[Path], Optional[str]]] = None,
) -> tuple:
    """Build a folder completely, then give it its name: ``(write's result, moved-aside path)``.

    ``output`` must not exist, or be an empty folder, or (``overwrite``) be a folder that
    :func:`move_aside` renames once the new one is complete. ``refuse_overwrite(output)``
    may return why that folder must not be moved aside (refused with that reason).
    ``write(tmp)`` fills a temporary sibling folder; if it raises, the temporary folder
    and any parent folders created for it are removed, and ``output`` is untouched.
    """
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"{str(output)!r} exists and is not a folder")
    held = sorted(p.name for p in output.iterdir()) if output.is_dir() else []
    if held and not overwrite:
        raise OutputExistsError(
            f"folder {str(output)!r} is not empty (holds {', '.join(held[:3])}"
            f"{', ...' if len(held) > 3 else ''}); choose a new or empty folder, or pass "
            f"--overwrite to move the old one aside to {output.name}.old-<time> (nothing is deleted)"
        )
    reason = refuse_overwrite(output) if held and refuse_overwrite else None
    if reason:
        raise OutputExistsError(
            f"folder {str(output)!r} is not moved aside by --overwrite: {reason}"
        )
    created = [p for p in (output.absolute(), *output.absolute().parents) if not p.exists()][1:]
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.tmp-"))
    try:
        result = write(tmp)
        moved = move_aside(output) if held else None
        try:
            os.rename(tmp, output)  # replaces an empty folder, never a non-empty one
        except OSError:
            if moved is not None:
                os.rename(moved, output)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for p in created:  # innermost first; rmdir only removes what is still empty
            try:
                p.rmdir()
            except OSError:
                break
        raise
    return result, moved


# ------------------------------------------------------------------ checkpoints
def checkpoint_path(output: Path, iterations_done: int) -> Path:
    """Folder of the checkpoint taken after ``iterations_done`` iterations."""
    return Path(output) / CHECKPOINT_DIR / f"iter_{iterations_done:06d}"


def list_checkpoints(output: Path) -> List[Path]:
    """Complete checkpoints (with their run_state.json), oldest first."""
    root = Path(output) / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _CKPT_RE.match(p.name)
        if m and p.is_dir() and (p / RUN_STATE_FILE).is_file():
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def latest_checkpoint(output: Path) -> Optional[Path]:
    """The newest complete checkpoint, or None."""
    found = list_checkpoints(output)
    return found[-1] if found else None


def _file_digests(folder: Path) -> Dict[str, Dict[str, Any]]:
    """Size and sha256 of every file below ``folder`` (but the manifest), by relative path."""
    digests = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == MANIFEST_FILE:
            continue
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digests[rel] = {"size": path.stat().st_size, "sha256": h.hexdigest()}
    return digests


def save_checkpoint(
    algo,
    output: Path,
    iterations_done: int,
    run_state: Dict[str, Any],
    random_state: Optional[Dict[str, Any]] = None,
) -> Path:
    """Save the algorithm, the run state, the random streams and a manifest of every file.

    The folder appears under its name only when complete; the manifest (sizes and sha256
    of every file) lets a resume tell an intact checkpoint from a damaged one.
    """
    final = checkpoint_path(output, iterations_done)
    tmp = final.with_name(f".{final.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    algo.save_to_path(str(tmp.resolve()))
    write_json_atomic(tmp / RUN_STATE_FILE, run_state)
    if random_state is not None:
        write_atomic(tmp / RANDOM_STATE_FILE, lambda f: pickle.dump(random_state, f), binary=True)
    write_json_atomic(tmp / MANIFEST_FILE, _file_digests(tmp))
    if final.exists():  # the same iteration saved again (e.g. the final one): replace it
        old = final.with_name(f".{final.name}.replaced")
        if old.exists():
            shutil.rmtree(old)
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old)
    else:
        os.rename(tmp, final)
    return final


def remove_partial_checkpoints(output: Path) -> None:
    """Delete leftovers of checkpoints interrupted while being written (never a complete one)."""
    root = Path(output) / CHECKPOINT_DIR
    if root.is_dir():
        for p in root.iterdir():
            if p.name.startswith(".") and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)


def verify_checkpoint(checkpoint: Path) -> Optional[str]:
    """None if every file the manifest lists is there with its size and sha256, else what is wrong.

    A checkpoint written before manifests existed cannot be verified here (None).
    """
    checkpoint = Path(checkpoint)
    manifest = checkpoint / MANIFEST_FILE
    if not manifest.is_file():
        return None
    try:
        expected = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError) as err:
        return f"{MANIFEST_FILE} unreadable ({err})"
    found = _file_digests(checkpoint)
    for rel, want in expected.items():
        got = found.get(rel)
        if got is None:
            return f"{rel} is missing"
        if got["size"] != want["size"]:
            return f"{rel} has {got['size']} bytes, {want['size']} were written"
        if got["sha256"] != want["sha256"]:
            return f"{rel} differs from what was written (sha256)"
    return None


def set_aside_damaged(checkpoint: Path) -> Path:
    """Rename a damaged checkpoint to ``iter_N.damaged-<time>`` (kept, never deleted, never listed)."""
    return move_aside(checkpoint, "damaged")


def read_random_state(checkpoint: Path) -> Optional[Dict[str, Any]]:
    """The random streams saved with a checkpoint (None for checkpoints without them)."""
    path = Path(checkpoint) / RANDOM_STATE_FILE
    if not path.is_file():
        return None
    with open(path, "rb") as f:
        return pickle.load(f)


def read_run_state(checkpoint: Path) -> Dict[str, Any]:
    with open(Path(checkpoint) / RUN_STATE_FILE) as f:
        return json.load(f)


def open_tensorboard(output: Path, purge_step: Optional[int] = None):
    """tensorboardX SummaryWriter in OUTPUT/tensorboard (purge_step hides later events on resume)."""
    # imports tensorboardX: only when called
    from tensorboardX import SummaryWriter

    return SummaryWriter(
        logdir=str(Path(output) / TENSORBOARD_DIR), purge_step=purge_step, flush_secs=10
    )


LOCK_FILE = ".running.lock"


class OutputBusyError(RuntimeError):
    """Another live process is running trials into the same output folder."""


class OutputNotWritableError(ValueError):
    """An output folder that cannot be created or written into (read-only, no permission)."""


def check_writable(folder) -> None:
    """Create ``folder`` (and its parents) and write and remove a probe file in it; raises
    :class:`OutputNotWritableError` naming the folder when that fails."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputNotWritableError(
            f"{str(folder)!r} cannot be written ({err.strerror or err}); choose a folder "
            "you can write to"
        ) from None


def hold(folder, prog: str):
    """Take the exclusive lock of ``folder`` (``FOLDER/.running.lock``, ``fcntl.flock``) for
    ``prog`` and return its open file: the lock lasts while the file is open, at the latest
    until the process ends (even when killed). Raises :class:`OutputBusyError` naming the
    holder, or :class:`OutputNotWritableError` when the lock file cannot be written."""
    path = Path(folder) / LOCK_FILE
    try:
        f = open(path, "a+")
    except OSError as err:
        raise OutputNotWritableError(
            f"{str(folder)!r} cannot be written ({err.strerror or err}); choose a folder "
            "you can write to"
        ) from None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise OutputBusyError(
            f"{folder} is in use by {holder}; wait for it to finish (or stop "
            "it) before running into the same folder"
        ) from None
    f.seek(0)
    f.truncate()
    f.write(f"{prog} (pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
    f.flush()
    return f


@contextmanager
def exclusive(folder, prog: str):
    """Hold the exclusive lock of ``folder`` (:func:`hold`) while a command writes into it:
    two runs over one folder would run the same trials twice, set each other's records
    aside or mix two runs' files. Every command that writes into an existing folder takes it
    before it reads what to do or moves anything (docs/training.md)."""
    f = hold(folder, prog)
    try:
        yield
    finally:
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()
