"""The scale study: ours (95 % sparse) and every decentralized baseline at N = 10 ... 100 users.

Usage::

    python -m rllib_experiments scale                                  # the whole study
    python -m rllib_experiments scale --sizes 10 20 --setups A --seeds 0
    python -m rllib_experiments scale --budget smoke --sizes 4 --output /tmp/s   # CI check
    python -m rllib_experiments scale --report-only                    # md, csv, figures

For every N of ``--sizes`` (K = N/2 channels) and setup of ``--setups``, the ``ours`` row
trains once per seed and every baseline of :data:`BASELINES` is evaluated once, on the
evaluation episodes every command shares (``rllib_experiments.evaluation.EVAL_SEED``).

A trial of ours is a reproduce trial (:func:`rllib_experiments.studies.common.trials.run_row_trial`) of
row ``ours`` under a budget whose preset is ``scale_<setup>_N<N>``: its raw record lands in
``OUTPUT/N<N>/trials/<setup>__ours__s<seed>.json`` (one reproduce-layout folder per N, so
the reproduce trial ids stay unique), a baseline's in ``<setup>__<name>__s0.json`` beside
it. Each record gains ``num_users`` and ``cpu_s``, the trial process's CPU time
(``time.process_time``). A trial whose record exists for the budget is never rerun, so
the same command resumes an interrupted study. Trials run seed-major (every baseline,
then seed 0 of every (N, setup), then seed 1, ...), so a partial study covers every cell.

Budgets: ``scale`` (the paper's per-trial budget: 1000 iterations, of which ours trains
300 of 8 episodes, evaluation every 10 iterations over 100 episodes; seeds 0-4) and
``smoke`` (any even N with the ``tiny`` networks and T = 20: a pipeline check).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from dsa_pettingzoo.config import SCALE_NUM_USERS, SETUPS
from rllib_experiments.cli.args import add_trial_flags, int_at_least
from rllib_experiments.cli.scale_transfer import REEVALUATION_TOLERANCE, exported_greedy, transfer_trials
from rllib_experiments.cli.reproduce import (RECORD_KEY, check_rows, finish, is_finished, log_run,
                                            set_aside_superseded, with_overrides)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "docs" / "results" / "raw" / "scale"
ROW = "ours"

#: The decentralized baselines evaluated beside ours, then the oracle (the ratio's denominator).
BASELINES = ("aloha", "oca", "musical_chairs", "musical_chairs_rss", "mctopm", "randtopm",
             "game_of_thrones", "oracle")

#: Budgets: ``preset`` takes ``{n}`` (the number of users) and ``{setup}``; ``env`` is the
#: environment of every trial beyond the preset's (smoke's horizon, a training reward), with
#: N and K = N/2 filled in.
_STUDY = dict(name="scale", preset="scale_{{setup}}_N{n}", iterations=1000,
              eval_interval=10, eval_episodes=100, seeds=[0, 1, 2, 3, 4])
BUDGETS: Dict[str, Dict[str, Any]] = {
    "scale": _STUDY,
    "scale_bf16": dict(_STUDY, name="scale_bf16", overrides={"autocast_bf16": True}),
    # ours trains on the difference reward (docs/environment.md#rewards); everything is
    # still evaluated and reported in the sum rate
    "scale_bf16_difference": dict(_STUDY, name="scale_bf16_difference",
                                  overrides={"autocast_bf16": True}, env={"reward": "difference"}),
    "smoke": dict(name="scale_smoke", preset="tiny", iterations=10, eval_interval=2,
                  eval_episodes=4, seeds=[0], env={"horizon": 20}),
}
#: Where each budget's records go unless --output says otherwise: a budget's records never
#: share a folder with another's (the bf16 study sits beside the float32 one, not in it).
DEFAULT_OUTPUTS = {"scale": DEFAULT_OUTPUT, "scale_bf16": DEFAULT_OUTPUT.with_name("scale_bf16"),
                   "scale_bf16_difference": DEFAULT_OUTPUT.with_name("scale_bf16_difference"),
                   "smoke": None}


def budget_for(budget: Dict[str, Any], n: int) -> Dict[str, Any]:
    """The reproduce budget of the trials at N = ``n`` users (a preset per setup, K = N/2)."""
    b = {k: v for k, v in budget.items() if k != "env"}
    b.update(num_users=n, preset=budget["preset"].format(n=n))
    if "env" in budget:
        b["overrides"] = {**budget.get("overrides", {}),
                          "env": {**budget["env"], "num_users": n, "num_channels": n // 2}}
    return b


def size_folder(output: Path, n: int) -> Path:
    """The reproduce-layout folder of the records at N = ``n``."""
    return Path(output) / f"N{n}"


def plan_trials(sizes: Sequence[int], setups: Sequence[str], seeds: Sequence[int]) -> List[Dict]:
    """Every trial: the baselines (cheap), then seed-major over (N, setup) for ours."""
    trials = [dict(row=b, setup=s, seed=0, num_users=n)
              for n in sizes for s in setups for b in BASELINES]
    trials += [dict(row=ROW, setup=s, seed=seed, num_users=n)
               for seed in seeds for n in sizes for s in setups]
    return trials


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments scale",
        description="Train ours at N = 10 ... 100 users (K = N/2) in setups A, B, C and evaluate "
                    "every decentralized baseline on the same episodes, through Ray Tune, "
                    "resumably; writes docs/results/scale.md/.csv and figures.")
    p.add_argument("--budget", choices=sorted(BUDGETS), default="scale",
                   help="scale (the study), scale_bf16 (the same with the actors' training "
                        "forward and backward under bfloat16 autocast, Settings.autocast_bf16: "
                        "about 2x faster on CPUs with AVX512-BF16 or AMX, emulated and slower "
                        "elsewhere; records default to docs/results/raw/scale_bf16, report in "
                        "that folder), scale_bf16_difference (scale_bf16 with ours trained on the "
                        "difference reward, each user's marginal contribution to the sum rate, "
                        "docs/environment.md#rewards; evaluated in the sum rate like everything; "
                        "records in docs/results/raw/scale_bf16_difference) or smoke (tiny "
                        "networks, T = 20: a pipeline check; needs --output). Default scale.")
    p.add_argument("--sizes", nargs="+", type=int_at_least(2), default=list(SCALE_NUM_USERS),
                   metavar="N", help="numbers of users N (even; K = N/2). Default "
                   f"{' '.join(map(str, SCALE_NUM_USERS))} (the sizes with a scale preset).")
    p.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS),
                   help="setups (A: no PUs, B: i.i.d. PUs, C: Markov PUs). Default A B C.")
    p.add_argument("--seeds", nargs="+", type=int_at_least(0), default=None, metavar="SEED",
                   help="training seeds of ours (default: the budget's, 0 1 2 3 4 for scale)")
    p.add_argument("--iterations", type=int_at_least(1), default=None,
                   help="override the budget's iterations (ours trains 0.3 of them, at least 2, "
                        "like in reproduce; default 1000 -> 300)")
    p.add_argument("--output", default=None,
                   help=f"folder of the raw per-trial records (default {DEFAULT_OUTPUT.relative_to(REPO)} of this package's checkout for "
                        "--budget scale, docs/results/raw/<budget> for the others; smoke has "
                        "no default)")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: rebuild the md, csv and figures from OUTPUT's records")
    p.add_argument("--transfer-only", action="store_true",
                   help="train nothing: only add the row ours_from_A, ours' final actors of setup "
                        "A (same N, seed, budget; their records and run folders in OUTPUT) "
                        "evaluated unchanged in the other --setups, and the baselines missing "
                        "there, then rebuild the report. A normal run adds this row too, after "
                        "its trials")
    p.add_argument("--reference", default=None, metavar="FOLDER",
                   help="another study folder whose ours the report compares with ours in "
                        "OUTPUT, paired by seed (e.g. docs/results/raw/scale_bf16 for a longer "
                        "bf16 run, so that both sides share the precision); default the float32 "
                        f"study's {DEFAULT_OUTPUT.relative_to(REPO)} for every other folder, none for that one")
    add_trial_flags(p, tune_dir="/tmp/dsa_scale_tune", runs_dir="runs/scale",
                    runs_help="folder of the training runs of ours (RUNS_DIR/N<N>/<trial id>)")
    return p


def _is_study_folder(output: Path) -> bool:
    """Is ``output`` the float32 study's own folder (whose report goes to docs/results/)?"""
    return Path(output).resolve() == DEFAULT_OUTPUT.resolve()


def _reference(output: Path, given: Optional[str] = None) -> Optional[Path]:
    """The folder whose ours the report of ``output`` compares with: ``given`` (--reference),
    else the float32 study's folder; None for the study's own folder without --reference."""
    if given is not None:
        return Path(given)
    return None if _is_study_folder(output) or not DEFAULT_OUTPUT.is_dir() else DEFAULT_OUTPUT


def _report_paths(output: Path):
    default = _is_study_folder(output)
    results = REPO / "docs" / "results" if default else Path(output)
    figures = REPO / "docs" / "figures" if default else Path(output)
    return results / "scale.md", results / "scale.csv", figures


def resolve(argv: Optional[Sequence[str]] = None):
    """Parse and check every flag (exit 2 naming the flag); returns (args, budget, trials)."""
    from rllib_experiments.run import outputs as out

    parser = _parser()
    args = parser.parse_args(argv)
    if args.output is None:
        if DEFAULT_OUTPUTS[args.budget] is None:
            parser.error(f"argument --output: --budget {args.budget} has no default folder "
                         "(its records must not land beside the study's): give --output")
        args.output = str(DEFAULT_OUTPUTS[args.budget])
    output = Path(args.output)
    if args.reference is not None:
        ref = Path(args.reference)
        if not any(ref.glob("N*/trials/*.json")):
            parser.error(f"argument --reference: {args.reference!r} holds no study records "
                         "(N<N>/trials/*.json); give a folder written by this command")
        if ref.resolve() == output.resolve():
            parser.error(f"argument --reference: {args.reference!r} is the --output folder "
                         "itself; give another study folder")
    if args.transfer_only and args.report_only:
        parser.error("argument --transfer-only: not allowed with --report-only (which runs nothing)")
    if args.transfer_only and not output.is_dir():
        parser.error(f"argument --output: {str(output)!r} holds no records of ours in setup A to "
                     "transfer (--transfer-only)")
    if args.report_only:
        if not output.is_dir():
            parser.error(f"argument --output: {str(output)!r} holds no raw records to report")
        return args, None, []
    try:
        out.check_owner(output, "scale")
    except out.OutputExistsError as err:
        parser.error(f"argument --output: {err}")
    budget = with_overrides(BUDGETS[args.budget], args.iterations, args.seeds, parser)
    seeds = budget["seeds"]
    sizes = list(dict.fromkeys(args.sizes))
    odd = [n for n in sizes if n % 2]
    if odd:
        parser.error(f"argument --sizes: N must be even (K = N/2 channels), got {odd}")
    for n in sizes:
        try:
            check_rows(budget_for(budget, n), args.setups, [ROW], seeds[0])
        except ValueError as err:
            hint = (f"; --budget scale has presets for N in {list(SCALE_NUM_USERS)}, --budget "
                    "smoke takes any even N") if "unknown preset" in str(err) else ""
            parser.error(f"argument --sizes: N = {n}: {err}{hint}")
    trials = plan_trials(sizes, args.setups, seeds)
    try:
        for t in trials:
            t["finished"] = is_finished(size_folder(output, t["num_users"]), t,
                                        budget_for(budget, t["num_users"]))
    except ValueError as err:
        parser.error(f"argument --output: {err}")
    return args, budget, trials


# ---------------------------------------------------------------------- trials
def baseline_trial(name: str, setup: str, budget: Dict[str, Any], raw_dir: Path) -> Dict[str, Any]:
    """Evaluate baseline ``name`` on the evaluation episodes; writes its record (reproduce layout)."""
    from rllib_experiments.evaluation import EVAL_SEED, evaluate_baseline
    from rllib_experiments.run.outputs import write_json_atomic
    from rllib_experiments.studies.common.trials import base_settings, trial_id

    start = time.time()
    env_kwargs = base_settings(budget, setup, 0).env_kwargs()
    summary = evaluate_baseline(name, env_kwargs, episodes=budget["eval_episodes"])
    record = dict(trial=trial_id(setup, name, 0), row=name, label=name, setup=setup, seed=0,
                  budget=budget["name"], kind="baseline", eval_mode=None, eval_seed=EVAL_SEED,
                  eval_episodes=budget["eval_episodes"], final_reward=summary["mean_reward"],
                  final_reward_std=summary["std_reward"], iterations=0, episodes_trained=0,
                  curve=[], env_kwargs=env_kwargs,
                  summary={k: v for k, v in summary.items() if isinstance(v, (int, float))},
                  wall_s=time.time() - start,
                  finished_at=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    write_json_atomic(Path(raw_dir) / "trials" / f"{record['trial']}.json", record)
    return record


def run_trial(trial: Dict[str, Any], budget: Dict[str, Any], output: Path, runs_dir: Path,
              report=None) -> Dict[str, Any]:
    """One trial of the study in this process; its record, with ``num_users`` and ``cpu_s``."""
    from rllib_experiments.run.outputs import write_json_atomic
    from rllib_experiments.studies.common.trials import run_row_trial

    n = trial["num_users"]
    b, raw = budget_for(budget, n), size_folder(output, n)
    cpu0 = time.process_time()
    if trial["row"] == ROW:
        rec = run_row_trial(ROW, trial["setup"], trial["seed"], b, str(raw),
                            str(Path(runs_dir) / f"N{n}"), report=report)
    else:
        rec = baseline_trial(trial["row"], trial["setup"], b, raw)
    rec.update(num_users=n, cpu_s=time.process_time() - cpu0)
    write_json_atomic(raw / "trials" / f"{rec['trial']}.json", rec)
    return rec


def _tune_trainable(config: Dict[str, Any]) -> None:
    from ray import tune

    try:  # Ray starts workers at niceness 15; a trial is the real work
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except (OSError, AttributeError):
        pass
    rec = run_trial(config["trial"], config["budget"], Path(config["output"]),
                    Path(config["runs_dir"]), report=lambda m: tune.report(m))
    # The record goes back to the driver too: on a cluster the trial's file is on its node.
    tune.report({"done_reward": rec["final_reward"], "iteration": rec.get("iterations", 0),
                 RECORD_KEY: json.dumps(rec)})


def run_tune(trials: List[Dict[str, Any]], budget: Dict[str, Any], output: Path, args) -> List[str]:
    """Run the trials as one Tune grid (in plan order); returns the failed trials' errors.
    Each record lands in its N's folder (reproduce's Tune wrapper, this module's trial)."""
    from rllib_experiments.cli.reproduce import run_tune as tune_grid

    return tune_grid(trials, budget, output, args, trainable=_tune_trainable, name="scale",
                     record_path=lambda rec: size_folder(output, rec["num_users"]) / "trials" /
                     f"{rec['trial']}.json")


def backfill_final_summary(output: Path, log=print) -> int:
    """Learning records without the statistics of ``final_summary`` (trained before trials
    kept their final evaluation's statistics) get its greedy half by re-evaluating their run folder's final
    checkpoint, exported, on the same episodes. Written only when the re-evaluated reward
    equals the record's ``final_greedy`` (within REEVALUATION_TOLERANCE); marked
    ``final_summary_from``. Only diagnostics change. Returns the count."""
    import json
    import tempfile

    from rllib_experiments.run.export import export_checkpoint
    from rllib_experiments.run.outputs import write_json_atomic

    done = 0
    for path in sorted(output.glob("N*/trials/*.json")):
        rec = json.loads(path.read_text())
        folder = Path(rec.get("run_folder") or "")
        has = "collision_rate" in (rec.get("final_summary") or {}).get("greedy", {})
        if rec.get("kind") != "learning" or has or not folder.is_dir():
            continue  # (records of 2026-12-02 20:20-20:50 kept only the rewards: they are redone)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                export_checkpoint(folder, Path(tmp) / "actors", log=lambda *a, **k: None)
                summary = exported_greedy(Path(tmp) / "actors", rec["env_kwargs"], rec)
        except Exception as err:  # noqa: BLE001 -- a missing or odd checkpoint: leave the record
            log(f"scale: no final statistics for {path.name} ({type(err).__name__}: {err})")
            continue
        if abs(summary["mean_reward"] - rec["final_greedy"]) > REEVALUATION_TOLERANCE:
            log(f"scale: {path.name}: the exported actors play {summary['mean_reward']:.6f}, the "
                f"record says {rec['final_greedy']:.6f}; its statistics are left out")
            continue
        rec["final_summary"] = {"greedy": summary}
        rec["final_summary_from"] = "final checkpoint, exported, greedy re-evaluation"
        write_json_atomic(path, rec)
        done += 1
    return done


def _env_for(budget: Dict[str, Any]):
    """The environment of setup ``setup`` at N users under ``budget`` (the baselines' too)."""
    from rllib_experiments.studies.common.trials import base_settings

    return lambda setup, n: base_settings(budget_for(budget, n), setup, 0).env_kwargs()


def main(argv: Optional[Sequence[str]] = None) -> int:
    from rllib_experiments.run import outputs as out
    from rllib_experiments.studies.scale import report as scale_report

    args, budget, trials = resolve(argv)
    output = Path(args.output)
    md, csv, figures = _report_paths(output)
    if args.report_only:
        backfill_final_summary(output)
        scale_report.build_report(output, md, csv, figures,
                                  reference=_reference(output, args.reference))
        print(f"wrote {md}, {csv} and {figures}/scale_*.png")
        return 0
    if args.transfer_only:
        try:
            with out.exclusive(output, "scale"):
                added = transfer_trials(output, _env_for(budget), args.sizes, args.setups, budget["seeds"])
                missing = [t for t in trials if not t["finished"] and t["row"] != ROW]
                for t in missing:  # the baselines of the same episodes: cheap, in this process
                    print(f"scale: evaluating {t['row']} in {t['setup']} at N = {t['num_users']}",
                          flush=True)
                    run_trial(t, budget, output, Path(args.runs_dir))
        except out.OutputBusyError as err:
            print(f"python -m rllib_experiments scale: error: argument --output: {err}", file=sys.stderr)
            return 2
        scale_report.build_report(output, md, csv, figures,
                                  reference=_reference(output, args.reference))
        print(f"scale: {added} records of ours_from_A and {len(missing)} of baselines written; "
              f"wrote {md}, {csv}")
        return 0
    todo = [{k: v for k, v in t.items() if k != "finished"} for t in trials if not t["finished"]]
    print(f"scale: budget {budget['name']} ({budget['iterations']} iterations, seeds "
          f"{budget['seeds']}), N {args.sizes}, setups {args.setups}: {len(trials)} trials, "
          f"{len(trials) - len(todo)} already finished, {len(todo)} to run; records in {output}",
          flush=True)
    output.mkdir(parents=True, exist_ok=True)
    for n in sorted({t["num_users"] for t in todo}):
        for p in set_aside_superseded(size_folder(output, n), [t for t in todo if t["num_users"] == n]):
            print(f"scale: an older record of a trial to rerun was kept as {p}", flush=True)
    start = time.time()
    try:
        with out.exclusive(output, "scale"):
            errors = run_tune(todo, budget, output, args) if todo else []
            transfer_trials(output, _env_for(budget), args.sizes, args.setups, budget["seeds"])
    except out.OutputBusyError as err:
        print(f"python -m rllib_experiments scale: error: argument --output: {err}", file=sys.stderr)
        return 2
    wall = time.time() - start
    unfinished = [t for t in todo if not is_finished(size_folder(output, t["num_users"]), t,
                                                     budget_for(budget, t["num_users"]))]
    log_run(output / out.SCALE_LOG, "python -m rllib_experiments scale", argv, todo, unfinished,
            errors, wall, budget=budget, sizes=args.sizes, setups=args.setups)
    backfill_final_summary(output)
    scale_report.build_report(output, md, csv, figures,
                              reference=_reference(output, args.reference))
    return finish("scale", todo, unfinished, errors, f"{wall / 60:.1f} min; wrote {md}, {csv}")
