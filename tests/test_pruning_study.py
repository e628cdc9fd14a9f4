"""The pruning study's command line (rllib_experiments.cli.pruning_study; the study in
rllib_experiments.studies.pruning): its flags fail before
anything runs, --list counts a folder's trials, --report-only (with or without --seeds) rebuilds
the reports, one driver per folder, the actor sizes backfilled, and the committed reports are
those of the committed records. Made-up records: tests/test_pruning_report.py's."""

from __future__ import annotations

import csv
import json

import pytest

from rllib_experiments.studies.pruning import definitions
from rllib_experiments.studies.pruning import report as pr
from test_pruning_report import _record, _records  # the made-up records of the report tests


def test_the_search_row_is_the_searchs_recorded_best():
    """`SEARCH_A_BEST_POINT` is the search's best point as recorded, and its row key the
    `study_row` the search recorded; the paper-seeds study runs it."""
    from pathlib import Path

    from rllib_experiments.studies.common import found_rows

    best = (
        Path(__file__).resolve().parents[1]
        / "docs"
        / "results"
        / "raw"
        / "search_A_sampled"
        / "best.json"
    )
    recorded = json.loads(best.read_text())["best"][0]
    unused = set(recorded["unused"].split()) | {"seed"}
    point = {k.removeprefix("point."): v for k, v in recorded.items() if k.startswith("point.")}
    assert found_rows.SEARCH_A_BEST_POINT == {k: v for k, v in point.items() if k not in unused}
    assert recorded["study_row"] == found_rows.SEARCH_A_BEST == definitions.SEARCH_A_BEST
    assert definitions.SEARCH_A_BEST in definitions.STUDIES["paper_seeds"][1]


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--rows", "harmonic+nope"], "--rows"),
        (["--rows", "harmonic+io_dense+all0.99"], "--rows"),
        (["--study", "everything"], "--study"),
        (["--study", "rootcause", "--seeds", "1", "1"], "--seeds"),
        (["--study", "rootcause", "--setups", "Z"], "--setups"),
        (["--report-only"], "--output"),
        ([], "--study"),
    ],
)
def test_study_flags_fail_before_anything_runs(argv, flag, tmp_path, capsys):
    from rllib_experiments.cli import pruning_study

    out = tmp_path / "raw"
    with pytest.raises(SystemExit) as exc:
        pruning_study.main([*argv, "--output", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err or (flag == "--study" and "give --study" in err)
    assert not (out / "trials").exists()


def test_study_report_only_and_list(tmp_path, capsys):
    from rllib_experiments.cli import pruning_study

    raw = tmp_path / "raw"
    (raw / "trials").mkdir(parents=True)
    for r in _records():
        (raw / "trials" / f"{r['trial']}.json").write_text(json.dumps(r))
    assert pruning_study.main(["--report-only", "--output", str(raw)]) == 0
    assert (raw / "pruning.md").is_file() and (raw / "pruning.csv").is_file()
    assert (raw / "pruning_entropy_A.png").is_file()
    assert pruning_study.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in definitions.STUDIES)
    # Progress of OUTPUT's trials: rootcause is harmonic and harmonic+head_dense on seeds 0-4;
    # the records hold seeds 0-2 of both in A; paper_seeds (7 rows x 10 seeds) has dense,
    # harmonic and harmonic+head_dense seeds 0-2 in A. 600 s per trial: 4 left = 0.7 trial-hours,
    # 131 left = 21.8.
    assert pruning_study.main(["--list", "--output", str(raw)]) == 0
    listed = capsys.readouterr().out.splitlines()
    progress = {
        listed[i - 3].split(":")[0]: line.strip()
        for i, line in enumerate(listed)
        if line.strip().startswith("done ")
    }
    assert progress["rootcause"] == (
        "done A 6/10, B 0/10; 14 left, about 2.3 trial-hours at the median finished trial's 600 s"
    )
    assert progress["paper_seeds"].startswith(
        "done A 9/70, B 0/70; 131 left, about 21.8 trial-hours"
    )
    assert pruning_study.main(["--list", "--output", str(raw), "--setups", "A"]) == 0
    assert "done A 6/10; 4 left, about 0.7 trial-hours" in capsys.readouterr().out


def test_a_report_on_chosen_seeds_summarizes_only_their_records(tmp_path, capsys):
    from rllib_experiments.cli import pruning_study

    raw = tmp_path / "raw"
    (raw / "trials").mkdir(parents=True)
    extra = _record("A", "harmonic", 3, 5000, 5000)  # a fourth seed of one row only
    for r in _records() + [extra]:
        (raw / "trials" / f"{r['trial']}.json").write_text(json.dumps(r))
    assert (
        pruning_study.main(["--report-only", "--output", str(raw), "--seeds", "0", "1", "2"]) == 0
    )
    md, csv_path = raw / "pruning_seeds_0-2.md", raw / "pruning_seeds_0-2.csv"
    assert not (raw / "pruning.md").exists() and not list(raw.glob("*.png"))  # no figures
    text = md.read_text()
    assert text.startswith("# Pruning study: results on seeds 0-2")
    assert "Only the records of training seeds 0 1 2" in text and "[pruning_seeds_0-2.csv]" in text
    with open(csv_path, newline="") as f:
        rows = {r["config"]: r for r in csv.DictReader(f)}
    # harmonic on seeds 0-2: 1000, 1100, 1200 (mean 1100, std 100); seed 3's 5000 left out
    assert rows["harmonic"]["seeds"] == "3" and float(rows["harmonic"]["mean_sampled"]) == 1100.0
    assert float(rows["harmonic"]["std_sampled"]) == 100.0
    assert (
        "| `harmonic+head_dense` − `harmonic` | output layer dense vs everything pruned | 3 | +900.0"
        in text
    )
    # every seed on record: harmonic has 4, mean 2075, std sqrt((1075² + 975² + 875² + 2925²) / 3)
    assert pruning_study.main(["--report-only", "--output", str(raw)]) == 0
    full = (raw / "pruning.md").read_text()
    assert (
        full.startswith("# Pruning study: results\n")
        and "| `harmonic` | 4 | 2075.0 ± 1951.7 |" in full
    )
    with pytest.raises(SystemExit):
        pruning_study.main(["--report-only", "--output", str(raw), "--seeds", "7", "8"])
    assert "argument --seeds: no learning trial records of seeds 7-8" in capsys.readouterr().err


def test_a_second_run_into_a_busy_folder_is_refused(tmp_path, capsys):
    """Two studies over one folder would run the same trials twice and set each other's run
    folders aside: while one holds the folder, another is refused, naming the holder."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from rllib_experiments.cli import pruning_study

    out = tmp_path / "raw"
    out.mkdir()
    repo = Path(__file__).resolve().parents[1]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom rllib_experiments.run.outputs import exclusive\n"
            f"with exclusive({str(out)!r}, 'holder'):\n    print('held', flush=True)\n    time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(repo)),
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SystemExit) as exc:
            pruning_study.main(
                [
                    "--rows",
                    "harmonic",
                    "--seeds",
                    "0",
                    "--setups",
                    "A",
                    "--iterations",
                    "2",
                    "--output",
                    str(out),
                ]
            )
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "argument --output" in err and "in use by holder" in err
        assert not (out / "trials").exists()
    finally:
        holder.kill()
        holder.wait()
    from rllib_experiments.run.outputs import exclusive

    with exclusive(out, "after"):  # a killed holder leaves no stale lock behind
        pass


def test_backfill_replaces_older_writers_sizes_and_keeps_them(tmp_path, monkeypatch):
    """Records of an older writer whose run folder is here get the current writer's sizes of the
    same final weights; the old sizes are kept; records without a folder stay as they are."""
    from dsa_pettingzoo.deploy import FORMAT_VERSION
    from rllib_experiments.run import checkpoints as export_source
    from rllib_experiments.studies.pruning import actor_bytes

    run = tmp_path / "run"
    run.mkdir()
    trials = tmp_path / "raw" / "trials"
    trials.mkdir(parents=True)
    here = _record("A", "r", 0, 1.0, 2.0, nbytes={"float32": 14000, "int8": 13000})
    here["run_folder"] = "../run"  # relative to the results folder (raw), as records store it
    gone = dict(
        _record("A", "r", 1, 1.0, 2.0, nbytes={"float32": 14000, "int8": 13000}),
        run_folder=str(tmp_path / "elsewhere"),
    )
    current = dict(
        _record("A", "r", 2, 1.0, 2.0, nbytes={"float32": 1, "int8": 1}),
        run_folder=str(run),
        actor_bytes_format=FORMAT_VERSION,
    )  # absolute: an older record
    for r in (here, gone, current):
        (trials / f"{r['trial']}.json").write_text(json.dumps(r))
    monkeypatch.setattr(export_source, "resolve_checkpoint", lambda folder: folder)
    monkeypatch.setattr(export_source, "find_actor_modules", lambda ckpt: {"user_0": ckpt})
    monkeypatch.setattr(export_source, "load_module_state", lambda m: {"weights": m})
    monkeypatch.setattr(
        actor_bytes, "actor_file_bytes", lambda states, d: {"float32": 12000.0, "int8": 10000.0}[d]
    )
    assert (
        actor_bytes.backfill_actor_bytes(
            tmp_path / "raw", export_source.actor_states, log=lambda *a: None
        )
        == 1
    )
    new = json.loads((trials / "A__r__s0.json").read_text())
    assert new["actor_bytes"] == {"float32": 12000.0, "int8": 10000.0}
    assert new["actor_bytes_format"] == FORMAT_VERSION and new["actor_bytes_from"] == "checkpoint"
    assert new["actor_bytes_superseded"] == [{"format": 2, "float32": 14000, "int8": 13000}]
    assert new["final_stochastic"] == here["final_stochastic"]  # results are never touched
    assert json.loads((trials / "A__r__s1.json").read_text()) == gone
    assert json.loads((trials / "A__r__s2.json").read_text()) == current
    assert (
        actor_bytes.backfill_actor_bytes(
            tmp_path / "raw", export_source.actor_states, log=lambda *a: None
        )
        == 0
    )  # idempotent


def test_the_committed_reports_are_those_of_the_committed_records(tmp_path):
    """docs/results/pruning.csv, pruning_paper_seeds.csv and the seeds 0-4 report are what the
    report code makes of the trial records in the repository now: a change to the code or the
    records that alters a figure fails here until `pruning_study --report-only
    --allow-mixed-commits` (and `--seeds 0 1 2 3 4`) is rerun."""
    from pathlib import Path

    from rllib_experiments.studies.pruning import outputs

    repo = Path(__file__).resolve().parents[1]
    raw = repo / outputs.DEFAULT_OUTPUT
    results = repo / outputs.DEFAULT_MARKDOWN.parent
    pr.build_report(
        raw,
        tmp_path / "pruning.md",
        tmp_path / "pruning.csv",
        None,
        definitions.DISPLAY_NAMES,
        definitions.paper_seed_table(),
        allow_mixed_commits=True,  # the committed rows pool seeds of several commits
    )
    for name in ("pruning.csv", "pruning_paper_seeds.csv"):
        assert (tmp_path / name).read_text() == (results / name).read_text(), f"{name} is stale"
    md, csv_path = tmp_path / "pruning_seeds_0-4.md", tmp_path / "pruning_seeds_0-4.csv"
    pr.build_report(
        raw, md, csv_path, None, definitions.DISPLAY_NAMES, seeds=range(5), allow_mixed_commits=True
    )
    for path in (md, csv_path):
        assert path.read_text() == (results / path.name).read_text(), f"{path.name} is stale"
