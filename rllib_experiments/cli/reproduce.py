"""Reproduce Table I and Figures 1-2 of the paper: every row, both setups, through Ray Tune.

Usage::

    python -m rllib_experiments reproduce --budget quick --setups A B
    python -m rllib_experiments reproduce --budget smoke --output /tmp/r --rows aloha dense
    python -m rllib_experiments reproduce --report-only            # table + figures from raw CSVs

Each (row, setup, seed) is one Tune trial (1 CPU; non-learning rows have one
trial per setup: they are evaluated on the fixed evaluation episodes and have no
training seed). A finished trial writes ``OUTPUT/trials/<setup>__<row>__s<seed>.json``;
a rerun of the same command skips every trial whose file exists with the same
budget, so an interrupted run resumes where it stopped (trials that were running
start again). After the trials, ``OUTPUT/trials.csv`` / ``curves.csv`` are
rebuilt and :mod:`rllib_experiments.studies.table1.report` writes the table
(``docs/results/table1.md``) and the Fig. 2 curves (``docs/figures/training_curves_<setup>.png``).

Budgets (``--iterations`` / ``--seeds`` override them):

* ``smoke``: CI pipeline check: N=3, K=2, T=20 (the ``tiny`` preset), 6 iterations, 1 seed.
* ``quick``: what a 2-core machine runs in a few hours: the paper's networks, settings
  and per-trial budget (1000 iterations = episodes), seeds 0 1 instead of the paper's ten
  (a paper row takes ~6-7 min on an idle core; measured times are in docs/results/table1.md).
* ``paper``: the paper's budget: 1000 iterations of one episode, 10 seeds (a Ray
  cluster: ``--address auto`` under ``ray job submit``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from dsa_pettingzoo.config import SETUPS
from rllib_experiments.cli.args import add_trial_flags, int_at_least
from rllib_experiments.studies.table1.schedules_figure import FILE_NAME, plot_schedules

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "docs" / "results" / "raw"

BUDGETS: Dict[str, Dict[str, Any]] = {
    "smoke": dict(name="smoke", preset="tiny", iterations=6, eval_interval=2, eval_episodes=10,
                  seeds=[0]),
    "quick": dict(name="quick", preset="paper_{setup}", iterations=1000, eval_interval=10,
                  eval_episodes=100, seeds=[0, 1]),
    "paper": dict(name="paper", preset="paper_{setup}", iterations=1000, eval_interval=10,
                  eval_episodes=100, seeds=list(range(10))),
}


def _parser() -> argparse.ArgumentParser:
    from rllib_experiments.methods import GROUPS

    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments reproduce",
        description="Run every row of the paper's Table I (plus extra rows) through Ray Tune, "
                    "resumably, and write docs/results/table1.md and the Fig. 2 curves.")
    p.add_argument("--budget", choices=sorted(BUDGETS), default="quick",
                   help="smoke (CI, minutes), quick (1000 episodes, seeds 0 1: a few hours on 2 cores), paper (1000 episodes, "
                        "10 seeds, a cluster). Default quick.")
    p.add_argument("--setups", nargs="+", default=["A", "B"], choices=list(SETUPS),
                   help="paper setups to run (A: no PUs, B: PUs with pi_k = 0.2). Default A B.")
    p.add_argument("--rows", nargs="+", default=None, metavar="ROW",
                   help="rows to run, by key or group (default: the group 'table'). "
                        f"table = {' '.join(GROUPS['table'])}; ablation (ours with one change "
                        f"taken back) = {' '.join(GROUPS['ablation'])}")
    p.add_argument("--seeds", nargs="+", type=int_at_least(0), default=None, metavar="SEED",
                   help="training seeds of the learning rows (default: the budget's)")
    p.add_argument("--iterations", type=int_at_least(1), default=None,
                   help="override the budget's training iterations per trial")
    p.add_argument("--output", default=str(DEFAULT_OUTPUT),
                   help=f"folder of the raw per-trial results (default {DEFAULT_OUTPUT.relative_to(REPO)} of the checkout this package runs from)")
    p.add_argument("--table", default=None,
                   help="Markdown table to write (default docs/results/table1.md when --output is "
                        "the default, else OUTPUT/table1.md)")
    p.add_argument("--figures", default=None,
                   help="folder of the Fig. 2 PNGs (default docs/figures when --output is the "
                        "default, else OUTPUT)")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: rebuild the table and figures from OUTPUT's raw results")
    add_trial_flags(p, tune_dir="/tmp/dsa_reproduce_tune", runs_dir="runs/reproduce",
                    runs_help="folder of every learning trial's training run (progress.csv and the "
                              "final checkpoint, e.g. to export its actors)")
    return p


def plan_trials(budget: Dict[str, Any], setups: Sequence[str], rows: Sequence[str],
                seeds: Sequence[int]) -> List[Dict[str, Any]]:
    """All trials, seed-major (every row's seed 0 first, so a partial run covers every row)."""
    from rllib_experiments.methods import get_row

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


def with_overrides(budget: Dict[str, Any], iterations: Optional[int], seeds: Optional[Sequence[int]],
                   parser) -> Dict[str, Any]:
    """A copy of ``budget`` with ``--iterations`` and ``--seeds`` applied (None: the budget's);
    repeated seeds are an error naming ``--seeds``."""
    budget = dict(budget)
    if iterations is not None:
        budget["iterations"] = iterations
    seeds = list(seeds if seeds is not None else budget["seeds"])
    if len(set(seeds)) != len(seeds):
        parser.error(f"argument --seeds: the seeds must be distinct, got {seeds}")
    budget["seeds"] = seeds
    return budget


def check_rows(budget: Dict[str, Any], setups: Sequence[str], rows: Sequence[str], seed: int) -> None:
    """Build every learning row's settings for every setup now: a row no trial could run
    (e.g. a variant asking for more sparsity than its scope allows) fails before Ray starts."""
    from rllib_experiments.methods import get_row
    from rllib_experiments.studies.common.trials import base_settings

    for row in rows:
        r = get_row(row)
        if r.kind != "learning":
            continue
        for setup in setups:
            try:
                r.settings(base_settings(budget, setup, seed))
            except ValueError as err:
                raise ValueError(f"row {row!r}, setup {setup}: {err}") from None


def is_finished(output: Path, trial: Dict[str, Any], budget: Dict[str, Any]) -> bool:
    """Does the trial's raw result exist for this budget (same name and iterations)?"""
    from rllib_experiments.studies.common.trials import trial_id

    path = Path(output) / "trials" / f"{trial_id(trial['setup'], trial['row'], trial['seed'])}.json"
    if not path.is_file():
        return False
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, json.JSONDecodeError):
        return False
    if rec.get("budget") != budget["name"]:
        raise ValueError(f"{path} holds a {rec.get('budget')!r} result, not {budget['name']!r}: "
                         "use another --output for another budget (nothing is overwritten)")
    return rec.get("kind") == "baseline" or rec.get("iterations") == expected_iterations(trial, budget)


def expected_iterations(trial: Dict[str, Any], budget: Dict[str, Any]) -> int:
    """Training iterations of a trial under this budget (a row may train longer, e.g. ours)."""
    from rllib_experiments.methods import get_row
    from rllib_experiments.studies.common.trials import base_settings

    row = get_row(trial["row"])
    base = base_settings(budget, trial["setup"], trial["seed"])
    return row.settings(base).iterations if row.settings is not None else budget["iterations"]


def set_aside_superseded(output: Path, trials: List[Dict[str, Any]]) -> List[Path]:
    """Move raw results of trials about to be rerun (other settings) to OUTPUT/superseded/."""
    from rllib_experiments.studies.common.trials import trial_id

    moved = []
    for t in trials:
        path = Path(output) / "trials" / f"{trial_id(t['setup'], t['row'], t['seed'])}.json"
        if path.is_file():
            dest = Path(output) / "superseded" / f"{path.stem}.{time.strftime('%Y%m%d_%H%M%S')}.json"
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
            moved.append(dest)
    return moved


def _tune_trainable(config: Dict[str, Any]) -> None:
    from ray import tune

    from rllib_experiments.studies.common.trials import run_row_trial

    t = config["trial"]
    try:  # Ray starts workers at niceness 15; a trial is the real work: run it at the default 0
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except (OSError, AttributeError):  # not permitted (non-root) or not POSIX: keep Ray's
        pass
    rec = run_row_trial(t["row"], t["setup"], t["seed"], config["budget"], config["output"],
                        config["runs_dir"], report=lambda m: tune.report(m))
    # The whole record goes back to the driver too (RecordWriter): on a multi-node
    # cluster the trial's own file lands on the node that ran it.
    tune.report({"done_reward": rec["final_reward"], "iteration": rec.get("iterations", 0),
                 RECORD_KEY: json.dumps(rec)})


RECORD_KEY = "trial_record_json"


def records_in(output: Path):
    """record -> OUTPUT/trials/<trial id>.json, where reproduce keeps its records."""
    from rllib_experiments.studies.common.trials import trial_id

    def path(rec):
        return Path(output) / "trials" / f"{trial_id(rec['setup'], rec['row'], rec['seed'])}.json"
    return path


def _record_writer(record_path):
    """Tune callback (driver side) writing each finished trial's record to ``record_path(rec)``."""
    from ray.tune import Callback

    from rllib_experiments.run.outputs import write_json_atomic

    class RecordWriter(Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            if RECORD_KEY in result:
                rec = json.loads(result[RECORD_KEY])
                write_json_atomic(record_path(rec), rec)

    return RecordWriter()


def run_tune(trials: List[Dict[str, Any]], budget: Dict[str, Any], output: Path, args, *,
             trainable=None, record_path=None, name: str = "reproduce") -> List[str]:
    """Run the trials as one Tune grid (in plan order); returns error messages of failed trials.

    ``trainable`` (default: reproduce's) runs one trial from ``config["trial"]`` and reports its
    record under :data:`RECORD_KEY`; the driver writes it to ``record_path(record)`` (default
    ``OUTPUT/trials/<trial id>.json``), so records of trials on other nodes land here too.
    """
    import ray
    from ray import tune

    record_path = record_path or records_in(output)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    env = {"env_vars": {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}}
    if args.address:
        ray.init(address=args.address, runtime_env=env, log_to_driver=True)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, runtime_env=env)
    try:
        tuner = tune.Tuner(
            tune.with_resources(trainable or _tune_trainable, {"cpu": 1}),
            param_space={"trial": tune.grid_search(trials), "budget": budget,
                         "output": str(Path(output).resolve()),
                         "runs_dir": str(Path(args.runs_dir).resolve())},
            tune_config=tune.TuneConfig(max_concurrent_trials=args.max_concurrent),
            run_config=tune.RunConfig(
                name=f"{name}_{budget['name']}_{time.strftime('%Y%m%d_%H%M%S')}",
                storage_path=str(Path(args.tune_dir).resolve()), verbose=1,
                callbacks=[_record_writer(record_path)],
                failure_config=tune.FailureConfig(max_failures=0)),
        )
        grid = tuner.fit()
        return [f"{r.config['trial']}: {r.error}" for r in grid if r.error]
    finally:
        ray.shutdown()


def run_trials(prog: str, output: Path, budget: Dict[str, Any], setups: Sequence[str],
               rows: Sequence[str], seeds: Sequence[int], args, command: str,
               argv: Optional[Sequence[str]]):
    """Run the trials of (rows x setups x seeds) not finished in ``output`` through Tune and log
    the run to OUTPUT/runs.jsonl; returns (to run, left unfinished, errors, wall seconds).

    Shared by ``reproduce`` and ``pruning_study`` (``args`` holds the Ray flags of
    :func:`run_tune`); rows must have passed :func:`check_rows`."""
    from rllib_experiments.run import outputs as out

    output.mkdir(parents=True, exist_ok=True)
    with out.exclusive(output, prog):
        return _run_trials(prog, output, budget, setups, rows, seeds, args, command, argv)


def _run_trials(prog, output, budget, setups, rows, seeds, args, command, argv):
    from rllib_experiments.run import outputs as out

    trials = plan_trials(budget, setups, rows, seeds)
    todo = [t for t in trials if not is_finished(output, t, budget)]
    print(f"{prog}: budget {budget['name']} ({budget['iterations']} iterations, seeds {list(seeds)}), "
          f"setups {list(setups)}, {len(rows)} rows: {len(trials)} trials, "
          f"{len(trials) - len(todo)} already finished, {len(todo)} to run; raw results in {output}",
          flush=True)
    output.mkdir(parents=True, exist_ok=True)
    for p in set_aside_superseded(output, todo):
        print(f"{prog}: an older result of a trial to rerun was kept as {p}", flush=True)
    start = time.time()
    errors: List[str] = run_tune(todo, budget, output, args) if todo else []
    wall = time.time() - start
    unfinished = [t for t in todo if not is_finished(output, t, budget)]
    log_run(output / out.REPRODUCE_LOG, command, argv, todo, unfinished, errors, wall,
            budget=budget, setups=list(setups), rows=list(rows))
    return todo, unfinished, errors, wall


def log_run(path: Path, command: str, argv, todo, unfinished, errors, wall: float, **what) -> None:
    """Append one JSON line about a finished run of trials (the command, what it ran, the machine)."""
    run_info = dict(command=command + " " + " ".join(
                        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
                    **what, trials_run=len(todo) - len(unfinished), unfinished=len(unfinished),
                    failed=errors, wall_s=wall,
                    finished_at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                    machine=f"{platform.node()}: {platform.platform()}, {os.cpu_count()} CPUs, "
                            f"Python {platform.python_version()}")
    with open(path, "a") as f:
        f.write(json.dumps(run_info) + "\n")


def ensure_fig1(figures: Path) -> Path:
    """Fig. 1 (the paper's schedules, I_T = 1000), written if absent."""
    path = Path(figures) / FILE_NAME
    if not path.is_file():
        plot_schedules(path)
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    from rllib_experiments.studies.table1 import report
    from rllib_experiments.run import outputs as out
    from rllib_experiments.methods import expand_rows

    parser = _parser()
    args = parser.parse_args(argv)
    output = Path(args.output)
    default_out = output.resolve() == DEFAULT_OUTPUT.resolve()
    table = Path(args.table) if args.table else (
        REPO / "docs" / "results" / "table1.md" if default_out else output / "table1.md")
    figures = Path(args.figures) if args.figures else (
        REPO / "docs" / "figures" if default_out else output)
    if args.report_only:
        if not output.is_dir():
            parser.error(f"argument --output: {str(output)!r} holds no raw results to report")
        report.build_report(output, table, figures)
        ensure_fig1(figures)
        print(f"wrote {table} and {figures}/training_curves_*.png")
        return 0

    try:
        out.check_owner(output, "reproduce")
    except out.OutputExistsError as err:
        parser.error(f"argument --output: {err}")
    budget = dict(BUDGETS[args.budget])
    try:
        rows = expand_rows(args.rows or ["table"])
    except ValueError as e:
        parser.error(f"argument --rows: {e}")
    budget = with_overrides(budget, args.iterations, args.seeds, parser)
    seeds = budget["seeds"]

    try:
        check_rows(budget, args.setups, rows, seeds[0] if seeds else 0)
    except ValueError as e:
        parser.error(f"argument --rows: {e}")
    try:
        todo, unfinished, errors, wall = run_trials(
            "reproduce", output, budget, args.setups, rows, seeds, args,
            "python -m rllib_experiments reproduce", argv)
    except out.OutputBusyError as err:
        parser.error(f"argument --output: {err}")
    report.build_report(output, table, figures)
    ensure_fig1(figures)
    return finish("reproduce", todo, unfinished, errors,
                  f"{wall / 60:.1f} min; wrote {table} and {figures}/training_curves_*.png")


def finish(prog: str, todo, unfinished, errors, wrote: str) -> int:
    """Say how the run ended (failures on standard error); the exit status: 1 unless all finished."""
    print(f"{prog}: {len(todo) - len(unfinished)} of {len(todo)} trials finished "
          f"({len(errors)} failed, {len(unfinished)} unfinished: rerun the same command to resume), "
          f"{wrote}", flush=True)
    for e in errors:
        print("FAILED:", e, file=sys.stderr)
    return 1 if (errors or unfinished) else 0
