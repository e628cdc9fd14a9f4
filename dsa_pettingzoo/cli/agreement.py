"""``python -m dsa_pettingzoo agreement``: greedy-action agreement of two exports of the same actors.

    python -m dsa_pettingzoo agreement --reference actors32/ --candidate actors8/ --steps 10000

Prints the fraction of agreeing (step, user) pairs, per user and overall
(:func:`dsa_pettingzoo.deploy.agreement.agreement`). ``--record FILE.npy --user N`` also saves
user N's observations [steps, obs_dim] (for ``python -m dsa_pettingzoo mcu --observations``).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..deploy.agreement import agreement
from ..files import write_atomic
from .arg_types import int_at_least


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m dsa_pettingzoo agreement", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--reference", required=True, help="directory of exported actors that play")
    p.add_argument(
        "--candidate", required=True, help="directory of the same actors, exported otherwise"
    )
    p.add_argument("--steps", type=int, default=10_000, help="environment slots (default 10000)")
    p.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of the first episode (then +1 each)"
    )
    p.add_argument("--record", metavar="FILE.npy", help="save user --user's observations here")
    p.add_argument(
        "--user", type=int_at_least(0), default=0, help="the user whose observations --record saves"
    )
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error(f"argument --steps: must be >= 1, got {args.steps}")
    try:
        result = agreement(args.reference, args.candidate, args.steps, args.seed, args.user)
    except ValueError as err:
        p.error(str(err))
    obs = result.pop("observations")
    if args.record:  # np.save's name: .npy added when missing
        record = args.record if args.record.endswith(".npy") else args.record + ".npy"
        write_atomic(record, lambda f: np.save(f, obs), binary=True)
    print(json.dumps(result))
    return 0
