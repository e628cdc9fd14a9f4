"""``python -m pruning_callbacks schedules``: print a schedule p_0 ... p_{iterations-1}.

The flags are the registered schedules' parameters (``--final-sparsity`` for
``final_sparsity``), so a new schedule's parameters appear here without an edit. A flag
the chosen schedule does not take is an error; ``--end`` (i_P) defaults to
``--iterations``.
"""

from __future__ import annotations

import argparse
import json
from typing import Dict, List, Optional, Sequence

from pruning_callbacks.schedules.registry import SCHEDULES, make_schedule


def _all_parameters() -> Dict[str, List]:
    """Parameter name -> [Parameter of its first schedule, names of all schedules using it]."""
    out: Dict[str, List] = {}
    for name in sorted(SCHEDULES):
        for p in SCHEDULES[name].parameters():
            out.setdefault(p.name, [p, []])[1].append(name)
    return out


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pruning_callbacks schedules",
        description="Print a sparsity schedule p_i for i = 0 ... iterations-1 (eqs. 10-14).",
    )
    p.add_argument(
        "--schedule",
        choices=sorted(SCHEDULES),
        required=True,
        help="linear / polynomial (eqs. 10-11), harmonic annealing (eqs. 12-14), ...",
    )
    p.add_argument(
        "--iterations", type=int, required=True, help="number of training iterations I_T (> 0)"
    )
    for name, (param, users) in _all_parameters().items():
        default = "--iterations" if name == "end" else param.default
        p.add_argument(
            _flag(name),
            dest=name,
            type=param.type,
            default=None,
            help=f"{param.doc} [{', '.join(users)}; default {default}]",
        )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object {parameters..., 'sparsity': [...]} (default: one value a line)",
    )
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m pruning_callbacks schedules``."""
    parser = _parser()
    args = vars(parser.parse_args(argv))
    name, iterations, as_json = args.pop("schedule"), args.pop("iterations"), args.pop("json")
    if iterations <= 0:
        parser.error(f"--iterations must be > 0, got {iterations}")
    params = {k: v for k, v in args.items() if v is not None}
    if "end" not in params and any(p.name == "end" for p in SCHEDULES[name].parameters()):
        params["end"] = iterations
    try:
        schedule = make_schedule(name, **params)
    except ValueError as e:
        parser.error(str(e))
    values = schedule.values(iterations)
    if as_json:
        print(
            json.dumps(
                {
                    "schedule": name,
                    "iterations": iterations,
                    **schedule.params(),
                    "sparsity": values,
                }
            )
        )
    else:
        print("\n".join(f"{v:.6f}" for v in values))
    return 0
