"""Rerun trial records and say whether the rerun gives the recorded numbers
(``python -m rllib_experiments verify RECORD.json ...``).

Each record (:mod:`rllib_experiments.studies.common.records`) is rerun in a folder of its own
exactly as its study ran it: the same row, setup, seed and budget through the study's trial
function (:class:`Study`: a record with ``num_users`` is the scale study's, any other a row
trial of reproduce or the pruning study), so a learning row trains again from its seed and a
baseline is evaluated again. Then :func:`first_difference` compares, in the order they were
made, every training row of the record's ``trace`` and every point of its evaluation curve,
then the final figures (a baseline: its reward and the environment it was evaluated in), and
names the first figure that differs. Floats are compared exactly: on the CPU kind that made
the record and at its commit a rerun is bit-identical (exact resume: docs/training.md); the
warnings of :func:`provenance_warnings` say beforehand when the commit, the tree, the CPU or
the library versions differ from the record's, where last-bit differences are expected.

``limit`` (``--iterations-limit K``) reruns a learning record only up to its first evaluation
at or after K iterations, with the record's settings unchanged (the schedules depend on the
planned iterations, not on where the run stops), and compares what lies at or before K.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from rllib_experiments.methods import get_row
from rllib_experiments.run.provenance import code_version, cpu_model, versions
from rllib_experiments.studies.common.records import NotARecordError, load_record

# rllib_experiments.studies.common.trials (the trials) imports torch: imported where needed.

#: Figures of an evaluation-curve point compared, in this order.
CURVE_FIGURES = (
    "reward",
    "reward_stochastic",
    "reward_greedy",
    "reward_stochastic_std",
    "reward_greedy_std",
    "sparsity_prunable",
    "sparsity_all",
    "num_params_per_actor",
    "episodes",
)
#: Final figures of a learning record compared, in this order.
LEARNING_FINALS = (
    "final_reward",
    "final_reward_std",
    "final_stochastic",
    "final_greedy",
    "sparsity_prunable",
    "sparsity_all",
    "num_params_per_actor",
    "iterations",
    "episodes_trained",
)
#: Final figures of a baseline record compared, in this order.
BASELINE_FINALS = ("final_reward", "final_reward_std", "env_kwargs")
#: Record kinds verify reruns (a transfer record re-evaluates another record's actors).
RERUN_KINDS = ("learning", "baseline")


@dataclass(frozen=True)
class Study:
    """How one study's records rerun.

    ``budgets``: budget name -> budget, for older records that hold only the name;
    ``run_trial``: the study's trial function
    (:data:`~rllib_experiments.studies.common.runner.TrialFunction`);
    ``trial_budget(budget, record)``: the budget the trial's settings are built from (the
    scale study's budget at the record's N); ``keys``: the record fields naming the trial.
    """

    budgets: Mapping[str, Dict[str, Any]]
    run_trial: Callable[..., Dict[str, Any]]
    trial_budget: Callable[[Dict[str, Any], Dict[str, Any]], Dict[str, Any]] = field(
        default=lambda budget, record: budget
    )
    keys: Tuple[str, ...] = ("row", "setup", "seed")


@dataclass
class Difference:
    """The first figure a rerun gives otherwise: at ``iteration`` (None: a final figure)."""

    figure: str
    recorded: Any
    rerun: Any
    iteration: Optional[int] = None

    def __str__(self) -> str:
        where = f"at iteration {self.iteration}" if self.iteration is not None else "in"
        a, b = _shown(self.recorded, self.rerun)
        return f"differs {where}: {self.figure} {a} (record) vs {b} (rerun)"


@dataclass
class Outcome:
    """One record verified: its path, trial id, the warnings, the first difference (None:
    equal), the rerun's record and the iterations compared (None: the whole record)."""

    path: Path
    trial: str
    warnings: List[str]
    difference: Optional[Difference]
    rerun: Dict[str, Any]
    limit: Optional[int] = None

    @property
    def equal(self) -> bool:
        return self.difference is None

    def line(self) -> str:
        if self.difference is not None:
            return f"{self.trial}: {self.difference}"
        return f"{self.trial}: equal" + (
            f" (iterations 0-{self.limit})" if self.limit is not None else ""
        )


def _shown(a, b) -> Tuple[str, str]:
    """Two differing values as text that shows they differ (short when that suffices)."""
    if isinstance(a, float) and isinstance(b, float):
        short = (f"{a:.1f}", f"{b:.1f}")
        if short[0] != short[1]:
            return short
        return repr(a), repr(b)
    return json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True)


def _same(a, b) -> bool:
    """Exactly equal, as JSON holds them (tuples are lists; NaN equals NaN)."""
    a, b = json.loads(json.dumps(a)), json.loads(json.dumps(b))
    return a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


# ----------------------------------------------------------------------------- comparing
def first_difference(
    record: Dict[str, Any], rerun: Dict[str, Any], limit: Optional[int] = None
) -> Optional[Difference]:
    """The first figure of ``record`` that ``rerun`` gives otherwise, or None (module doc).
    With ``limit``, only training rows and curve points at or before that many iterations,
    and no final figures unless the limit covers the whole run."""
    if record.get("kind") == "baseline":
        return next(_final_differences(record, rerun, BASELINE_FINALS), None)
    found = list(_trace_differences(record, rerun, limit)) + list(
        _curve_differences(record, rerun, limit)
    )
    if found:
        return min(found, key=lambda d: d.iteration)
    if limit is not None and limit < int(record.get("iterations") or 0):
        return None
    return next(_final_differences(record, rerun, LEARNING_FINALS), None)


def _trace_differences(record, rerun, limit) -> Iterable[Difference]:
    """The first differing training row of each trace column (row i: after i + 1 iterations)."""
    theirs = rerun.get("trace") or {}
    for column, values in (record.get("trace") or {}).items():
        again = theirs.get(column, [])
        for i, value in enumerate(values):
            if limit is not None and i + 1 > limit:
                break
            if i >= len(again):
                yield Difference(f"training {column}", value, "no row", i + 1)
                break
            if not _same(value, again[i]):
                yield Difference(f"training {column}", value, again[i], i + 1)
                break


def _curve_differences(record, rerun, limit) -> Iterable[Difference]:
    points = {p["iteration"]: p for p in rerun.get("curve", [])}
    for point in record.get("curve", []):
        i = point["iteration"]
        if limit is not None and i > limit:
            break
        again = points.get(i)
        if again is None:
            yield Difference("evaluation", "a point", "none", i)
            return
        for figure in CURVE_FIGURES:
            if figure in point and not _same(point[figure], again.get(figure)):
                yield Difference(figure, point[figure], again.get(figure), i)
                return


def _final_differences(record, rerun, figures) -> Iterable[Difference]:
    for figure in figures:
        if figure in record and not _same(record[figure], rerun.get(figure)):
            yield Difference(figure, record[figure], rerun.get(figure))


# ----------------------------------------------------------------------------- before a rerun
def budget_config(
    record: Dict[str, Any],
    budgets: Mapping[str, Dict[str, Any]],
    trial_budget: Callable[[Dict[str, Any]], Dict[str, Any]] = lambda b: b,
) -> Dict[str, Any]:
    """The budget dict the record's trial ran under: its ``budget_config``, or for an older
    record the budget named ``budget`` in ``budgets`` (name -> budget dict), with the
    iterations the record's settings show (a study's ``--iterations`` overrode them and
    only the settings kept them). ``trial_budget(budget)``: the budget the trial function
    builds its settings from (the scale study's budget at the record's N). Raises
    ValueError when the name is unknown or no iterations rebuild the record's."""
    if isinstance(record.get("budget_config"), dict):
        return dict(record["budget_config"])
    name = record["budget"]
    if name not in budgets:
        raise ValueError(
            f"record {record['trial']}: budget {name!r} is none of the known "
            f"budgets ({', '.join(sorted(budgets))})"
        )
    budget = dict(budgets[name])
    if record.get("kind") != "learning" or not record.get("iterations"):
        return budget
    target = int(record["iterations"])
    for candidate in _iteration_candidates(record, budget, trial_budget, target):
        if _row_iterations(record, dict(budget, iterations=candidate), trial_budget) == target:
            return dict(budget, iterations=candidate)
    raise ValueError(
        f"record {record['trial']}: no number of budget iterations gives row "
        f"{record['row']!r} its {target} iterations under budget {name!r}"
    )


def _row_iterations(record, budget, trial_budget) -> int:
    from rllib_experiments.studies.common.trials import base_settings  # imports torch

    base = base_settings(trial_budget(budget), record["setup"], int(record["seed"]))
    return get_row(record["row"]).settings(base).iterations


def _iteration_candidates(record, budget, trial_budget, target):
    """The budget's iterations, the record's, then a bisection over budget iterations (a
    row's iterations grow with the budget's: ours trains a fraction of them)."""
    yield int(budget["iterations"])
    yield target
    lo, hi = 1, max(2, target)
    while _row_iterations(record, dict(budget, iterations=hi), trial_budget) < target:
        hi *= 2
        if hi > 1000 * target:
            return
    while lo < hi:  # the smallest budget whose row trains at least `target` iterations
        mid = (lo + hi) // 2
        if _row_iterations(record, dict(budget, iterations=mid), trial_budget) < target:
            lo = mid + 1
        else:
            hi = mid
    yield lo


def provenance_warnings(record: Dict[str, Any]) -> List[str]:
    """What differs between where the record was made and here, each a line: the commit, a
    dirty tree (then or now), the CPU model, the library versions; and a resumed run."""
    lines = []
    then, now = record.get("code"), code_version()
    if not then:
        lines.append("the record does not say which commit made it")
    else:
        if now is None:
            lines.append(f"made at commit {then['commit'][:12]}; this code is not a git checkout")
        elif then["commit"] != now["commit"]:
            lines.append(f"made at commit {then['commit'][:12]}, this is {now['commit'][:12]}")
        if then.get("dirty"):
            lines.append("made from a tree with uncommitted changes")
    if now is not None and now["dirty"]:
        lines.append("this tree has uncommitted changes")
    made = record.get("provenance") or {}
    if not made.get("cpu"):
        lines.append("the record does not name its CPU")
    elif made["cpu"] != cpu_model():
        lines.append(
            f"made on {made['cpu']}, this is {cpu_model()}: floats may differ in their last bits"
        )
    here = versions()
    changed = [
        f"{name} {v} (now {here.get(name)})"
        for name, v in (made.get("versions") or {}).items()
        if here.get(name) != v
    ]
    if changed:
        lines.append("made with " + ", ".join(changed))
    if record.get("kind") == "learning":
        if "resumed_at" not in record:
            lines.append("the record does not say whether its run was resumed from a checkpoint")
        elif record["resumed_at"]:
            lines.append(
                f"its run was resumed from checkpoints at iterations {record['resumed_at']}"
            )
    return lines


def settings_warnings(record: Dict[str, Any], budget: Dict[str, Any], study: Study) -> List[str]:
    """Settings fields that the record's row, setup, seed and budget give today otherwise
    than the record holds (the code changed a default, or the budget is not the record's)."""
    if record.get("kind") != "learning" or not isinstance(record.get("settings"), dict):
        return []
    from rllib_experiments.studies.common.trials import base_settings  # imports torch

    base = base_settings(study.trial_budget(budget, record), record["setup"], int(record["seed"]))
    now = json.loads(json.dumps(get_row(record["row"]).settings(base).to_dict()))
    then = record["settings"]
    # a field added since takes its default, which keeps what older code did: not compared
    changed = [
        f"{k} {json.dumps(then[k])} (now {json.dumps(now[k]) if k in now else 'no such setting'})"
        for k in sorted(then)
        if k not in now or not _same(then[k], now[k])
    ]
    return (
        [f"its settings differ from what the budget gives today: {', '.join(changed)}"]
        if changed
        else []
    )


# ----------------------------------------------------------------------------- verifying
def study_of(record: Dict[str, Any], studies: Mapping[str, Study]) -> Study:
    """The study a record belongs to: ``studies["scale"]`` with ``num_users``, else ``studies["rows"]``."""
    return studies["scale"] if "num_users" in record else studies["rows"]


def check_record(path, studies: Mapping[str, Study]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(record, budget) of a record verify can rerun; NotARecordError (naming the file) else."""
    record = load_record(path)
    if record["kind"] not in RERUN_KINDS:
        raise NotARecordError(
            f"{path}: a {record['kind']!r} record; verify reruns "
            f"{' and '.join(RERUN_KINDS)} records"
        )
    try:
        budget = budget_config(
            record,
            study_of(record, studies).budgets,
            lambda b: study_of(record, studies).trial_budget(b, record),
        )
    except ValueError as err:
        raise NotARecordError(f"{path}: {err}") from None
    return record, budget


def verify_record(
    path,
    studies: Mapping[str, Study],
    work,
    limit: Optional[int] = None,
    log: Callable[[str], None] = print,
) -> Outcome:
    """Rerun one record in ``work`` (a folder of its own) and compare (module doc)."""
    record, budget = check_record(path, studies)
    study = study_of(record, studies)
    tid = record["trial"]
    warnings = provenance_warnings(record) + settings_warnings(record, budget, study)
    for w in warnings:
        log(f"verify: warning: {tid}: {w}")
    iterations = int(record.get("iterations") or 0)
    stop = (
        limit if record["kind"] == "learning" and limit is not None and limit < iterations else None
    )
    log(
        f"verify: {tid}: rerunning {record['kind']} row {record['row']!r}, setup {record['setup']}, "
        f"seed {record['seed']}, budget {budget['name']}"
        + (f", N = {record['num_users']}" if "num_users" in record else "")
        + (f", {iterations} iterations" if iterations else "")
        + (f" (stopping at the first evaluation from iteration {stop} on)" if stop else "")
        + f" in {work}"
    )
    trial = {k: record[k] for k in study.keys}
    Path(work).mkdir(parents=True, exist_ok=True)
    rerun = study.run_trial(
        trial, budget, str(Path(work) / "results"), str(Path(work) / "runs"), stop_after=stop
    )
    return Outcome(Path(path), tid, warnings, first_difference(record, rerun, stop), rerun, stop)


def _start_ray() -> None:
    """A local Ray instance for the reruns, as the studies' trials have (unless one runs)."""
    import ray  # Ray only where trials rerun

    if not ray.is_initialized():
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        ray.init(
            num_cpus=1,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}},
        )


def verify_records(
    paths: Sequence,
    studies: Mapping[str, Study],
    work=None,
    limit: Optional[int] = None,
    log: Callable[[str], None] = print,
) -> List[Outcome]:
    """Verify every record (each in ``work/<n>_<trial id>``, or a temporary folder removed
    afterwards); every record is checked before the first rerun starts (NotARecordError)."""
    for path in paths:
        check_record(path, studies)
    _start_ray()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="dsa_verify_") as tmp:
        root = Path(work) if work is not None else Path(tmp)
        for n, path in enumerate(paths):
            stem = Path(path).stem
            outcome = verify_record(path, studies, root / f"{n}_{stem}", limit=limit, log=log)
            log(outcome.line())
            outcomes.append(outcome)
    return outcomes
