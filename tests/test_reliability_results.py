"""What the commands do with existing folders: a finished record is never replaced or joined
by one made otherwise, a folder in use is refused before anything moves, a file that is not a
record stops a report naming it, and a folder that cannot be written is an error naming the
flag (docs/training.md, "What commands do with existing folders")."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rllib_experiments.run import outputs as out
from rllib_experiments.studies.common.runner import (
    Layout,
    RecordConflictError,
    plan,
    set_aside_superseded,
)

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MPLBACKEND="Agg")


def _record(path, **kw):
    rec = dict(trial=path.stem, row="aloha", setup="A", seed=0, kind="baseline", budget="smoke")
    rec.update(final_reward=1.0, final_reward_std=0.0, env_kwargs={"num_users": 4}, iterations=0)
    rec.update(kw)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))
    return path


def _cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "rllib_experiments", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        timeout=300,
    )


def _holder(folder, prog="holder"):
    """A second process holding ``folder``'s lock until killed."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom rllib_experiments.run.outputs import exclusive\n"
            f"with exclusive({str(folder)!r}, {prog!r}):\n    print('held', flush=True)\n"
            "    time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert p.stdout.readline().strip() == "held"
    return p


def test_finished_record_of_other_budget_iterations_or_commit_is_refused_not_replaced(tmp_path):
    from rllib_experiments.studies.table1.budgets import BUDGETS

    budget = dict(BUDGETS["smoke"])
    layout = Layout(tmp_path, budget)
    dense = dict(row="dense", setup="A", seed=0)
    path = layout.record_path(dense)
    _record(path, row="dense", kind="learning", iterations=budget["iterations"] + 7)
    before = path.read_text()
    with pytest.raises(RecordConflictError) as err:
        plan(layout, [dense])
    msg = str(err.value)
    assert path.name in msg and "iterations" in msg and "--supersede" in msg
    assert "another --output" in msg
    _record(path, row="dense", kind="learning", budget="quick")
    with pytest.raises(RecordConflictError, match="budget 'quick'"):
        plan(layout, [dense])
    # a record of another trial of another commit: this run's records would join it
    other = _record(tmp_path / "trials" / "A__aloha__s0.json", code={"commit": "0" * 40})
    path.unlink()
    with pytest.raises(RecordConflictError, match="commit 000000000000") as err:
        plan(layout, [dense])
    assert "move the other records" in str(err.value) and "--supersede" not in str(err.value)
    todo, aside = plan(layout, [dense], allow_mixed_commits=True)
    assert todo == [dense] and aside == []
    other.unlink()
    # --supersede: the planned trial's record goes aside with a pointer, never deleted
    _record(path, row="dense", kind="learning", iterations=1)
    before = path.read_text()
    todo, aside = plan(layout, [dense], supersede=True)
    assert todo == [dense] and [p for p, _ in aside] == [path] and path.is_file()
    (moved,) = set_aside_superseded(aside, "test")
    assert not path.exists() and moved.read_text() == before
    index = [
        json.loads(x)
        for x in (tmp_path / "superseded" / "index.jsonl").read_text().split("\n")
        if x
    ]
    assert index[0]["record"] == f"trials/{path.name}" and index[0]["moved_to"] == moved.name


def test_scale_refuses_a_run_whose_records_differ_and_moves_nothing(tmp_path):
    """A quick run into a folder holding another iteration count's record: exit 2, the
    record unchanged (a real process, refused before Ray starts)."""
    rec = _record(
        tmp_path / "s" / "N4" / "trials" / "A__ours__s0.json",
        row="ours",
        kind="learning",
        iterations=300,
        num_users=4,
        budget="scale_smoke",
    )
    before = rec.read_text()
    r = _cli(
        "scale", "--budget", "smoke", "--sizes", "4", "--setups", "A", "--seeds", "0",
        "--iterations", "2", "--output", str(tmp_path / "s"),
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "argument --output" in r.stderr and "A__ours__s0.json" in r.stderr
    assert "300 iterations" in r.stderr and "--supersede" in r.stderr, r.stderr[-600:]
    assert rec.read_text() == before and not (tmp_path / "s" / "N4" / "superseded").exists()


def test_scale_in_use_is_refused_before_any_record_moves(tmp_path):
    """--supersede into a folder another process holds: refused, and the record it would
    replace is still where it was (the lock comes before anything is moved)."""
    folder = tmp_path / "s"
    rec = _record(
        folder / "N4" / "trials" / "A__ours__s0.json",
        row="ours",
        kind="learning",
        iterations=300,
        num_users=4,
    )
    holder = _holder(folder)
    try:
        r = _cli(
            "scale", "--budget", "smoke", "--sizes", "4", "--setups", "A", "--seeds", "0",
            "--iterations", "2", "--output", str(folder), "--supersede",
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 2 and "in use by holder" in r.stderr, r.stderr
    assert rec.is_file() and not (folder / "N4" / "superseded").exists()


def test_train_refuses_an_output_another_train_holds(tmp_path):
    """Two train processes on one --output: the second is refused (exit 2, naming --output),
    whatever the timing, and writes nothing into the folder."""
    folder = tmp_path / "race"
    holder = _holder(folder, "train")  # what a running train holds
    try:
        r = _cli("train", "--preset", "tiny", "--iterations", "2", "--seed", "1",
                 "--output", str(folder))  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 2, r.stderr
    assert "argument --output" in r.stderr and "in use by train" in r.stderr
    assert sorted(p.name for p in folder.iterdir()) == [out.LOCK_FILE]


def test_scale_report_only_refuses_a_folder_without_its_records(tmp_path, capsys):
    from rllib_experiments.cli import scale

    _record(tmp_path / "repro" / "trials" / "A__aloha__s0.json")  # a reproduce folder
    for folder in (tmp_path / "empty", tmp_path / "repro"):
        folder.mkdir(exist_ok=True)
        with pytest.raises(SystemExit) as exc:
            scale.main(["--report-only", "--output", str(folder)])
        assert exc.value.code == 2
        assert "argument --output" in capsys.readouterr().err
        assert not (folder / "scale.md").exists()


CORRUPT = {
    "truncated": '{"trial": "A__aloha__s0", "row": ',
    "list": "[1, 2]",
    "string": '"a string"',
    "missing keys": '{"row": "aloha"}',
}


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
def test_report_commands_name_a_corrupt_record_and_touch_no_other(tmp_path, capsys, content):
    from rllib_experiments.cli import pruning_study, reproduce, scale, scale_goal

    cases = []
    flat = tmp_path / "flat"  # reproduce's and the pruning study's layout
    good = _record(flat / "trials" / "A__aloha__s1.json")
    cases += [
        (reproduce.main, ["--report-only", "--output", str(flat)], flat, good),
        (pruning_study.main, ["--report-only", "--output", str(flat)], flat, good),
    ]
    sized = tmp_path / "sized"
    good_n = _record(sized / "N4" / "trials" / "A__aloha__s1.json", num_users=4)
    cases += [
        (scale.main, ["--report-only", "--output", str(sized)], sized / "N4", good_n),
        (
            scale_goal.main,
            [str(sized), "--output", str(tmp_path / "goal.md")],
            sized / "N4",
            good_n,
        ),
    ]
    for main, argv, folder, good_rec in cases:
        bad = folder / "trials" / "A__aloha__s0.json"
        bad.write_text(content)
        before = good_rec.read_text()
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2, (main, err)
        assert str(bad) in err and "Traceback" not in err, (main, err)
        assert good_rec.read_text() == before and bad.read_text() == content
    assert not (flat / "trials.csv").exists() and not (tmp_path / "goal.md").exists()


READ_ONLY = Path("/sys/kernel/dsa_pettingzoo_read_only_test")


def _read_only():
    try:
        READ_ONLY.mkdir(parents=True)
    except OSError:
        return READ_ONLY
    READ_ONLY.rmdir()
    pytest.skip("no read-only folder on this machine (/sys is writable)")


def test_read_only_output_folders_are_an_error_naming_the_flag(tmp_path):
    ro = _read_only()
    r = _cli("train", "--preset", "tiny", "--iterations", "2", "--output", str(ro / "run"))
    assert r.returncode == 2 and "argument --output" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    import shutil

    sized = tmp_path / "sized"
    shutil.copytree(REPO / "docs" / "results" / "raw" / "scale_probe" / "N10", sized / "N10")
    r = _cli("scale_goal", str(sized), "--allow-mixed-commits", "--output", str(ro / "goal.md"))
    assert r.returncode == 2 and "argument --output" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def _deny_writes(monkeypatch):
    """Every atomic write and write probe fails as in a read-only folder."""
    import tempfile

    import dsa_pettingzoo.files

    def denied(path, *a, **k):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(dsa_pettingzoo.files, "open", denied, raising=False)
    monkeypatch.setattr(tempfile, "mkstemp", lambda dir=None, **k: denied(dir))


def test_read_only_folders_of_resume_and_reports_are_an_error_naming_the_flag(
    tmp_path, monkeypatch, capsys
):
    import shutil

    from rllib_experiments.cli import reproduce, scale, train

    run = tmp_path / "run"
    run.mkdir()
    out.write_json_atomic(
        run / out.RUN_FILE,
        {"settings": train.load_preset("tiny").to_dict(), "checkpoint_every": 2, "eval_seed": 5},
    )
    flat = tmp_path / "flat"
    shutil.copytree(REPO / "docs" / "results" / "raw" / "trials", flat / "trials")
    sized = tmp_path / "sized"
    shutil.copytree(REPO / "docs" / "results" / "raw" / "scale_probe" / "N10", sized / "N10")
    _deny_writes(monkeypatch)
    for main, argv in (
        (train.main, ["--output", str(run), "--resume"]),
        (train.main, ["--preset", "tiny", "--output", str(tmp_path / "new")]),
        (reproduce.main, ["--report-only", "--allow-mixed-commits", "--output", str(flat)]),
        (scale.main, ["--report-only", "--allow-mixed-commits", "--output", str(sized)]),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and "argument --output" in err, (argv, err)
        assert "Permission denied" in err, (argv, err)


@pytest.mark.slow
def test_two_train_processes_on_one_output_one_is_refused(tmp_path):
    """Two real ``train`` runs side by side on one --output: the second is refused while the
    first runs, and the folder holds the first's run only (run.json and result.json agree)."""
    import time

    folder = tmp_path / "race"
    first = subprocess.Popen(
        [sys.executable, "-m", "rllib_experiments", "train", "--preset", "tiny",
         "--iterations", "2", "--seed", "0", "--output", str(folder), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        lock = folder / out.LOCK_FILE
        deadline = time.time() + 120
        while not (lock.is_file() and "train" in lock.read_text()):
            assert first.poll() is None and time.time() < deadline, first.communicate()
            time.sleep(0.2)
        second = _cli("train", "--preset", "tiny", "--iterations", "2", "--seed", "1",
                      "--output", str(folder))  # fmt: skip
        assert second.returncode == 2, second.stderr
        assert "argument --output" in second.stderr and "in use by train" in second.stderr
        _, err = first.communicate(timeout=600)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    run = json.loads((folder / out.RUN_FILE).read_text())
    result = json.loads((folder / out.RESULT_FILE).read_text())
    assert run["settings"]["seed"] == 0 and result["settings"]["seed"] == 0


@pytest.mark.slow
def test_supersede_keeps_the_old_record_and_reruns_the_trial(tmp_path):
    """reproduce into a folder holding another budget's record of a planned trial: refused;
    with --supersede the record is kept under superseded/ (with its index line) and the trial
    reruns under this budget (a real run, one baseline trial)."""
    folder = tmp_path / "r"
    old = _record(folder / "trials" / "A__aloha__s0.json", budget="quick")
    before = old.read_text()
    args = ["reproduce", "--budget", "smoke", "--rows", "aloha", "--setups", "A",
            "--output", str(folder), "--num-cpus", "1", "--tune-dir", str(tmp_path / "tune"),
            "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    r = _cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and "budget 'quick'" in r.stderr, r.stderr
    assert old.read_text() == before
    r = _cli(*args, "--supersede", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    (kept,) = (folder / "superseded").glob("A__aloha__s0.*.json")
    assert kept.read_text() == before
    index = json.loads((folder / "superseded" / "index.jsonl").read_text())
    assert index["moved_to"] == kept.name and "budget 'quick'" in index["why"]
    assert json.loads(old.read_text())["budget"] == "smoke"
