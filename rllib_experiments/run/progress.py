"""What a training run records per iteration: the progress.csv row and file, its console line,
TensorBoard.

:func:`progress_row` turns one ``Algorithm.train()`` result (plus the evaluation made after
it, if any) into a flat row; :func:`progress_columns` are the columns of progress.csv.
Rewards are in the paper's unit (``train_reward`` is the mean over users of their
episode return: the system throughput for the sum_rate reward).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from rllib_experiments.run.outputs import write_atomic

#: Columns of progress.csv before the per-user ones.
BASE_COLUMNS = (
    "iteration",
    "env_steps",
    "episodes",
    "time_s",
    "wall_time_s",
    "env_steps_per_s",
    "train_reward",
    "train_return",
    "mean_sparsity",
    "mean_target_sparsity",
    "policy_loss",
    "critic_loss",
    "entropy",
    "eval_stochastic_mean",
    "eval_stochastic_std",
    "eval_greedy_mean",
    "eval_greedy_std",
)


def mean(values) -> Optional[float]:
    """Mean of the values that are not None or NaN (None if there are none)."""
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(values)) if values else None


def progress_columns(agents: Sequence[str]) -> List[str]:
    return list(BASE_COLUMNS) + [f"sparsity_{a}" for a in agents] + [f"target_{a}" for a in agents]


def progress_row(
    i: int,
    result: Dict,
    agents: Sequence[str],
    *,
    pruned: bool,
    train_s: float,
    wall: float,
    evaluation: Optional[Dict[str, Dict]],
) -> Dict[str, Any]:
    """The progress row of iteration ``i`` (0-based) from its train() result."""
    # imports ray, torch: only when called
    from rllib_experiments.iagc.modules import CRITIC_ID

    runners = result.get("env_runners", {})
    learners = result.get("learners", {})
    steps = runners.get("num_env_steps_sampled")
    ret = runners.get("episode_return_mean")
    row = {
        "iteration": i,
        "env_steps": result.get("num_env_steps_sampled_lifetime"),
        "episodes": runners.get("num_episodes_lifetime"),
        "time_s": train_s,
        "wall_time_s": wall,
        "env_steps_per_s": (steps / train_s) if steps and train_s > 0 else None,
        "train_return": ret,
        "train_reward": (ret / len(agents)) if ret is not None else None,
        "policy_loss": mean([learners.get(a, {}).get("policy_loss") for a in agents]),
        "entropy": mean([learners.get(a, {}).get("entropy") for a in agents]),
        "critic_loss": learners.get(CRITIC_ID, {}).get("vf_loss"),
    }
    if pruned:
        for a in agents:
            row[f"sparsity_{a}"] = learners.get(a, {}).get("sparsity")
            row[f"target_{a}"] = learners.get(a, {}).get("target_sparsity")
        row["mean_sparsity"] = mean([row[f"sparsity_{a}"] for a in agents])
        row["mean_target_sparsity"] = mean([row[f"target_{a}"] for a in agents])
    else:
        row["mean_sparsity"] = row["mean_target_sparsity"] = 0.0
    if evaluation is not None:
        for mode, summary in evaluation.items():
            row[f"eval_{mode}_mean"] = summary["mean_reward"]
            row[f"eval_{mode}_std"] = summary["std_reward"]
    return {
        k: (float(v) if isinstance(v, (np.floating, np.integer)) else v) for k, v in row.items()
    }


def fmt_time(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def progress_line(row: Dict[str, Any], total: int, seconds_per_iter: float) -> str:
    """One console line: iteration, rewards, sparsity, speed, time left."""
    i = row["iteration"]
    left = (total - i - 1) * seconds_per_iter
    parts = [f"iter {i + 1:>{len(str(total))}}/{total}"]
    if row.get("train_reward") is not None:
        parts.append(f"reward {row['train_reward']:8.1f}")
    if row.get("eval_stochastic_mean") is not None:
        parts.append(
            f"eval {row['eval_stochastic_mean']:.1f} (greedy {row['eval_greedy_mean']:.1f})"
        )
    parts.append(f"sparsity {row['mean_sparsity']:.3f}/{row['mean_target_sparsity']:.3f}")
    if row.get("env_steps_per_s") is not None:
        parts.append(f"{row['env_steps_per_s']:6.0f} env steps/s")
    parts.append(f"ETA {fmt_time(left)}")
    return " | ".join(parts)


def tensorboard_log(writer, row: Dict[str, Any]) -> None:
    """Every numeric value of the row, grouped eval/ sparsity/ train/, step = iteration."""
    i = row["iteration"]
    for key, value in row.items():
        if key == "iteration" or value is None or isinstance(value, str):
            continue
        group = (
            "eval"
            if key.startswith("eval_")
            else (
                "sparsity"
                if key.startswith(("sparsity_", "target_", "mean_sparsity", "mean_target"))
                else "train"
            )
        )
        writer.add_scalar(f"{group}/{key}", value, i)


# ------------------------------------------------------------------ progress.csv
class ProgressWriter:
    """Appends one row per iteration to progress.csv and flushes it.

    The columns are fixed by the first row written (or read from an existing
    file's header when continuing); later rows may leave columns empty.
    """

    def __init__(self, path: Path, columns: Sequence[str]):
        self.path = Path(path)
        self.columns = list(columns)
        new = not self.path.exists() or self.path.stat().st_size == 0
        if not new:  # continuing a file: keep its header (columns of older code stay aligned)
            header, _ = read_progress(self.path)
            self.columns = header or self.columns
        self._file = open(self.path, "a", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=self.columns, extrasaction="ignore")
        if new:
            self._writer.writeheader()
            self._file.flush()

    def write(self, row: Dict[str, Any]) -> None:
        self._writer.writerow({k: _csv_value(row.get(k)) for k in self.columns})
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def read_progress(path: Path) -> tuple:
    """(header, rows) of a progress.csv; a half-written last line is dropped."""
    path = Path(path)
    if not path.exists():
        return [], []
    with open(path, newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # the last row was being written when the run died
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    rows = [r for r in reader if len(r) == len(header) and None not in r.values()]
    return header, rows


def truncate_progress(path: Path, iterations_done: int) -> tuple:
    """Keep exactly the rows of iterations 0..iterations_done-1 (atomically); returns (header, rows)."""
    header, rows = read_progress(path)
    kept = [
        r
        for r in rows
        if r.get("iteration", "").isdigit() and int(r["iteration"]) < iterations_done
    ]
    seen = [int(r["iteration"]) for r in kept]
    if seen != list(range(iterations_done)):
        raise RuntimeError(
            f"{path} does not hold iterations 0..{iterations_done - 1} exactly once "
            f"(found {len(seen)} rows); refusing to resume over it"
        )

    def write(f):
        if header:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(kept)

    write_atomic(Path(path), write, newline="")
    return header, kept
