"""``python -m dsa_pettingzoo study``: the experiments behind the multi-player bandit rows of
docs/baselines.md (:mod:`dsa_pettingzoo.baselines.study`).

    python -m dsa_pettingzoo study tune       # parameter grids on the tuning seeds
    python -m dsa_pettingzoo study horizon    # reward / oracle for T = 100, 1000, 10000
    python -m dsa_pettingzoo study paper      # the papers' own settings, regret vs T
    python -m dsa_pettingzoo study figure     # Besson and Kaufmann's K = 9, M = 6 figure
"""

from __future__ import annotations

import argparse
import json

from ..baselines.study import figure_study, horizon_study, paper_study, tune


def _table(rows: list[dict], columns: list[str]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dsa_pettingzoo study",
        description="Tuning, horizon and paper-setting runs of the "
        "multi-player bandit baselines (docs/baselines.md).",
    )
    parser.add_argument(
        "study",
        choices=("tune", "horizon", "paper", "figure"),
        help="tune: the parameter grids on the tuning seeds; horizon: reward / "
        "oracle for T in 100, 1000, 10000; paper: regret in the papers' settings; "
        "figure: Besson and Kaufmann's K = 9, M = 6 regret curve, ours next to "
        "the values read off their figure",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.study == "tune":
        rows, columns = tune(), ["policy", "params", "A", "B", "A+B", "A_N5", "A_N3"]
    elif args.study == "horizon":
        rows, columns = (
            horizon_study(),
            ["setting", "horizon", "episodes", "policy", "mean_reward", "ratio"],
        )
    elif args.study == "paper":
        rows, columns = (
            paper_study(),
            ["setting", "horizon", "episodes", "policy", "params", "regret", "ratio_to_best_fixed"],
        )
    else:
        rows, columns = (
            figure_study(),
            ["setting", "policy", "t", "episodes", "regret", "sem", "paper_figure"],
        )
    print(json.dumps(rows) if args.json else _table(rows, columns))
    return 0
