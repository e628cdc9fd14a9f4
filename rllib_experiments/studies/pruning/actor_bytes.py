"""Actor file sizes of the pruning study's records from their run folders' final checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List

from dsa_pettingzoo.deploy import FORMAT_VERSION
from rllib_experiments.dsa.actor_files import actor_file_bytes
from rllib_experiments.run.outputs import write_json_atomic
from rllib_experiments.studies.common.records import load_records, run_folder
from rllib_experiments.studies.pruning.report import OLDEST_BYTES_FORMAT


def backfill_actor_bytes(output: Path, actor_states: Callable[[Path], List[Any]], log=print) -> int:
    """Records without their actors' file sizes, or with sizes of an older file writer
    (``actor_bytes_format`` below the current format version), get them from their run
    folder's final checkpoint (the same weights), marked ``actor_bytes_from: checkpoint``;
    replaced sizes are kept under ``actor_bytes_superseded``. Only trial diagnostics
    change, never a result. Records whose run folder is not on this machine are left as
    they are. ``actor_states(run_folder)``: the state dicts of the actors of the run's final
    checkpoint (:func:`rllib_experiments.run.checkpoints.actor_states`). Returns the count."""
    done = 0
    paths = sorted((output / "trials").glob("*.json"))
    for path, rec in zip(paths, load_records(paths)):  # every file read before one is written
        folder = run_folder(rec, output) or Path("")
        old = rec.get("actor_bytes")
        old_format = int(rec.get("actor_bytes_format", OLDEST_BYTES_FORMAT))
        if (
            rec.get("kind") != "learning"
            or not folder.is_dir()
            or (old and old_format >= FORMAT_VERSION)
        ):
            continue
        try:
            states = actor_states(folder)
            sizes = {d: actor_file_bytes(states, d) for d in ("float32", "int8")}
        except Exception as err:  # noqa: BLE001 -- a missing or odd checkpoint: leave the record
            log(f"pruning_study: no actor sizes for {path.name} ({type(err).__name__}: {err})")
            continue
        if old:
            rec.setdefault("actor_bytes_superseded", []).append(
                {
                    "format": old_format,
                    **old,
                    **({"from": rec["actor_bytes_from"]} if "actor_bytes_from" in rec else {}),
                }
            )
        rec["actor_bytes"], rec["actor_bytes_format"] = sizes, FORMAT_VERSION
        rec["actor_bytes_from"] = "checkpoint"
        write_json_atomic(path, rec)
        done += 1
    return done
