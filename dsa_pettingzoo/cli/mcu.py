"""``python -m dsa_pettingzoo mcu``: firmware flash, RAM and QEMU equality per actor.

For each sparsity (default 0, 0.95, 0.99) and dtype (float32, int8) it writes an
actor of the paper's architecture (random weights drawn like torch's init, or
the weights of ``--actor FILE``), each weight matrix magnitude-pruned to the
sparsity, builds the firmware, runs it under QEMU over the same recorded
observations as the numpy runtime and prints one row per build (``--json``:
``{"builds": [...], "targets": {...}}``). What is measured:
:mod:`dsa_pettingzoo.deploy.mcu.report`.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from ..deploy.actor_speed import PAPER_ARCH, observation_sequence
from .arg_types import int_at_least
from ..deploy.format import ActorFileError, read_actor_file
from ..deploy.mcu.build import FirmwareError, missing_tools
from ..deploy.mcu.report import firmware_builds, firmware_report


def _read_observations(p, path: str, steps: int, obs_dim: int) -> np.ndarray:
    """The first ``steps`` rows of the observations file, checked (errors name the flags)."""
    try:
        obs = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        p.error(f"argument --observations: cannot read {path} ({err})")
    if obs.ndim != 2 or obs.shape[1] != obs_dim:
        p.error(
            f"argument --observations: {path} holds shape {obs.shape}, expected (steps, {obs_dim})"
        )
    if len(obs) < steps:
        p.error(
            f"argument --observations: {path} holds {len(obs)} observations, fewer than "
            f"--steps {steps}; record more or pass --steps {len(obs)}"
        )
    try:
        obs = obs[:steps].astype(np.float32)
    except (TypeError, ValueError) as err:
        p.error(f"argument --observations: {path} does not hold numbers ({err})")
    bad = np.argwhere(~np.isfinite(obs))
    if len(bad):
        step, i = (int(v) for v in bad[0])
        p.error(
            f"argument --observations: {path} holds {len(bad)} non-finite values in its "
            f"first {steps} steps (step {step}, element {i}: {obs[step, i]}); observations "
            "must be finite numbers"
        )
    return obs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m dsa_pettingzoo mcu", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--actor",
        help="a .dsaactor file whose weights are pruned to each sparsity "
        "(default: random weights of the paper's architecture)",
    )
    p.add_argument("--sparsities", type=float, nargs="+", default=[0.0, 0.95, 0.99])
    p.add_argument("--dtypes", nargs="+", choices=["float32", "int8"], default=["float32", "int8"])
    p.add_argument(
        "--steps",
        type=int_at_least(1),
        default=1000,
        help="recorded observations (default 1000); an --observations file must hold as many",
    )
    p.add_argument(
        "--observations",
        metavar="FILE.npy",
        help="the recorded observations [steps, obs_dim] to use (e.g. from "
        "python -m dsa_pettingzoo agreement --record); default: random one-hot "
        "(action, feedback) pairs; the first --steps are used",
    )
    p.add_argument(
        "--reset-every",
        type=int_at_least(1),
        default=100,
        help="zero the LSTM state every this many steps (an episode; default 100)",
    )
    p.add_argument(
        "--seed",
        type=int_at_least(0),
        default=0,
        help="seed of the random weights and observations (an integer >= 0; default 0)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if any(not 0.0 <= s < 1.0 for s in args.sparsities):
        p.error(f"argument --sparsities: each must be in [0, 1), got {args.sparsities}")
    rng = np.random.default_rng(args.seed)
    arch, base = PAPER_ARCH, None
    if args.actor:
        try:
            _, arch, base = read_actor_file(args.actor)
        except ActorFileError as err:
            p.error(f"argument --actor: {err}")
    if args.observations:
        obs = _read_observations(p, args.observations, args.steps, arch.obs_dim)
    else:
        obs = observation_sequence(arch, args.steps, rng)
    reason = missing_tools()  # after the inputs: a bad flag is named on any machine
    if reason:
        print(f"cannot build the firmware: {reason}", file=sys.stderr)
        return 2
    try:
        builds = firmware_builds(
            arch, base, obs, args.sparsities, args.dtypes, args.reset_every, rng
        )
    except FirmwareError as err:
        print(err, file=sys.stderr)
        return 1
    report = firmware_report(
        builds,
        actor=args.actor or f"random (paper architecture, torch init, seed {args.seed})",
        observations=args.observations or "random one-hot (action, feedback)",
        steps=len(obs),
    )
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(
        f"{'sparsity':>8} {'dtype':>7} {'actor B':>8} {'% dense':>7} {'flash B':>8} "
        f"{'RAM B':>6} {'stack':>5}  actions equal  logits bit-identical"
    )
    for b in builds:
        print(
            f"{b['sparsity']:8.3f} {b['dtype']:>7} {b['actor_bytes']:8d} "
            f"{100 * b['actor_bytes'] / b['dense_float32_bytes']:6.2f}% {b['flash_bytes']:8d} "
            f"{b['ram_bytes']:6d} {b['stack_bytes']:5d}  {str(b['qemu_actions_equal']):>13}  "
            f"{b['logits_bit_identical_to'] or 'no'}"
        )
    for key, t in report["targets"].items():
        print(
            f"target {key} {t['target']}: {t['value']} (limit {t['limit']}) -> "
            f"{'met' if t['met'] else 'NOT met'}, margin {t['margin_bytes']} B"
        )
    print(report["cycles_note"])
    return 0
