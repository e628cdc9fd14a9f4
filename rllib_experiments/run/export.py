"""Export the trained (pruned) actors of a checkpoint to compact sparse files that run without torch.

The command is ``python -m rllib_experiments export`` (:mod:`rllib_experiments.cli.export`).
``checkpoint`` is an Algorithm checkpoint directory (``algo.save_to_path``),
a MultiRLModule directory (``.../learner_group/learner/rl_module``), one
RLModule directory (``.../rl_module/user_0``), or a run directory holding
checkpoints (the last one in name order is used, e.g. ``checkpoints/iter_000150``). Every actor module ``user_<n>``
found (the learner's copy; the shared critic is never exported) is written to
``OUTPUT/user_<n>.dsaactor`` in the format of
:mod:`dsa_pettingzoo.deploy.format` (docs/deployment.md), with the environment
settings of the training run when the checkpoint holds them (or ``env``).
``output`` must be new or empty (``overwrite`` moves an earlier export aside);
it appears only once every file is written, and every file's header carries the
same ``system`` entry (a fresh ``run_id`` and N) so that a folder mixed from two
exports is refused when loaded (:mod:`dsa_pettingzoo.deploy.system`).

``format="onnx"`` writes ``OUTPUT/user_<n>.onnx`` instead: each actor as an ONNX model of
one slot with dense float32 weights (:mod:`rllib_experiments.dsa.actor_onnx`; needs the
``[onnx]`` extra), checked against the torch actor in onnxruntime over ``check_steps`` slots
per user before the folder appears.

In Python, :func:`export_actor` writes one actor from an in-memory
:class:`~rllib_experiments.iagc.modules.IAGCActor` or its state dict.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from dsa_pettingzoo import make_config
from dsa_pettingzoo.deploy.format import SUFFIX
from rllib_experiments.run.checkpoints import (
    find_actor_modules,
    find_env_config,
    is_module_dir,
    load_module_state,
    resolve_checkpoint,
)
from rllib_experiments.run.outputs import OutputExistsError, publish_folder
from rllib_experiments.dsa.actor_files import (
    architecture_of,
    env_settings,
    export_actor,
    user_index,
)


#: The export formats: the sparse actor files (the deployment format) and ONNX.
FORMATS = ("sparse", "onnx")
#: File name ending of each format's actor files.
FORMAT_SUFFIXES = {"sparse": SUFFIX, "onnx": ".onnx"}
#: Slots per user that onnxruntime is checked against the torch actor (format onnx).
CHECK_STEPS = 10_000


class OnnxAgreementError(RuntimeError):
    """The ONNX models and the torch actors disagree (greedy actions, or logits beyond the
    tolerance of :func:`rllib_experiments.dsa.actor_onnx.check_onnx_agreement`)."""


class ExportError(ValueError):
    """A bad export request; ``argument`` names the argument of :func:`export_checkpoint` at
    fault ("checkpoint", "output", "dtype", "encoding", "env", "format" or "check_steps"), so
    a command can name its own flag."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument


@contextmanager
def _blame(argument: str):
    """Re-raise a ValueError of the block as an :class:`ExportError` of ``argument``."""
    try:
        yield
    except ExportError:
        raise
    except ValueError as err:
        raise ExportError(argument, str(err)) from err


def _not_an_export(folder: Path) -> Optional[str]:
    """Why ``--overwrite`` must not move ``folder`` aside (None: it holds only actor files,
    of either format)."""
    suffixes = tuple(FORMAT_SUFFIXES.values())
    other = sorted(
        p.name for p in folder.iterdir() if not (p.is_file() and p.name.endswith(suffixes))
    )
    if other:
        return (
            f"it holds {', '.join(other[:3])}{', ...' if len(other) > 3 else ''}, not only "
            f"{' or '.join('*' + x for x in suffixes)} files, so it is not an export folder; "
            "choose another --output"
        )
    return None


def _onnx_module():
    """:mod:`rllib_experiments.dsa.actor_onnx`, or an :class:`ExportError` of ``format`` naming
    the missing package of the ``[onnx]`` extra."""
    try:
        # imports torch, onnx and onnxruntime: only for format="onnx"
        from rllib_experiments.dsa import actor_onnx
    except ModuleNotFoundError as err:
        if err.name not in ("onnx", "onnxruntime", "torch"):
            raise
        raise ExportError(
            "format",
            f"onnx needs the packages onnx and onnxruntime and {err.name} is not installed: "
            "pip install 'dsa-pettingzoo[onnx]' (or use the default format, sparse)",
        ) from None
    return actor_onnx


def _check_request(fmt, dtype, encoding, check_steps) -> None:
    """Refuse options that the chosen format does not have (ExportError naming the option)."""
    if fmt not in FORMATS:
        raise ExportError("format", f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        if dtype != "float32":
            raise ExportError(
                "dtype",
                f"{dtype} applies to the sparse files only: format onnx writes dense float32 "
                "weights",
            )
        if encoding != "auto":
            raise ExportError(
                "encoding",
                f"{encoding} applies to the sparse files only: format onnx writes dense weights",
            )
        if check_steps is not None and (
            isinstance(check_steps, bool) or not isinstance(check_steps, int) or check_steps < 0
        ):
            raise ExportError(
                "check_steps", f"must be an integer >= 0 (0 skips the check), got {check_steps!r}"
            )
    elif check_steps is not None:
        raise ExportError(
            "check_steps",
            "the onnxruntime check is for format onnx only (the sparse files' runtime is "
            "checked by tests/test_export.py)",
        )


def export_checkpoint(
    checkpoint,
    output,
    *,
    dtype: str = "float32",
    encoding: str = "auto",
    env: Optional[Mapping[str, Any]] = None,
    overwrite: bool = False,
    format: str = "sparse",
    check_steps: Optional[int] = None,
    log=print,
    source_label: Optional[str] = None,
    run_id: Optional[str] = None,
) -> Dict[str, Tuple[Path, Dict[str, Any]]]:
    """Export every actor of a checkpoint into the new folder ``output``; module id -> (file, header).

    ``format``: "sparse" (``user_<n>.dsaactor``, :mod:`dsa_pettingzoo.deploy.format`) or
    "onnx" (``user_<n>.onnx``, :func:`rllib_experiments.dsa.actor_onnx.export_onnx`; the
    "header" is the model's metadata; ``dtype`` and ``encoding`` keep their defaults).
    ``check_steps`` (onnx only; None: :data:`CHECK_STEPS`, 0: no check): slots per user that onnxruntime
    is run against the torch actor in the recorded environment
    (:func:`~rllib_experiments.dsa.actor_onnx.check_onnx_agreement`); a disagreement raises
    :class:`OnnxAgreementError` and writes nothing.

    ``checkpoint`` may also be a run directory: its latest checkpoint is used (and named).
    ``output`` must not exist or be empty; ``overwrite`` moves an existing folder of actor
    files aside (:func:`rllib_experiments.run.outputs.move_aside`). The files are written
    into a temporary sibling folder renamed to ``output`` only once all are written, so a
    failed export leaves nothing behind. Every header gets the same ``system`` entry (a
    new ``run_id`` and N; :mod:`dsa_pettingzoo.deploy.system`). Raises
    :class:`ExportError` naming the option at fault.

    The headers' ``source`` names the checkpoint by its absolute path, or by ``source_label``
    (files meant to be committed must hold no path of a machine), and ``run_id`` replaces the
    fresh random one (files rebuilt from the same checkpoint are then the same bytes).
    """
    _check_request(format, dtype, encoding, check_steps)
    actor_onnx = _onnx_module() if format == "onnx" else None
    if actor_onnx is not None and check_steps is None:
        check_steps = CHECK_STEPS
    given_env = env is not None
    with _blame("checkpoint"):
        resolved = resolve_checkpoint(checkpoint)
        if resolved != Path(checkpoint):
            log(f"using the latest checkpoint below {checkpoint}: {resolved}")
        checkpoint = resolved
        modules = find_actor_modules(checkpoint)
        states = {mid: load_module_state(mdir) for mid, mdir in modules.items()}
        archs = {mid: architecture_of(state) for mid, state in states.items()}
    recorded = find_env_config(checkpoint)
    if env is None:
        env = recorded
        if env is None:
            log(
                "warning: no environment settings found in the checkpoint (pass env=..., --env on the command line); "
                "the files' env field is null"
            )
    with _blame("env" if given_env else "checkpoint"):
        for arch in archs.values():
            env_settings(env, arch)
        num_users = _system_size(modules, checkpoint, env, log)
    if given_env and recorded is not None:
        with _blame("checkpoint"):
            conflicts = env_conflicts(env, recorded)
        if conflicts:
            raise ExportError(
                "env",
                f"contradicts the environment {checkpoint} was trained in "
                f"({'; '.join(conflicts)}); the files would carry a wrong label: leave the "
                "environment out (it is read from the checkpoint)",
            )
    if check_steps and env is None:
        raise ExportError(
            "env",
            "the onnxruntime check plays the environment the actors were trained in and the "
            "checkpoint does not record it: give it, or skip the check with 0 check steps",
        )
    system = {"run_id": run_id or uuid.uuid4().hex, "num_users": num_users}
    suffix = FORMAT_SUFFIXES[format]
    source = source_label or str(Path(checkpoint).resolve())

    def module_source(mdir: Path) -> str:
        if source_label is None:
            return str(mdir.resolve())
        return f"{source_label}/{mdir.resolve().relative_to(Path(checkpoint).resolve()).as_posix()}"

    def write(folder: Path):
        headers = {}
        for mid, mdir in modules.items():
            where = {
                "checkpoint": source,
                "module_dir": module_source(mdir),
                "exporter": "rllib_experiments.run.export",
            }
            path = folder / f"{mid}{suffix}"
            if actor_onnx is not None:
                headers[mid] = actor_onnx.export_onnx(
                    states[mid], path, agent=mid, env=env, system=system, source=where
                )
                continue
            with _blame("dtype"):  # float16 cannot hold every float32 weight
                headers[mid] = export_actor(
                    states[mid],
                    archs[mid],
                    path,
                    dtype=dtype,
                    encoding=encoding,
                    agent=mid,
                    env=env,
                    system=system,
                    source=where,
                )
        if actor_onnx is not None and check_steps:
            paths = {mid: folder / f"{mid}{suffix}" for mid in modules}
            report = actor_onnx.check_onnx_agreement(paths, states, env, steps=check_steps)
            verdict = (
                f"onnxruntime vs torch over {report['steps']} slots per user: "
                f"{report['greedy_mismatches']} greedy actions differ, largest |logit "
                f"difference| {report['max_abs_logit_diff']:.2e} (tolerance "
                f"{report['tolerance']:.0e})"
            )
            if not report["ok"]:
                raise OnnxAgreementError(f"{verdict}; nothing written")
            log(verdict)
        return headers

    output = Path(output)
    try:
        headers, moved = publish_folder(
            output, write, overwrite=overwrite, refuse_overwrite=_not_an_export
        )
    except OutputExistsError as err:
        raise ExportError("output", str(err)) from None
    except OSError as err:
        raise ExportError("output", f"{output}: cannot write the export ({err})") from None
    if moved is not None:
        log(f"moved the old {output} aside to {moved}")
    done = {}
    for mid, header in headers.items():
        path = output / f"{mid}{suffix}"
        size = path.stat().st_size
        sp = header["sparsity"]
        if actor_onnx is not None:
            log(
                f"{mid}: {100 * sp['prunable']:.1f}% of weights zero, stored dense in ONNX "
                f"(opset {header['opset']}): {size} bytes -> {path}"
            )
        else:
            log(
                f"{mid}: {100 * sp['prunable']:.1f}% of weights zero, {size} bytes "
                f"({100 * size / header['dense_float32_bytes']:.1f}% of the dense float32 "
                f"{header['dense_float32_bytes']} bytes) -> {path}"
            )
        done[mid] = (path, header)
    log(f"run_id {system['run_id']}: {len(done)} of N = {num_users} users")
    return done


def env_conflicts(given: Mapping[str, Any], recorded: Mapping[str, Any]) -> list:
    """Settings on which two environment descriptions disagree, as ``"KEY: given X,
    checkpoint Y"`` lines (each description completed by its setup's preset; the setup's
    name compared where both give one)."""
    ca, cb = make_config(**dict(given)), make_config(**dict(recorded))
    a, b = ca.to_kwargs(), cb.to_kwargs()
    if ca.setup is not None and cb.setup is not None:
        a["setup"], b["setup"] = ca.setup, cb.setup
    return [
        f"{key}: given {a.get(key)!r}, checkpoint {b.get(key)!r}"
        for key in sorted(set(a) | set(b))
        if key != "render_mode" and repr(a.get(key)) != repr(b.get(key))
    ]


def _system_size(modules, checkpoint, env, log) -> Optional[int]:
    """N of the exported system: every user of a checkpoint, or the env's N for one module."""
    indices = [user_index(mid) for mid in modules]
    env_n = None if env is None else make_config(**dict(env)).num_users
    if len(modules) == 1 and is_module_dir(Path(checkpoint)):
        n = indices[0]
        if env_n is not None and n >= env_n:
            raise ValueError(
                f"{checkpoint}: actor of user {n} but the environment has num_users={env_n}"
            )
        log(
            f"one actor of {env_n if env_n else 'an unknown number of'} users: run it with "
            "load_policy; load_actors needs every user's file in one folder"
        )
        return env_n
    if indices != list(range(len(indices))):
        raise ValueError(
            f"{checkpoint}: actor modules {', '.join(modules)} are not "
            f"user_0 .. user_{len(indices) - 1}"
        )
    if env_n is not None and env_n != len(indices):
        raise ValueError(
            f"the environment settings say num_users={env_n} but {checkpoint} "
            f"holds {len(indices)} actors ({', '.join(modules)})"
        )
    return len(indices)
