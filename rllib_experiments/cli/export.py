"""``python -m rllib_experiments export``: write the actors of a checkpoint as compact sparse files
(or as ONNX models).

Usage::

    python -m rllib_experiments export --checkpoint runs/NAME/CHECKPOINT --output actors/
    python -m rllib_experiments export --checkpoint ... --output actors16/ --dtype float16
    python -m rllib_experiments export --checkpoint ... --output actors_onnx/ --format onnx

The export itself is :func:`rllib_experiments.run.export.export_checkpoint`; this module
parses the flags and names the flag of a bad value.
"""

from __future__ import annotations

import argparse
import json
import sys

from dsa_pettingzoo.deploy.format import DTYPES, ENCODINGS
from rllib_experiments.run.export import (
    CHECK_STEPS,
    FORMATS,
    ExportError,
    OnnxAgreementError,
    export_checkpoint,
)

#: export_checkpoint's arguments -> this command's flags.
FLAGS = {
    "checkpoint": "--checkpoint",
    "output": "--output",
    "dtype": "--dtype",
    "encoding": "--encoding",
    "env": "--env",
    "format": "--format",
    "check_steps": "--check-steps",
}


def build_parser() -> argparse.ArgumentParser:
    """Argument parser of ``python -m rllib_experiments export``."""
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments export",
        description="Write every user's actor of a checkpoint to OUTPUT/user_<n>.dsaactor, a "
        "compact sparse file that dsa_pettingzoo.deploy runs with numpy only, or with "
        "--format onnx to OUTPUT/user_<n>.onnx, a dense ONNX model of one slot "
        "(docs/deployment.md).",
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        help="Algorithm checkpoint directory (algo.save_to_path), its "
        "learner_group/learner/rl_module directory, one rl_module/user_<n> directory, "
        "or a run directory (its latest checkpoint, e.g. runs/NAME/checkpoints/iter_*)",
    )
    p.add_argument(
        "--output",
        required=True,
        help="new or empty folder for the actor files; it appears only once every file is written",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="sparse",
        help="sparse: the compact sparse files, the deployment format (default); onnx: one "
        "ONNX model of one slot per user, (obs, h, c) -> (logits, h', c'), dense float32 "
        "weights (needs the [onnx] extra: onnx, onnxruntime)",
    )
    p.add_argument(
        "--dtype",
        choices=DTYPES,
        default=None,
        help="storage type of the sparse files' weights (default float32; float16 halves "
        "the values; int8 quarters them, with one float32 scale per row)",
    )
    p.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default=None,
        help="matrix encoding of the sparse files: auto (smallest of dense / bitmask / csr "
        "per matrix; default) or force one",
    )
    p.add_argument(
        "--check-steps",
        type=int,
        metavar="N",
        default=None,
        help="--format onnx: before the folder appears, run each model in onnxruntime "
        "beside the torch actor for N slots per user in the training environment and "
        "require equal greedy actions and logits within the tolerance of docs/deployment.md "
        f"(default {CHECK_STEPS}; 0 skips)",
    )
    p.add_argument(
        "--env",
        metavar="JSON",
        help="environment settings the actors were trained on, as JSON kwargs of "
        "dsa_pettingzoo.parallel_env (default: read from the checkpoint)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="if OUTPUT holds an earlier export, move it aside to OUTPUT.old-<time> "
        "(nothing is deleted) once the new one is complete",
    )
    return p


def main(argv=None) -> int:
    """Entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env = None
    if args.env is not None:
        try:
            env = json.loads(args.env)
        except json.JSONDecodeError as err:
            parser.error(f"argument --env: not valid JSON ({err})")
        if not isinstance(env, dict):
            parser.error("argument --env: must be a JSON object of environment kwargs")
    # unset flags keep the library's defaults, so that a flag given with the wrong format is named
    given = {
        name: value
        for name, value in (
            ("dtype", args.dtype),
            ("encoding", args.encoding),
            ("check_steps", args.check_steps),
        )
        if value is not None
    }
    try:
        export_checkpoint(
            args.checkpoint,
            args.output,
            env=env,
            overwrite=args.overwrite,
            format=args.format,
            **given,
        )
    except ExportError as err:
        parser.error(f"argument {FLAGS[err.argument]}: {err}")
    except OnnxAgreementError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
