"""The pruning study (issue 13): variants of the pruning rows, many seeds, the paper's budget.

Usage::

    python -m rllib_experiments pruning_study --list                 # the named studies
    python -m rllib_experiments pruning_study --study rootcause      # run (or resume) one
    python -m rllib_experiments pruning_study --rows harmonic+hold --seeds 0 1 2 --setups A
    python -m rllib_experiments pruning_study --report-only          # rebuild the report
    python -m rllib_experiments pruning_study --report-only --seeds 0 1 2 3 4   # same seeds only

Every trial is a reproduce trial (:func:`rllib_experiments.studies.common.trials.run_row_trial`: the one
training loop and the one evaluator) of a Table I row or of a variant row
(:mod:`rllib_experiments.methods.variants`), at the paper's budget (1000 one-episode
iterations, evaluation every 10 over 100 episodes) unless ``--iterations`` says otherwise.
Finished trials (``OUTPUT/trials/<setup>__<row>__s<seed>.json``) are never rerun: a rerun of
the same command resumes the study (a trial that was running starts again). Afterwards
:func:`rllib_experiments.studies.pruning.report.build_report` writes docs/results/pruning.md,
docs/results/pruning.csv and the figures docs/figures/pruning_*.png.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, Optional, Sequence

from dsa_pettingzoo.config import SETUPS
from rllib_experiments.cli.args import add_trial_flags, int_at_least

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "docs" / "results" / "raw" / "pruning"
DEFAULT_MARKDOWN = REPO / "docs" / "results" / "pruning.md"
DEFAULT_CSV = REPO / "docs" / "results" / "pruning.csv"
DEFAULT_FIGURES = REPO / "docs" / "figures"

SCOPES = ["harmonic+input_dense", "harmonic+io_dense", "harmonic+lstm_only", "harmonic+global",
          "harmonic+head_dense+global"]
MECHANICS = ["harmonic+hold", "harmonic+iprune1", "harmonic+iprune20", "harmonic+amp0",
             "harmonic+amp0.2", "harmonic+period0.1", "harmonic+period0.5"]
#: The best configuration of the Optuna search in setup A (issue 13, part 2), as its `study_row`
#: in docs/results/raw/search_A_sampled/best.json: it reruns the search's trial exactly.
SEARCH_A_BEST = ("polynomial+head_dense+regrow+start0.09414792143144478+end0.6939524929497025"
                 "+iprune5+p0.95+alr0.0004830580082632251+clr0.0005493363728237828")
#: Short names the report shows for rows whose keys are too long for a table or a figure.
DISPLAY_NAMES = {SEARCH_A_BEST: "search_A_best"}
#: name -> (what it asks, rows, seeds); setups A and B unless --setups.
STUDIES: Dict[str, tuple] = {
    "rootcause": ("harmonic with everything pruned vs its output layer kept dense",
                  ["harmonic", "harmonic+head_dense"], list(range(5))),
    "scope": ("which layers to prune, and layer-wise vs global ranking", SCOPES, list(range(5))),
    "mechanics": ("regrow vs hold, i_prune, the harmonic amplitude and period (scope as the paper)",
                  MECHANICS, list(range(3))),
    "schedules_head_dense": ("the other schedules with the output layer dense",
                             ["linear+head_dense", "polynomial+head_dense"], list(range(5))),
    "paper_seeds": ("the pruning rows of Table I on the paper's 10 seeds, with the best found in "
                    "the root-cause study and in the search",
                    ["dense", "harmonic", "linear", "polynomial", "polynomial200",
                     "harmonic+head_dense", SEARCH_A_BEST], list(range(10))),
    "sparsity": ("the sparsest actors that still coordinate (of all actor parameters)",
                 ["ours+head_dense+all0.95", "ours+head_dense+all0.98",
                  "ours+head_dense+biases+all0.99", "ours+global+biases+all0.99",
                  "ours+global+biases+all0.995", "ours_dense", "harmonic+head_dense+all0.98",
                  "harmonic+head_dense+biases+all0.99"], list(range(5))),
    "bf16": ("ours trained with bfloat16 autocast vs float32, paired by seed (run side by side)",
             ["ours", "ours+bf16"], list(range(3))),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m rllib_experiments pruning_study",
        description="Run the pruning study resumably (reproduce trials of Table I rows and their "
                    "variants at the paper's budget) and write docs/results/pruning.md and .csv.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--study", choices=sorted(STUDIES), help="a named study (see --list)")
    what.add_argument("--rows", nargs="+", metavar="ROW",
                      help="rows or variants BASE+MOD... to run (rllib_experiments.methods.variants)")
    what.add_argument("--list", action="store_true",
                      help="print the named studies, how many of their trials OUTPUT holds (per "
                           "--setups) and the trial-hours left, and exit")
    what.add_argument("--report-only", action="store_true",
                      help="run nothing: rebuild the report from OUTPUT's records; with --seeds, instead "
                           "write a report of only those seeds' records beside it "
                           "(pruning_seeds_0-4.md and .csv for --seeds 0 1 2 3 4, no figures)")
    p.add_argument("--setups", nargs="+", choices=list(SETUPS), default=["A", "B"],
                   help="setups to run (default A B)")
    p.add_argument("--seeds", nargs="+", type=int_at_least(0), default=None,
                   help="training seeds (default: the study's; 0-4 with --rows); with --report-only, the "
                        "seeds of that restricted report")
    p.add_argument("--iterations", type=int_at_least(1), default=None,
                   help="training iterations of the paper's rows (default 1000, the paper's)")
    p.add_argument("--output", default=str(DEFAULT_OUTPUT),
                   help=f"folder of the raw trial records (default {DEFAULT_OUTPUT.relative_to(REPO)} of the checkout this package runs from)")
    p.add_argument("--markdown", default=None, help="report to write (default docs/results/pruning.md "
                   "with the default --output, else OUTPUT/pruning.md)")
    p.add_argument("--figures", default=None, help="folder of the figures (default docs/figures with "
                   "the default --output, else OUTPUT)")
    add_trial_flags(p, tune_dir="/tmp/dsa_pruning_tune", runs_dir="runs/pruning",
                    runs_help="folder of every trial's training run (progress.csv, final checkpoint)")
    return p


def paper_seed_table() -> tuple:
    """(rows, seeds, command) of the report's section on the paper's statistic: the
    ``paper_seeds`` study (:func:`rllib_experiments.studies.pruning.report.build_report`)."""
    _, rows, seeds = STUDIES["paper_seeds"]
    return rows, seeds, "python -m rllib_experiments pruning_study --study paper_seeds"


def report_paths(args) -> tuple:
    output = Path(args.output)
    default = output.resolve() == DEFAULT_OUTPUT.resolve()
    md = Path(args.markdown) if args.markdown else (DEFAULT_MARKDOWN if default else output / "pruning.md")
    csv_path = DEFAULT_CSV if default and not args.markdown else md.with_suffix(".csv")
    figures = Path(args.figures) if args.figures else (DEFAULT_FIGURES if default else output)
    return output, md, csv_path, figures


def study_progress(output: Path, setups: Sequence[str]) -> str:
    """The named studies with how many of their trials ``output`` holds, per setup, and the
    trial-hours left at the median recorded trial time (``wall_s`` of its finished trials:
    of whatever machine and concurrency ran them)."""
    import statistics

    from rllib_experiments.studies.common.trials import trial_id

    trials = output / "trials"
    walls = []
    for path in sorted(trials.glob("*.json")) if trials.is_dir() else []:
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if rec.get("kind") == "learning" and rec.get("wall_s"):
            walls.append(float(rec["wall_s"]))
    median = statistics.median(walls) if walls else None
    lines = []
    for name, (question, rows, seeds) in STUDIES.items():
        lines += [f"{name}: {question}", f"    rows {' '.join(rows)}", f"    seeds {seeds[0]}-{seeds[-1]}"]
        done = {setup: sum((trials / f"{trial_id(setup, row, seed)}.json").is_file()
                           for row in rows for seed in seeds) for setup in setups}
        total = len(rows) * len(seeds)
        left = total * len(setups) - sum(done.values())
        state = ", ".join(f"{setup} {done[setup]}/{total}" for setup in setups)
        cost = (f"; {left} left, about {left * median / 3600:.1f} trial-hours at the median "
                f"finished trial's {median:.0f} s" if left and median else f"; {left} left")
        lines.append(f"    done {state}{cost}")
    return "\n".join(lines)


def backfill_actor_bytes(output: Path, log=print) -> int:
    """Records without their actors' file sizes, or with sizes of an older file writer
    (``actor_bytes_format`` below the current format version), get them from their run
    folder's final checkpoint (the same weights), marked ``actor_bytes_from: checkpoint``;
    replaced sizes are kept under ``actor_bytes_superseded``. Only trial diagnostics
    change, never a result. Records whose run folder is not on this machine are left as
    they are. Returns the count."""
    from dsa_pettingzoo.deploy import FORMAT_VERSION
    from rllib_experiments.run.checkpoints import find_actor_modules, load_module_state, \
        resolve_checkpoint
    from rllib_experiments.dsa.actor_files import actor_file_bytes
    from rllib_experiments.studies.pruning.report import OLDEST_BYTES_FORMAT
    from rllib_experiments.run.outputs import write_json_atomic

    done = 0
    for path in sorted((output / "trials").glob("*.json")):
        rec = json.loads(path.read_text())
        folder = Path(rec.get("run_folder") or "")
        old = rec.get("actor_bytes")
        old_format = int(rec.get("actor_bytes_format", OLDEST_BYTES_FORMAT))
        if rec.get("kind") != "learning" or not folder.is_dir() or (old and old_format >= FORMAT_VERSION):
            continue
        try:
            modules = find_actor_modules(resolve_checkpoint(folder))
            states = [load_module_state(m) for m in modules.values()]
            sizes = {d: actor_file_bytes(states, d) for d in ("float32", "int8")}
        except Exception as err:  # noqa: BLE001 -- a missing or odd checkpoint: leave the record
            log(f"pruning_study: no actor sizes for {path.name} ({type(err).__name__}: {err})")
            continue
        if old:
            rec.setdefault("actor_bytes_superseded", []).append(
                {"format": old_format, **old, **({"from": rec["actor_bytes_from"]}
                                                  if "actor_bytes_from" in rec else {})})
        rec["actor_bytes"], rec["actor_bytes_format"] = sizes, FORMAT_VERSION
        rec["actor_bytes_from"] = "checkpoint"
        write_json_atomic(path, rec)
        done += 1
    return done


def main(argv: Optional[Sequence[str]] = None) -> int:
    from rllib_experiments.studies.pruning import report as pruning_report
    from rllib_experiments.run import outputs as out
    from rllib_experiments.cli import reproduce
    from rllib_experiments.methods import expand_rows

    parser = _parser()
    args = parser.parse_args(argv)
    if args.list:
        print(study_progress(Path(args.output), args.setups))
        return 0
    output, md, csv_path, figures = report_paths(args)
    if args.report_only:
        if not (output / "trials").is_dir():
            parser.error(f"argument --output: {str(output)!r} holds no trial records")
        backfill_actor_bytes(output)
        if args.seeds is not None:
            label = pruning_report.seed_label(args.seeds)
            md = md.with_name(f"{md.stem}_seeds_{label}.md")
            csv_path = csv_path.with_name(f"{csv_path.stem}_seeds_{label}.csv")
            try:
                pruning_report.build_report(output, md, csv_path, None, DISPLAY_NAMES, seeds=args.seeds)
            except ValueError as err:
                parser.error(f"argument --seeds: {err}")
            print(f"wrote {md} and {csv_path}")
            return 0
        pruning_report.build_report(output, md, csv_path, figures, DISPLAY_NAMES, paper_seed_table())
        print(f"wrote {md}, {csv_path} and {figures}/pruning_*.png")
        return 0
    if not args.study and not args.rows:
        parser.error("give --study NAME, --rows ROW..., --list or --report-only")
    rows = STUDIES[args.study][1] if args.study else args.rows
    study_seeds = STUDIES[args.study][2] if args.study else list(range(5))
    budget = reproduce.with_overrides(dict(reproduce.BUDGETS["paper"], seeds=study_seeds),
                                      args.iterations, args.seeds, parser)
    seeds = budget["seeds"]
    try:
        rows = expand_rows(rows)
        out.check_owner(output, "reproduce")
    except ValueError as err:
        parser.error(f"argument {'--rows' if args.rows else '--study'}: {err}")
    try:
        reproduce.check_rows(budget, args.setups, rows, seeds[0])
        for trial in reproduce.plan_trials(budget, args.setups, rows, seeds):
            reproduce.is_finished(output, trial, budget)  # a record of another budget: refused
    except ValueError as err:  # e.g. a variant no trial could run (all0.999 with a dense head)
        parser.error(f"argument {'--rows' if args.rows else '--study'}: {err}")
    try:
        todo, unfinished, errors, _ = reproduce.run_trials(
            "pruning_study", output, budget, args.setups, rows, seeds, args,
            "python -m rllib_experiments pruning_study", argv)
    except out.OutputBusyError as err:
        parser.error(f"argument --output: {err}")
    backfill_actor_bytes(output)
    pruning_report.build_report(output, md, csv_path, figures, DISPLAY_NAMES, paper_seed_table())
    return reproduce.finish("pruning_study", todo, unfinished, errors, f"wrote {md}")
