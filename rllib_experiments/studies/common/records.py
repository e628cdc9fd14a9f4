"""Reading a study's trial records: what one holds, and the parts older records hold otherwise.

A trial record is ``RESULTS/trials/<setup>__<row>__s<seed>.json`` (RESULTS: the folder of a
study's records, or of one N of the scale study), written by
:func:`rllib_experiments.studies.common.trials.run_row_trial` or a study's baseline trial.
What reruns it: ``row``, ``setup``, ``seed`` (and ``num_users`` in the scale study), ``budget``
(the budget's name) and ``budget_config`` (the whole budget dict the trial function got),
``settings`` (a learning trial's full Settings), ``resumed_at`` (iterations at which the
training run continued from a checkpoint; [] when uninterrupted); where it came from:
``code`` and ``provenance`` (:mod:`rllib_experiments.run.provenance`); ``run_folder``: the
training run's folder, relative to RESULTS.

Older records hold the budget's name only (resolved through the
study's budget tables: :func:`rllib_experiments.studies.common.verify.budget_config`) and an
absolute ``run_folder`` (:func:`run_folder` reads both). The committed ones were rewritten
relative by ``scripts/relative_record_paths.py``; a run folder that was outside the
repository kept only its name there, with ``run_folder_note`` saying so.

Every reader of a folder's records goes through :func:`load_records`, with one rule for a
file that is not a record (not JSON, truncated, a list or a string, missing fields): the
command stops with :class:`NotARecordError` naming the file (its CLI: exit 2 naming
``--output``), and nothing is written or moved; the other records stay as they are. A
report is never built from part of a folder without saying so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

#: Fields every trial record has, old or new.
REQUIRED = ("trial", "row", "setup", "seed", "kind", "budget")
#: Fields the study reports read from every record besides :data:`REQUIRED`.
REPORTED = REQUIRED + ("final_reward",)


class NotARecordError(ValueError):
    """A file that is not a study's trial record."""


def load_record(path, required: Iterable[str] = REQUIRED) -> Dict[str, Any]:
    """The trial record in ``path``; NotARecordError (naming the file) when it is not one
    (``required``: the fields it must have)."""
    path = Path(path)
    try:
        rec = json.loads(path.read_text())
    except OSError as err:
        raise NotARecordError(f"{path}: cannot be read ({err.strerror or err})") from None
    except ValueError:
        raise NotARecordError(f"{path}: not JSON, so not a trial record") from None
    if not isinstance(rec, dict):
        raise NotARecordError(f"{path}: holds a JSON {type(rec).__name__}, not a trial record")
    missing = [k for k in required if k not in rec]
    if missing:
        raise NotARecordError(
            f"{path}: not a trial record (no {', '.join(missing)}; a trial "
            "record is a study's RESULTS/trials/<setup>__<row>__s<seed>.json)"
        )
    return rec


def load_records(paths: Iterable, required: Iterable[str] = REPORTED) -> List[Dict[str, Any]]:
    """The records of ``paths`` (e.g. ``sorted(folder.glob("trials/*.json"))``), in that
    order; the first file that is not a record stops it with :class:`NotARecordError`
    naming the file (module doc)."""
    return [load_record(p, required) for p in paths]


def folder_records(folder, required: Iterable[str] = REPORTED) -> List[Dict[str, Any]]:
    """Every record of ``folder/trials/*.json``, sorted by file name (:func:`load_records`)."""
    return load_records(sorted((Path(folder) / "trials").glob("*.json")), required)


def results_folder(record_path) -> Path:
    """The results folder of the record at ``record_path`` (the folder holding ``trials/``)."""
    return Path(record_path).resolve().parent.parent


def relative_run_folder(folder, results) -> str:
    """A run folder as a record stores it: relative to the results folder ``results``."""
    return os.path.relpath(Path(folder).resolve(), Path(results).resolve())


def run_folder(record: Dict[str, Any], results) -> Optional[Path]:
    """The record's training run folder: its ``run_folder`` relative to ``results`` (the
    folder holding the record's ``trials/``), or as it is when absolute (older records);
    None when the record names none (a baseline)."""
    stored = record.get("run_folder")
    if not stored:
        return None
    return Path(results) / stored if not Path(stored).is_absolute() else Path(stored)
