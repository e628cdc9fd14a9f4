"""Running a study's trials resumably through Ray Tune: the one runner of reproduce, the
pruning study and the scale study.

A study plans its trials (dicts with ``row``, ``setup``, ``seed``; the scale study adds
``num_users``), and a :class:`Layout` says where each trial's record lives and under which
budget (:mod:`rllib_experiments.studies.common.budgets`) it runs. A trial whose record exists
for that budget is finished (:func:`is_finished`) and never rerun, so the same command resumes
a study; a record made otherwise (another budget, iteration count, settings or commit) is
never replaced or joined: :func:`plan` refuses it unless told to set it aside
(``--supersede``: :func:`set_aside_superseded`, kept under ``superseded/``). :func:`run_trials` runs the unfinished ones as one Tune grid (:func:`run_tune`, one CPU
each, every trial through :func:`trial_trainable` and the study's trial function), lets the
driver write every record (so records of trials on other nodes land here too) and appends one
line about the run to the study's log (:func:`log_run`).
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from rllib_experiments.methods import get_row
from rllib_experiments.run import outputs as out
from rllib_experiments.run import provenance
from rllib_experiments.studies.common.folders import TUNE_DIR
from rllib_experiments.studies.common.records import NotARecordError, load_record

# rllib_experiments.studies.common.trials (the trial itself) imports torch: imported where a
# function needs it, so that planning and reports load in a second.

#: Key of the result a trial reports last: its whole record, as JSON (:func:`record_writer`).
RECORD_KEY = "trial_record_json"


@dataclass
class TrialOptions:
    """How to run the trials: Ray (a local instance of ``num_cpus`` CPUs, or the cluster at
    ``address``), at most ``max_concurrent`` at once, Tune's own folder ``tune_dir`` and the
    folder of the trials' training runs ``runs_dir`` (relative to the current directory)."""

    runs_dir: str
    tune_dir: str = str(TUNE_DIR)
    num_cpus: Optional[int] = None
    max_concurrent: Optional[int] = None
    address: Optional[str] = None


class Layout:
    """Where a study keeps its records: ``OUTPUT/trials/<trial id>.json``, every trial under
    one budget (reproduce's and the pruning study's layout; the scale study keeps a folder per
    N, :class:`rllib_experiments.studies.scale.trials.ScaleLayout`)."""

    def __init__(self, output, budget: Dict[str, Any]):
        self.output = Path(output)
        self.budget = budget

    def folder(self, trial: Dict[str, Any]) -> Path:
        """The folder whose ``trials/`` holds the trial's record."""
        return self.output

    def budget_of(self, trial: Dict[str, Any]) -> Dict[str, Any]:
        """The budget the trial runs under."""
        return self.budget

    def record_path(self, trial: Dict[str, Any]) -> Path:
        """The trial's record (a trial, or the record itself: both name row, setup, seed)."""
        from rllib_experiments.studies.common.trials import trial_id  # torch: see the top

        return (
            self.folder(trial)
            / "trials"
            / f"{trial_id(trial['setup'], trial['row'], trial['seed'])}.json"
        )


def plan_trials(
    budget: Dict[str, Any], setups: Sequence[str], rows: Sequence[str], seeds: Sequence[int]
) -> List[Dict[str, Any]]:
    """All trials of rows x setups x seeds, seed-major (every row's seed 0 first, so a partial
    run covers every row); a baseline row has one trial per setup (seed 0: it trains nothing)."""
    trials = []
    for setup in setups:
        for row in rows:
            if get_row(row).kind == "baseline":
                trials.append(dict(row=row, setup=setup, seed=0))
    for seed in seeds:
        for setup in setups:
            for row in rows:
                if get_row(row).kind == "learning":
                    trials.append(dict(row=row, setup=setup, seed=seed))
    return trials


def check_rows(
    budget: Dict[str, Any], setups: Sequence[str], rows: Sequence[str], seed: int
) -> None:
    """Build every learning row's settings for every setup now: a row no trial could run
    (e.g. a variant asking for more sparsity than its scope allows) raises ValueError before
    Ray starts."""
    from rllib_experiments.studies.common.trials import base_settings  # torch: see the top

    for row in rows:
        r = get_row(row)
        if r.kind != "learning":
            continue
        for setup in setups:
            try:
                r.settings(base_settings(budget, setup, seed))
            except ValueError as err:
                raise ValueError(f"row {row!r}, setup {setup}: {err}") from None


def expected_iterations(trial: Dict[str, Any], budget: Dict[str, Any]) -> int:
    """Training iterations of a trial under this budget (a row may train longer, e.g. ours)."""
    from rllib_experiments.studies.common.trials import base_settings  # torch: see the top

    row = get_row(trial["row"])
    base = base_settings(budget, trial["setup"], trial["seed"])
    return row.settings(base).iterations if row.settings is not None else budget["iterations"]


class RecordConflictError(ValueError):
    """Records in a study folder made otherwise than this run would make its trials (another
    budget, iteration count, settings or commit), or unreadable: a finished record is never
    replaced or joined by another kind of record unless the command is told so."""


#: The study commands' flag that moves conflicting records aside and reruns their trials.
SUPERSEDE_FLAG = "--supersede"
#: Where ``--supersede`` keeps the records it moves (in the folder holding ``trials/``), with
#: one line per moved record in :data:`SUPERSEDED_INDEX` (the pointer: what was where, why).
SUPERSEDED_DIR = "superseded"
SUPERSEDED_INDEX = "index.jsonl"


def _short(commit: Optional[str]) -> str:
    return str(commit)[:12]


def current_commit() -> Optional[str]:
    """The commit of the code that runs now (None outside a checkout: not compared)."""
    return (provenance.code_version() or {}).get("commit")


def _settings_difference(rec: Dict[str, Any], trial: Dict[str, Any], budget) -> Optional[str]:
    """The settings fields the record holds otherwise than this budget gives its trial now."""
    from rllib_experiments.studies.common.trials import base_settings  # torch: see the top

    then = rec.get("settings")
    row = get_row(trial["row"])
    if not isinstance(then, dict) or row.settings is None:
        return None
    now = json.loads(
        json.dumps(row.settings(base_settings(budget, trial["setup"], trial["seed"])).to_dict())
    )
    # a field added since takes its default, which keeps what older code did: not compared
    changed = [
        f"{k} {json.dumps(then[k])} (this run: {json.dumps(now[k]) if k in now else 'no such setting'})"
        for k in sorted(then)
        if k not in now or json.loads(json.dumps(then[k])) != now[k]
    ]
    return (
        "settings " + ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "")
        if changed
        else None
    )


def record_conflict(
    path: Path,
    trial: Optional[Dict[str, Any]],
    budget: Dict[str, Any],
    commit: Optional[str] = None,
) -> Optional[str]:
    """None when the record at ``path`` may stay beside this run's records; else what
    differs. With ``trial`` (a planned trial whose record this is) the record must be that
    trial's finished record: same budget name, iterations and settings; without (another
    record of the folder) the same budget name. Either way, when ``commit`` is given, the
    same commit as the record's (a record naming none is not compared)."""
    try:
        rec = load_record(path)
    except NotARecordError as err:
        return str(err).replace(f"{path}: ", "", 1)
    if rec["budget"] != budget["name"]:
        return f"budget {rec['budget']!r} (this run: {budget['name']!r})"
    if trial is not None and rec["kind"] != "baseline":
        want = expected_iterations(trial, budget)
        if rec.get("iterations") != want:
            return f"{rec.get('iterations')} iterations (this run: {want})"
        differs = _settings_difference(rec, trial, budget)
        if differs:
            return differs
    made = (rec.get("code") or {}).get("commit") if isinstance(rec.get("code"), dict) else None
    if commit and made and made != commit:
        return f"commit {_short(made)} (this code: {_short(commit)})"
    return None


def is_finished(output: Path, trial: Dict[str, Any], budget: Dict[str, Any]) -> bool:
    """Does the trial's finished record for this budget exist in ``output/trials``? A record
    of the trial made otherwise (:func:`record_conflict`: another budget, iteration count or
    settings; unreadable) raises :class:`RecordConflictError`: it is never replaced unless
    told (:func:`plan`)."""
    path = Layout(output, budget).record_path(trial)
    if not path.is_file():
        return False
    why = record_conflict(path, trial, budget)
    if why:
        raise RecordConflictError(_conflict_message([(path, why)], None))
    return True


def _conflict_message(conflicts, allow_mixed_commits: Optional[bool], joined=()) -> str:
    """What is refused and the ways out: ``conflicts``, records of planned trials
    (``--supersede`` reruns them); ``joined``, other records of the folders (this run's
    records would join them: only another --output, or moving them yourself, resolves it)."""
    both = list(conflicts) + list(joined)
    shown = "; ".join(f"{path}: {why}" for path, why in both[:5])
    more = f"; and {len(both) - 5} more" if len(both) > 5 else ""
    ways = ["give another --output for this run"]
    if conflicts:
        ways.append(
            f"pass {SUPERSEDE_FLAG} to move the planned trials' records to {SUPERSEDED_DIR}/ "
            f"beside trials/ (kept, never deleted; {SUPERSEDED_DIR}/{SUPERSEDED_INDEX} says "
            "where each came from) and rerun those trials"
        )
    if allow_mixed_commits is not None and any("commit " in why for _, why in both):
        ways.append("pass --allow-mixed-commits to run this code's trials beside another commit's")
    if joined:
        ways.append("move the other records out of the folder yourself")
    return (
        f"{len(both)} record(s) in the folder were made otherwise than this run would make "
        f"its trials, and a finished record is never replaced or joined by another kind: "
        f"{shown}{more}. To go on, " + ", or ".join(ways)
    )


def plan(
    layout: "Layout",
    trials: List[Dict[str, Any]],
    *,
    supersede: bool = False,
    allow_mixed_commits: Optional[bool] = None,
) -> Tuple[List[Dict[str, Any]], List[Tuple[Path, str]]]:
    """(the trials to run, the records ``supersede`` would set aside). Raises
    :class:`RecordConflictError` naming every conflict (:func:`record_conflict`) that
    ``supersede`` does not resolve: a planned trial's record made otherwise (unless
    ``supersede``), or another record of the same folders of another budget, or (unless
    ``allow_mixed_commits``) of another commit. Reads only: nothing is moved here."""
    commit = None if allow_mixed_commits else current_commit()
    todo, aside, conflicts, joined = [], [], [], []
    planned = set()
    for t in trials:
        path = layout.record_path(t)
        planned.add(path.resolve())
        if not path.is_file():
            todo.append(t)
            continue
        why = record_conflict(path, t, layout.budget_of(t), commit)
        if why is None:
            continue
        todo.append(t)
        (aside if supersede else conflicts).append((path, why))
    budgets = {layout.folder(t): layout.budget_of(t) for t in trials}
    for folder, budget in budgets.items():  # records this run would be joined with
        for path in sorted((Path(folder) / "trials").glob("*.json")):
            if path.resolve() not in planned:
                why = record_conflict(path, None, budget, commit)
                if why:
                    joined.append((path, why))
    if conflicts or joined:
        raise RecordConflictError(_conflict_message(conflicts, allow_mixed_commits, joined))
    return todo, aside


def set_aside_superseded(records: List[Tuple[Path, str]], prog: str) -> List[Path]:
    """Move each (record, why) to ``superseded/`` beside its ``trials/`` with a line in
    ``superseded/index.jsonl`` (where it was, where it is, why, who moved it); returns where."""
    moved = []
    for path, why in records:
        folder = Path(path).parent.parent / SUPERSEDED_DIR
        dest = folder / f"{Path(path).stem}.{time.strftime('%Y%m%d_%H%M%S')}.json"
        n = 1
        while dest.exists():
            dest = folder / f"{Path(path).stem}.{time.strftime('%Y%m%d_%H%M%S')}-{n}.json"
            n += 1
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
        line = dict(
            record=f"trials/{Path(path).name}",
            moved_to=dest.name,
            why=why,
            by=prog,
            at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        )
        with open(folder / SUPERSEDED_INDEX, "a") as f:
            f.write(json.dumps(line) + "\n")
        moved.append(dest)
    return moved


def row_trial(
    trial: Dict[str, Any],
    budget: Dict[str, Any],
    output: str,
    runs_dir: str,
    report=None,
    stop_after=None,
) -> Dict[str, Any]:
    """Reproduce's trial function: one (row, setup, seed) of Table I
    (:func:`~rllib_experiments.studies.common.trials.run_row_trial`); its record."""
    from rllib_experiments.studies.common.trials import run_row_trial  # torch: see the top

    return run_row_trial(
        trial["row"],
        trial["setup"],
        trial["seed"],
        budget,
        output,
        runs_dir,
        report=report,
        stop_after=stop_after,
    )


#: A study's trial function: (trial, budget, output, runs_dir, report, stop_after) -> the
#: trial's record (``stop_after``: a partial run, not written; ``verify --iterations-limit``).
TrialFunction = Callable[..., Dict[str, Any]]


def trial_trainable(config: Dict[str, Any], run_trial: TrialFunction = row_trial) -> None:
    """The Tune trainable of every study's trials: ``run_trial`` on ``config["trial"]``; the
    record goes back to the driver under :data:`RECORD_KEY`."""
    from ray import tune  # Ray only where trials run: the studies' reports need none

    try:  # Ray starts workers at niceness 15; a trial is the real work: run it at the default 0
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except (OSError, AttributeError):  # not permitted (non-root) or not POSIX: keep Ray's
        pass
    rec = run_trial(
        config["trial"],
        config["budget"],
        config["output"],
        config["runs_dir"],
        report=lambda m: tune.report(m),
    )
    # The whole record goes back to the driver too (record_writer): on a multi-node
    # cluster the trial's own file lands on the node that ran it.
    tune.report(
        {
            "done_reward": rec["final_reward"],
            "iteration": rec.get("iterations", 0),
            RECORD_KEY: json.dumps(rec),
        }
    )


def record_writer(record_path: Callable[[Dict[str, Any]], Path]):
    """Tune callback (driver side) writing each finished trial's record to ``record_path(rec)``."""
    # imports ray: only when called
    from ray.tune import Callback

    class RecordWriter(Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            if RECORD_KEY in result:
                rec = json.loads(result[RECORD_KEY])
                out.write_json_atomic(record_path(rec), rec)

    return RecordWriter()


def run_tune(
    trials: List[Dict[str, Any]],
    budget: Dict[str, Any],
    output: Path,
    options: TrialOptions,
    *,
    run_trial: TrialFunction = row_trial,
    record_path=None,
    name: str = "reproduce",
) -> List[str]:
    """Run the trials as one Tune grid (in plan order); returns error messages of failed trials.

    Each trial runs ``run_trial`` (default: reproduce's) in a worker; the driver writes its
    record to ``record_path(record)`` (default ``OUTPUT/trials/<trial id>.json``). The workers
    import this package as the driver does (Ray hands them the driver's ``sys.path``).
    """
    # imports ray: only when called
    import ray
    from ray import tune

    record_path = record_path or Layout(output, budget).record_path
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    env = {"env_vars": {"OMP_NUM_THREADS": "1"}}
    if options.address:
        ray.init(address=options.address, runtime_env=env, log_to_driver=True)
    else:
        ray.init(num_cpus=options.num_cpus, include_dashboard=False, runtime_env=env)
    try:
        tuner = tune.Tuner(
            tune.with_resources(
                tune.with_parameters(trial_trainable, run_trial=run_trial), {"cpu": 1}
            ),
            param_space={
                "trial": tune.grid_search(trials),
                "budget": budget,
                "output": str(Path(output).resolve()),
                "runs_dir": str(Path(options.runs_dir).resolve()),
            },
            tune_config=tune.TuneConfig(max_concurrent_trials=options.max_concurrent),
            run_config=tune.RunConfig(
                name=f"{name}_{budget['name']}_{time.strftime('%Y%m%d_%H%M%S')}",
                storage_path=str(Path(options.tune_dir).resolve()),
                verbose=1,
                callbacks=[record_writer(record_path)],
                failure_config=tune.FailureConfig(max_failures=0),
            ),
        )
        grid = tuner.fit()
        return [f"{r.config['trial']}: {r.error}" for r in grid if r.error]
    finally:
        ray.shutdown()


def run_trials(
    prog: str,
    layout: Layout,
    trials: List[Dict[str, Any]],
    options: TrialOptions,
    *,
    scope: str,
    log_file: str,
    command: str,
    argv: Optional[Sequence[str]],
    run_trial: TrialFunction = row_trial,
    tune_name: str = "reproduce",
    records: str = "raw results",
    record: str = "result",
    after: Optional[Callable[[], Any]] = None,
    supersede: bool = False,
    allow_mixed_commits: Optional[bool] = None,
    **what,
):
    """Run the planned ``trials`` not finished in ``layout``, holding its folder
    (:func:`rllib_experiments.run.outputs.exclusive`: raises OutputBusyError while another
    run holds it); returns (to run, left unfinished, errors, wall seconds).

    Under the lock, before anything is written: :func:`plan` (RecordConflictError when a
    record of the folders was made otherwise and ``supersede`` or ``allow_mixed_commits``
    does not resolve it); says what it runs (``scope``: which setups, rows or sizes), moves
    the records ``supersede`` replaces aside (:func:`set_aside_superseded`), runs the rest
    through :func:`run_tune`, then ``after()`` (e.g. the scale study's evaluations of
    finished actors), and appends a line to ``OUTPUT/log_file`` (:func:`log_run`, with
    ``what``). The rows must have passed :func:`check_rows`."""
    output, budget = layout.output, layout.budget
    output.mkdir(parents=True, exist_ok=True)
    with out.exclusive(output, prog):
        todo, aside = plan(
            layout, trials, supersede=supersede, allow_mixed_commits=allow_mixed_commits
        )
        print(
            f"{prog}: budget {budget['name']} ({budget['iterations']} iterations, seeds "
            f"{list(budget['seeds'])}), {scope}: {len(trials)} trials, {len(trials) - len(todo)} "
            f"already finished, {len(todo)} to run; {records} in {output}",
            flush=True,
        )
        for p in set_aside_superseded(aside, prog):
            print(
                f"{prog}: {SUPERSEDE_FLAG}: an older {record} of a trial to rerun was kept as {p}",
                flush=True,
            )
        start = time.time()
        errors: List[str] = (
            run_tune(
                todo,
                budget,
                output,
                options,
                run_trial=run_trial,
                record_path=layout.record_path,
                name=tune_name,
            )
            if todo
            else []
        )
        if after is not None:
            after()
        wall = time.time() - start
        unfinished = [t for t in todo if not _finished_now(layout, t)]
        log_run(
            output / log_file, command, argv, todo, unfinished, errors, wall, budget=budget, **what
        )
    return todo, unfinished, errors, wall


def _finished_now(layout: Layout, trial: Dict[str, Any]) -> bool:
    """Did this run leave the trial's finished record (a failed trial leaves none)?"""
    path = layout.record_path(trial)
    return path.is_file() and record_conflict(path, trial, layout.budget_of(trial)) is None


def logged_argument(arg: str, cwd=None) -> str:
    """A command-line argument as a log keeps it: an absolute path inside the current
    directory ``cwd`` (also the PATH of ``--flag=PATH``) relative to it, as if typed so from
    there; anything else as typed. An absolute path outside the current directory stays as
    typed: rewritten it would name another folder, and the command would no longer rerun what
    ran (tests/test_no_machine_paths.py keeps such a log out of the committed tree)."""
    head, sep, value = arg.partition("=") if arg.startswith("-") and "=" in arg else ("", "", arg)
    if os.path.isabs(value):
        rel = os.path.relpath(os.path.realpath(value), os.path.realpath(cwd or os.getcwd()))
        if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
            value = rel
    return head + sep + value


def log_run(path: Path, command: str, argv, todo, unfinished, errors, wall: float, **what) -> None:
    """Append one JSON line about a finished run of trials (the command, what it ran, the
    machine). The command's arguments are logged by :func:`logged_argument`."""
    argv = argv if argv is not None else sys.argv[1:]
    run_info = dict(
        command=command + " " + " ".join(shlex.quote(logged_argument(a)) for a in argv),
        **what,
        trials_run=len(todo) - len(unfinished),
        unfinished=len(unfinished),
        failed=errors,
        wall_s=wall,
        finished_at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        machine=f"{platform.node()}: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
    )
    with open(path, "a") as f:
        f.write(json.dumps(run_info) + "\n")
