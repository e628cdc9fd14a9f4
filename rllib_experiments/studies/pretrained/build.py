"""Build a shipped set of learned actors from a trial record: export, evaluate, manifest.

:func:`build_set` takes a learning record of a study (``RESULTS/trials/<setup>__<row>__s<seed>.json``)
whose training run is still on disk, exports its last checkpoint's actors as int8 files
(:func:`rllib_experiments.run.export.export_checkpoint`, with the record's path as their
source and a run id derived from the record, so a rebuild gives the same bytes), evaluates
them with numpy only on the standard episodes (100 episodes of
:data:`~dsa_pettingzoo.evaluation.EVAL_SEED`, greedy and sampled, with the oracle on the same
episodes) exactly as :func:`dsa_pettingzoo.pretrained.load` will run them, and writes the
folder ``<into>/<name>/`` with ``manifest.json`` (:mod:`dsa_pettingzoo.pretrained`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict

from dsa_pettingzoo import pretrained
from dsa_pettingzoo.baselines import ExportedPolicy, make_policy
from dsa_pettingzoo.evaluation import DEFAULT_CHUNK_SIZE, EVAL_SEED, evaluate_policy, oracle_ratios
from dsa_pettingzoo.files import write_text_atomic
from rllib_experiments.run.export import ExportError, export_checkpoint
from rllib_experiments.run.outputs import OutputExistsError, publish_folder
from rllib_experiments.studies.common.records import load_record, results_folder, run_folder

#: The standard evaluation of a shipped set.
EPISODES = 100
#: The storage type of the shipped files (the deployment format's smallest).
DTYPE = "int8"


class PretrainedBuildError(ValueError):
    """A record that cannot become a shipped set; ``argument`` names the flag at fault."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument


def shown_path(path: Path) -> str:
    """``path`` as a manifest names it: relative to the current folder (the repository root
    when the command runs there), never an absolute path of this machine."""
    return Path(os.path.relpath(Path(path).resolve(), Path.cwd())).as_posix()


def rerun_command(record: Dict[str, Any]) -> str:
    """The command that trains the record's trial again (the same trial function, row, setup,
    seed and budget as the study that wrote it)."""
    return (
        f"python -m rllib_experiments reproduce --budget {record['budget']} "
        f"--rows {record['row']} --setups {record['setup']} --seeds {record['seed']}"
    )


def evaluate_set(folder: Path, env: Dict[str, Any]) -> Dict[str, Any]:
    """The standard evaluation of the actors in ``folder``: greedy and sampled, with the
    oracle's reward on the same episodes, as :func:`dsa_pettingzoo.pretrained.load` plays them."""
    oracle = evaluate_policy(make_policy("oracle"), EPISODES, seed=EVAL_SEED, **env)
    result: Dict[str, Any] = {
        "episodes": EPISODES,
        "seed": EVAL_SEED,
        "chunk_size": DEFAULT_CHUNK_SIZE,
        "oracle_mean_reward": float(oracle.reward.mean()),
    }
    for mode, greedy in (("greedy", True), ("sampled", False)):
        stats = evaluate_policy(
            ExportedPolicy(folder, greedy=greedy), EPISODES, seed=EVAL_SEED, **env
        )
        summary = stats.summary()
        result[mode] = {
            "mean_reward": summary["mean_reward"],
            "std_reward": summary["std_reward"],
            "collision_rate": summary["collision_rate"],
            "oracle_ratio": oracle_ratios(stats, oracle)["oracle_ratio"],
        }
    return result


def build_set(record_path, name: str, into, *, overwrite: bool = False, log=print) -> Path:
    """Build the shipped set ``name`` from the learning record at ``record_path`` into
    ``into/name`` (see the module doc); returns the folder. Raises
    :class:`PretrainedBuildError` naming the flag at fault."""
    record_path = Path(record_path)
    try:
        record = load_record(record_path)
    except (OSError, ValueError) as err:
        raise PretrainedBuildError("--record", str(err)) from None
    if record["kind"] != "learning":
        raise PretrainedBuildError(
            "--record",
            f"{record_path}: a {record['kind']!r} record; only a learning record has actors",
        )
    run = run_folder(record, results_folder(record_path))
    if run is None or not run.is_dir():
        raise PretrainedBuildError(
            "--record",
            f"{record_path}: its training run {record.get('run_folder')!r} is not on this machine "
            f"(rerun it: {rerun_command(record)})",
        )
    if not name or "/" in name or name.startswith("."):
        raise PretrainedBuildError("--name", f"must be a plain folder name, got {name!r}")
    code = record.get("code") or {}
    record_label = shown_path(record_path)
    run_id = hashlib.sha256(f"{record_label}:{code.get('commit')}".encode()).hexdigest()[:32]

    def write(folder: Path) -> Dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                exported = export_checkpoint(
                    run,
                    Path(tmp) / "actors",
                    dtype=DTYPE,
                    source_label=f"{record_label}: {record['run_folder']}",
                    run_id=run_id,
                    log=log,
                )
            except ExportError as err:
                raise PretrainedBuildError("--record", f"{record_path}: {err}") from None
            for _, (path, _) in sorted(exported.items()):
                shutil.copyfile(path, folder / path.name)
        # the environment the actors were trained in, as the checkpoint recorded it
        env = next(iter(exported.values()))[1]["env"]
        if not env:
            raise PretrainedBuildError(
                "--record", f"{record_path}: its checkpoint records no environment"
            )
        log(
            f"evaluating {name} on {EPISODES} episodes of seed {EVAL_SEED} (greedy, sampled, oracle)"
        )
        manifest = {
            "name": name,
            "num_users": len(exported),
            "env": env,
            "format": {"dtype": DTYPE, "files": "user_<n>.dsaactor (dsa_pettingzoo.deploy)"},
            "trained_by": {
                "command": rerun_command(record),
                "commit": code.get("commit"),
                "clean_tree": code.get("dirty") is False,
                "row": record["row"],
                "setup": record["setup"],
                "seed": record["seed"],
                "budget": record["budget"],
                "iterations": record["iterations"],
                "record": record_label,
                "verify": f"python -m rllib_experiments verify {record_label}",
                "record_final_greedy": record.get("final_greedy"),
                "sparsity_all_params": record.get("sparsity_all"),
            },
            "built_by": f"python -m rllib_experiments pretrained --record {record_label} --name {name}",
            "evaluation": evaluate_set(folder, env),
            "files": {p.name: pretrained.sha256(p) for p in sorted(folder.glob("*.dsaactor"))},
        }
        write_text_atomic(folder / pretrained.MANIFEST, json.dumps(manifest, indent=2) + "\n")
        return manifest

    if not Path(into).is_dir():
        raise PretrainedBuildError(
            "--into",
            f"{into} is not a folder (the sets live in the package's dsa_pettingzoo/pretrained: "
            "run from the repository root, or name the folder)",
        )
    target = Path(into) / name
    try:
        manifest, moved = publish_folder(target, write, overwrite=overwrite)
    except (OutputExistsError, OSError) as err:
        raise PretrainedBuildError("--into", str(err)) from None
    if moved is not None:
        log(f"moved the old {target} aside to {moved}")
    ev = manifest["evaluation"]
    size = sum((target / f).stat().st_size for f in manifest["files"])
    log(
        f"{name}: {manifest['num_users']} actors, {size} bytes; greedy {ev['greedy']['oracle_ratio']:.4f}"
        f" / sampled {ev['sampled']['oracle_ratio']:.4f} of the oracle -> {target}"
    )
    return target
