"""Running a study's trials resumably through Ray Tune: the one runner of reproduce, the
pruning study and the scale study.

A study plans its trials (dicts with ``row``, ``setup``, ``seed``; the scale study adds
``num_users``), and a :class:`Layout` says where each trial's record lives and under which
budget (:mod:`rllib_experiments.studies.common.budgets`) it runs. A trial whose record exists
for that budget is finished (:func:`is_finished`) and never rerun, so the same command resumes
a study. :func:`run_trials` runs the unfinished ones as one Tune grid (:func:`run_tune`, one CPU
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
from typing import Any, Callable, Dict, List, Optional, Sequence

from rllib_experiments.methods import get_row
from rllib_experiments.run import outputs as out
from rllib_experiments.studies.common.folders import TUNE_DIR

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


def is_finished(output: Path, trial: Dict[str, Any], budget: Dict[str, Any]) -> bool:
    """Does the trial's record exist in ``output/trials`` for this budget (same name and
    iterations)? A record of another budget raises ValueError: one folder, one budget."""
    path = Layout(output, budget).record_path(trial)
    if not path.is_file():
        return False
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, json.JSONDecodeError):
        return False
    if rec.get("budget") != budget["name"]:
        raise ValueError(
            f"{path} holds a {rec.get('budget')!r} result, not {budget['name']!r}: "
            "use another --output for another budget (nothing is overwritten)"
        )
    return rec.get("kind") == "baseline" or rec.get("iterations") == expected_iterations(
        trial, budget
    )


def set_aside_superseded(output: Path, trials: List[Dict[str, Any]]) -> List[Path]:
    """Move records of trials about to be rerun (other settings) to OUTPUT/superseded/."""
    moved = []
    for t in trials:
        path = Layout(output, {}).record_path(t)
        if path.is_file():
            dest = (
                Path(output) / "superseded" / f"{path.stem}.{time.strftime('%Y%m%d_%H%M%S')}.json"
            )
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
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
    **what,
):
    """Run the planned ``trials`` not finished in ``layout``, holding its folder
    (:func:`rllib_experiments.run.outputs.exclusive`: raises OutputBusyError while another
    run holds it); returns (to run, left unfinished, errors, wall seconds).

    Says what it runs (``scope``: which setups, rows or sizes), sets records of trials to
    rerun aside, runs the rest through :func:`run_tune`, then ``after()`` (e.g. the scale
    study's evaluations of finished actors), and appends a line to ``OUTPUT/log_file``
    (:func:`log_run`, with ``what``). The rows must have passed :func:`check_rows`."""
    output, budget = layout.output, layout.budget
    output.mkdir(parents=True, exist_ok=True)
    with out.exclusive(output, prog):
        todo = [t for t in trials if not is_finished(layout.folder(t), t, layout.budget_of(t))]
        print(
            f"{prog}: budget {budget['name']} ({budget['iterations']} iterations, seeds "
            f"{list(budget['seeds'])}), {scope}: {len(trials)} trials, {len(trials) - len(todo)} "
            f"already finished, {len(todo)} to run; {records} in {output}",
            flush=True,
        )
        for folder in dict.fromkeys(layout.folder(t) for t in todo):
            for p in set_aside_superseded(folder, [t for t in todo if layout.folder(t) == folder]):
                print(f"{prog}: an older {record} of a trial to rerun was kept as {p}", flush=True)
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
        unfinished = [t for t in todo if not is_finished(layout.folder(t), t, layout.budget_of(t))]
        log_run(
            output / log_file, command, argv, todo, unfinished, errors, wall, budget=budget, **what
        )
    return todo, unfinished, errors, wall


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
