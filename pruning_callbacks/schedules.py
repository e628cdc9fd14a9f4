"""Sparsity schedules of Section III-D: pure functions of the training iteration i.

Eq. (10), the gradual pruning rule::

    p_i = 0                       if i < i_start
    p_i = p_final * sigma(i)      if i_start <= i < i_P
    p_i = p_final                 if i >= i_P   (the paper leaves this case implicit;
                                                  we hold the sparsity at p_final)

Eq. (11), the two classic shapes sigma::

    sigma_linear(i) = (i - i_start) / (i_P - i_start)
    sigma_poly(i)   = 1 - (1 - (i - i_start) / (i_P - i_start)) ** 3

Eqs. (12)-(14), harmonic annealing::

    p_i = min(max(b_i + c_i, p0), p_final)                                  (12)
    c_i = A * sin(2 pi i / P)            with A = 0.1, P = 200 in the paper (13)
    b_i = p_final + (p0 - p_final) / 2 * (1 + cos(pi (i - i_start) / (i_P - i_start)))  (14)

Iterations are counted from 0: i is the number of training iterations completed before
the one being scheduled (``Algorithm.iteration`` before ``train()``). All functions
accept a per-agent parameter as a scalar only; :func:`per_agent_schedules` spreads a
scalar, a dict keyed by agent id or a sequence in agent order over the agents.

Command line (prints one JSON object; ``--help`` lists every flag)::

    python -m pruning_callbacks.schedules --schedule harmonic --iterations 1000 \
        --final-sparsity 0.95 --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, Hashable, List, Mapping, Optional, Sequence

SCHEDULES = ("linear", "polynomial", "harmonic")
"""Names of the schedules: eq. (11) linear and cubic polynomial, eqs. (12)-(14) harmonic."""


def _progress(i: float, start: int, end: int) -> float:
    """(i - i_start) / (i_P - i_start), the argument shared by eqs. (11) and (14)."""
    return (i - start) / (end - start)


def sigma_linear(i: float, start: int, end: int) -> float:
    """Linear pruning schedule, eq. (11) left: (i - i_start) / (i_P - i_start)."""
    return _progress(i, start, end)


def sigma_polynomial(i: float, start: int, end: int, power: int = 3) -> float:
    """Polynomial pruning schedule, eq. (11) right: 1 - (1 - progress) ** power (power 3)."""
    return 1.0 - (1.0 - _progress(i, start, end)) ** power


def gradual_sparsity(
    i: float, *, final_sparsity: float, start: int, end: int, sigma: str = "linear"
) -> float:
    """Gradual pruning rule, eq. (10), with sigma "linear" or "polynomial" (eq. 11).

    0 before ``start`` (i_start), ``final_sparsity * sigma(i)`` for start <= i < end
    (i_P), and held at ``final_sparsity`` for i >= end: the paper leaves i >= i_P
    implicit, and holding the final target is the usual reading of [13].
    """
    if i < start:
        return 0.0
    if i >= end:
        return float(final_sparsity)
    if sigma == "linear":
        s = sigma_linear(i, start, end)
    elif sigma == "polynomial":
        s = sigma_polynomial(i, start, end)
    else:
        raise ValueError(f"sigma must be 'linear' or 'polynomial', got {sigma!r}")
    return float(final_sparsity) * s


def harmonic_oscillation(i: float, amplitude: float = 0.1, period: float = 200) -> float:
    """c_i = A sin(2 pi i / P), eq. (13); the paper uses A = 0.1 and P = 200."""
    return amplitude * math.sin(2.0 * math.pi * i / period)


def cosine_annealing(
    i: float, *, initial_sparsity: float, final_sparsity: float, start: int, end: int
) -> float:
    """b_i of eq. (14): cosine annealing from p0 at i_start to p_final at i_P.

    The progress (i - i_start)/(i_P - i_start) is clamped to [0, 1], so b_i = p0 before
    i_start and b_i = p_final from i_P on (eq. 14 itself is only meant for that range).
    """
    x = min(max(_progress(i, start, end), 0.0), 1.0)
    return final_sparsity + 0.5 * (initial_sparsity - final_sparsity) * (1.0 + math.cos(math.pi * x))


def harmonic_sparsity(
    i: float,
    *,
    final_sparsity: float,
    start: int,
    end: int,
    initial_sparsity: float = 0.0,
    amplitude: float = 0.1,
    period: float = 200,
) -> float:
    """Harmonic annealing sparsity, eq. (12): min(max(b_i + c_i, p0), p_final).

    b_i is :func:`cosine_annealing` (eq. 14) and c_i :func:`harmonic_oscillation`
    (eq. 13, with the absolute iteration i as in the paper). Before i_start the
    sparsity is p0 without oscillation (pruning has not begun, as in eq. 10). From i_P
    on, b_i = p_final and the oscillation goes on below p_final, clamped by eq. (12).
    """
    if i < start:
        return float(initial_sparsity)
    b = cosine_annealing(
        i, initial_sparsity=initial_sparsity, final_sparsity=final_sparsity, start=start, end=end
    )
    c = harmonic_oscillation(i, amplitude, period)
    return min(max(b + c, initial_sparsity), final_sparsity)  # eq. (12)


@dataclass(frozen=True)
class SparsitySchedule:
    """One agent's schedule: ``schedule(i)`` is its target sparsity p_i^n at iteration i.

    Fields:
        name: "linear" or "polynomial" (eqs. 10-11) or "harmonic" (eqs. 12-14).
        final_sparsity: p_final^n, in [0, 1).
        start: i_start, first iteration with pruning (>= 0).
        end: i_P, the iteration where the schedule reaches p_final (> start).
        initial_sparsity: p0^n (harmonic only; linear and polynomial start from 0).
        amplitude: A of eq. (13) (harmonic only), paper: 0.1.
        period: P of eq. (13) in iterations (harmonic only), paper: 200.
    """

    name: str = "harmonic"
    final_sparsity: float = 0.95
    start: int = 0
    end: int = 1000
    initial_sparsity: float = 0.0
    amplitude: float = 0.1
    period: float = 200.0

    def __post_init__(self) -> None:
        if self.name not in SCHEDULES:
            raise ValueError(f"schedule name must be one of {SCHEDULES}, got {self.name!r}")
        if not 0.0 <= self.final_sparsity < 1.0:
            raise ValueError(f"final_sparsity must be in [0, 1), got {self.final_sparsity!r}")
        if not 0.0 <= self.initial_sparsity <= self.final_sparsity:
            raise ValueError(
                "initial_sparsity must be in [0, final_sparsity], got "
                f"{self.initial_sparsity!r} (final_sparsity={self.final_sparsity!r})"
            )
        if self.name != "harmonic" and self.initial_sparsity != 0.0:
            raise ValueError(
                f"initial_sparsity is only used by the harmonic schedule; the {self.name} "
                "schedule (eq. 10) starts from 0"
            )
        if int(self.start) != self.start or self.start < 0:
            raise ValueError(f"start (i_start) must be an integer >= 0, got {self.start!r}")
        if int(self.end) != self.end or self.end <= self.start:
            raise ValueError(f"end (i_P) must be an integer > start={self.start}, got {self.end!r}")
        if self.amplitude < 0:
            raise ValueError(f"amplitude must be >= 0, got {self.amplitude!r}")
        if self.period <= 0:
            raise ValueError(f"period must be > 0, got {self.period!r}")

    def __call__(self, i: float) -> float:
        """Target sparsity p_i at training iteration i (0-based)."""
        if self.name == "harmonic":
            return harmonic_sparsity(
                i,
                final_sparsity=self.final_sparsity,
                start=self.start,
                end=self.end,
                initial_sparsity=self.initial_sparsity,
                amplitude=self.amplitude,
                period=self.period,
            )
        return gradual_sparsity(
            i, final_sparsity=self.final_sparsity, start=self.start, end=self.end, sigma=self.name
        )

    def values(self, iterations: int) -> List[float]:
        """[p_0, ..., p_{iterations-1}]."""
        return [self(i) for i in range(iterations)]

    def to_dict(self) -> Dict[str, Any]:
        """Plain dict of the fields (JSON- and config-friendly)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SparsitySchedule":
        """Inverse of :meth:`to_dict`; unknown keys raise a clear error."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown schedule keys {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**dict(d))


def _for_agent(value: Any, key: str, index: int, agent_id: Hashable, agent_ids: Sequence) -> Any:
    """Pick an agent's value from a scalar, a dict keyed by agent id, or a sequence."""
    if isinstance(value, Mapping):
        if agent_id not in value:
            raise ValueError(f"{key}: no value for agent {agent_id!r} (given for {sorted(map(str, value))})")
        return value[agent_id]
    if isinstance(value, (list, tuple)):
        if len(value) != len(agent_ids):
            raise ValueError(
                f"{key}: a sequence needs one value per agent ({len(agent_ids)}), got {len(value)}"
            )
        return value[index]
    return value


def per_agent_schedules(agent_ids: Sequence[Hashable], **params: Any) -> Dict[Hashable, SparsitySchedule]:
    """Build one :class:`SparsitySchedule` per agent.

    Every keyword is a :class:`SparsitySchedule` field; its value may be a scalar (same
    for all agents), a dict keyed by agent id, or a list/tuple in the order of
    ``agent_ids``. Example: ``per_agent_schedules(["a", "b"], name="harmonic",
    final_sparsity={"a": 0.95, "b": 0.8}, end=1000)``.
    """
    agent_ids = list(agent_ids)
    return {
        aid: SparsitySchedule(**{k: _for_agent(v, k, n, aid, agent_ids) for k, v in params.items()})
        for n, aid in enumerate(agent_ids)
    }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pruning_callbacks.schedules",
        description="Print a sparsity schedule p_i for i = 0 ... iterations-1 (eqs. 10-14).",
    )
    p.add_argument("--schedule", choices=SCHEDULES, required=True,
                   help="linear / polynomial (eqs. 10-11) or harmonic annealing (eqs. 12-14)")
    p.add_argument("--iterations", type=int, required=True, help="number of training iterations I_T (> 0)")
    p.add_argument("--final-sparsity", type=float, required=True, help="p_final in [0, 1)")
    p.add_argument("--initial-sparsity", type=float, default=0.0,
                   help="p0 of the harmonic schedule (default 0; must be 0 for linear/polynomial)")
    p.add_argument("--start", type=int, default=0, help="i_start, first pruning iteration (default 0)")
    p.add_argument("--end", type=int, default=None,
                   help="i_P, iteration where p_final is reached (default: --iterations)")
    p.add_argument("--amplitude", type=float, default=0.1, help="A of eq. (13), harmonic only (default 0.1)")
    p.add_argument("--period", type=float, default=200.0, help="P of eq. (13), harmonic only (default 200)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object {parameters..., 'sparsity': [...]} (default: one value a line)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python -m pruning_callbacks.schedules``."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.iterations <= 0:
        parser.error(f"--iterations must be > 0, got {args.iterations}")
    end = args.iterations if args.end is None else args.end
    try:
        schedule = SparsitySchedule(
            name=args.schedule,
            final_sparsity=args.final_sparsity,
            start=args.start,
            end=end,
            initial_sparsity=args.initial_sparsity,
            amplitude=args.amplitude,
            period=args.period,
        )
    except ValueError as e:
        parser.error(str(e))
    values = schedule.values(args.iterations)
    if args.json:
        print(json.dumps({"schedule": schedule.name, "iterations": args.iterations,
                          **{k: v for k, v in schedule.to_dict().items() if k != "name"},
                          "sparsity": values}))
    else:
        print("\n".join(f"{v:.6f}" for v in values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
