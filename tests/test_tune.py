"""Tests of ``python -m rllib_experiments tune_schedules`` (the grid: rllib_experiments.studies.common.schedule_grid).

Fast: the summary (mean +- std over seeds, best seed) on hand-made rows; bad flags name the
flag before Ray starts; an existing grid is not overwritten. RLlib: a real 2-trial Tune grid
(tiny preset) writes every trial's run folder and the summary as CSV and Markdown.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rllib_experiments.cli import tune_schedules as ts
from rllib_experiments.studies.common import schedule_grid as sg

REPO = Path(__file__).resolve().parents[1]


def _row(schedule, seed, reward, greedy, status="ok"):
    return {
        "schedule": schedule,
        "final_sparsity": 0.95,
        "critic_mode": "paper",
        "seed": seed,
        "status": status,
        "mean_reward": reward,
        "greedy_mean_reward": greedy,
        "aloha_mean_reward": 1000.0,
        "mean_final_sparsity": 0.95,
    }


def test_summary_mean_std_and_best_seed():
    rows = [
        _row("harmonic", 0, 1100.0, 1500.0),
        _row("harmonic", 1, 1300.0, 1700.0),
        _row("harmonic", 2, 1200.0, 1600.0),
        _row("linear", 0, 900.0, 950.0),
        _row("linear", 1, 0.0, 0.0, status="missing"),
    ]
    table = {e["schedule"]: e for e in sg.summarize(rows)}
    h = table["harmonic"]
    assert h["seeds"] == 3 and h["without_result"] == 0
    assert h["stochastic_mean"] == pytest.approx(1200.0)
    assert h["stochastic_std"] == pytest.approx(100.0)  # sample std of 1100, 1300, 1200
    assert h["greedy_mean"] == pytest.approx(1600.0) and h["greedy_std"] == pytest.approx(100.0)
    assert (h["best_seed"], h["best_stochastic"]) == (1, 1300.0)
    assert h["ratio_to_aloha"] == pytest.approx(1.2)
    lin = table["linear"]
    assert lin["seeds"] == 1 and lin["without_result"] == 1 and lin["stochastic_std"] is None
    md = sg.to_markdown(sg.summarize(rows), "t")
    assert "| harmonic | 0.95 | paper | 3 | 1200.0 ± 100.0 | 1600.0 ± 100.0 | 1 (1300.0) |" in md
    assert "| linear | 0.95 | paper | 1 (1 without result) | 900.0 ± – | 950.0 ± – |" in md


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--schedules", "cubic"], "--schedules"),
        (["--seeds", "-1"], "--seeds"),
        (["--final-sparsity-grid", "1.5"], "--final-sparsity-grid"),
        (["--final-sparsities", "1.5"], "--final-sparsity-grid"),  # the deprecated spelling
        (["--preset", "tiny", "--final-sparsity-grid", "0.9", "-0.1"], "--final-sparsity-grid"),
        (["--preset", "tiny", "--set", "prune_interval=0"], "--set prune_interval"),
        (["--preset", "tiny", "--set", "prune_ranking=matrix"], "--set prune_ranking"),
        (
            ["--preset", "tiny", "--schedules", "linear", "--set", "prune_start=9"],
            "--set prune_end",
        ),
        (["--critic", "global"], "--critic"),
        (["--iterations", "0"], "--iterations"),
        (["--preset", "tiny", "--env", "num_channels=0"], "--env num_channels"),
        (["--preset", "tiny", "--set", "seed=3"], "--set seed"),
        (["--preset", "tiny", "--set", "gamma=2"], "--set gamma"),
        (["--preset", "nope"], "--preset"),
    ],
)
def test_bad_flags_fail_fast_naming_the_flag(argv, flag, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        ts.resolve([*argv, "--output", str(tmp_path / "grid")])
    assert exc.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err
    assert not (tmp_path / "grid").exists()


def test_existing_grid_is_not_overwritten(tmp_path, capsys):
    grid = tmp_path / "grid"
    grid.mkdir()
    (grid / sg.SUMMARY_CSV).write_text("old\n")
    with pytest.raises(SystemExit):
        ts.resolve(["--preset", "tiny", "--output", str(grid)])
    assert "argument --output" in capsys.readouterr().err
    assert (grid / sg.SUMMARY_CSV).read_text() == "old\n"


def test_grid_axes_from_flags(tmp_path):
    args, base, grid, output = ts.resolve(
        [
            "--preset",
            "tiny",
            "--schedules",
            "harmonic",
            "linear",
            "--seeds",
            "0",
            "1",
            "2",
            "--final-sparsity-grid",
            "0.9",
            "0.95",
            "--critic",
            "paper",
            "centralized",
            "--iterations",
            "7",
            "--env",
            "num_users=4",
            "--output",
            str(tmp_path / "g"),
        ]
    )
    assert grid == {
        "schedule": ["harmonic", "linear"],
        "seed": [0, 1, 2],
        "final_sparsity": [0.9, 0.95],
        "critic_mode": ["paper", "centralized"],
    }
    assert base["iterations"] == 7 and base["env"]["num_users"] == 4
    assert output == (tmp_path / "g").resolve()


def test_deprecated_grid_flag_still_works_with_one_notice(tmp_path, capsys):
    new = ts.resolve(
        [
            "--preset",
            "tiny",
            "--final-sparsity-grid",
            "0.9",
            "0.95",
            "--output",
            str(tmp_path / "a"),
        ]
    )
    assert "deprecated" not in capsys.readouterr().err
    old = ts.resolve(
        ["--preset", "tiny", "--final-sparsities", "0.9", "0.95", "--output", str(tmp_path / "a")]
    )
    notices = [line for line in capsys.readouterr().err.splitlines() if "deprecated" in line]
    assert notices == [
        "python -m rllib_experiments tune_schedules: --final-sparsities is deprecated, "
        "use --final-sparsity-grid"
    ]
    assert old[1:3] == new[1:3]
    assert "--final-sparsities" not in ts.build_parser().format_help()


def test_old_result_json_still_read(tmp_path):
    """A trial's result.json written before target and achieved sparsity had keys of their own."""
    from rllib_experiments.settings import load_preset
    from rllib_experiments.studies.common.trials import trial_name

    base = load_preset("tiny").to_dict()
    grid = {"schedule": ["linear"], "seed": [0], "final_sparsity": [0.9], "critic_mode": ["paper"]}
    settings = load_preset("tiny", schedule="linear", final_sparsity=0.9, seed=0)
    folder = tmp_path / "trials" / trial_name(settings)
    folder.mkdir(parents=True)
    old = {
        "mean_reward": 1.0,
        "std_reward": 0.1,
        "greedy_mean_reward": 2.0,
        "greedy_std_reward": 0.2,
        "aloha_reference": {"mean_reward": 0.5},
        "wall_time_s": 3.0,
        "final_sparsity": {"user_0": 0.9, "user_1": 0.9, "user_2": 0.9},
        "mean_final_sparsity": 0.9,
    }
    (folder / "result.json").write_text(json.dumps(old))
    (row,) = sg.trial_rows(tmp_path, base, grid)
    assert row["status"] == "ok" and row["mean_final_sparsity"] == 0.9


@pytest.mark.rllib
@pytest.mark.slow
def test_two_trial_grid_writes_the_summary(tmp_path):
    output = tmp_path / "grid"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rllib_experiments",
            "tune_schedules",
            "--preset",
            "tiny",
            "--schedules",
            "harmonic",
            "linear",
            "--seeds",
            "0",
            "--iterations",
            "2",
            "--eval-episodes",
            "4",
            "--output",
            str(output),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "2 trials" in proc.stdout
    with open(output / sg.TRIALS_CSV, newline="") as f:
        trials = list(csv.DictReader(f))
    assert sorted(t["schedule"] for t in trials) == ["harmonic", "linear"]
    assert all(t["status"] == "ok" for t in trials)
    # a local instance is one node: both trials report its id (hex of Ray's 28-byte NodeID)
    (node,) = {t["node_id"] for t in trials}
    assert len(node) == 56 and int(node, 16) >= 0
    results = {}
    for t in trials:
        folder = Path(t["folder"])
        results[t["schedule"]] = json.loads((folder / "result.json").read_text())
        assert (folder / "progress.csv").is_file() and (folder / "checkpoints").is_dir()
        assert results[t["schedule"]]["settings"]["schedule"] == t["schedule"]
        assert results[t["schedule"]]["mean_achieved_sparsity"] == pytest.approx(0.95, abs=0.01)
    with open(output / sg.SUMMARY_CSV, newline="") as f:
        summary = {r["schedule"]: r for r in csv.DictReader(f)}
    for schedule, r in results.items():
        assert float(summary[schedule]["stochastic_mean"]) == pytest.approx(r["mean_reward"])
        assert summary[schedule]["best_seed"] == "0"
    md = (output / sg.SUMMARY_MD).read_text()
    assert "| harmonic |" in md and "| linear |" in md and md in proc.stdout


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--search", "optuna"], "--search"),
        (["--num-samples", "3"], "--num-samples"),
        (["--search-space", "SPACE", "--seeds", "0"], "--seeds"),
        (["--search-space", "MISSING"], "--search-space"),
        (["--search", "grid", "--search-space", "RANGE"], "--search-space actor_lr"),
        (["--search", "optuna", "--search-space", "BADVALUE"], "--search-space prune_scope"),
        (
            ["--search", "optuna", "--search-space", "SPACE", "--scheduler", "hyperband"],
            "--scheduler",
        ),
    ],
)
def test_bad_search_flags_fail_fast_naming_the_flag(argv, flag, tmp_path, capsys):
    spaces = {
        "SPACE": {"parameters": {"seed": {"choice": [0, 1]}}},
        "RANGE": {"parameters": {"actor_lr": {"uniform": [1e-4, 1e-3]}}},
        "BADVALUE": {"parameters": {"prune_scope": {"choice": ["all", "heads"]}}},
    }
    for name, data in spaces.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    argv = [str(tmp_path / f"{a}.json") if a in (*spaces, "MISSING") else a for a in argv]
    with pytest.raises(SystemExit) as exc:
        ts.resolve(["--preset", "tiny", *argv, "--output", str(tmp_path / "search")])
    assert exc.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err
    assert not (tmp_path / "search").exists()


def _search(tmp_path, output, *extra):
    space = tmp_path / "space.yaml"
    space.write_text(
        "metric: greedy\nparameters:\n  schedule: {choice: [harmonic, linear]}\n"
        "  final_sparsity: 0.5\n  prune_end_fraction: {uniform: [0.5, 1.0]}\n"
        "  prune_scope: {choice: [all, head_dense]}\n  seed: {choice: [0, 1]}\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    env.pop("RAY_ADDRESS", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "rllib_experiments",
            "tune_schedules",
            "--preset",
            "tiny",
            "--iterations",
            "4",
            "--eval-every",
            "2",
            "--eval-episodes",
            "4",
            "--search",
            "optuna",
            "--search-space",
            str(space),
            "--num-samples",
            "3",
            "--scheduler",
            "asha",
            "--output",
            str(output),
            "--num-cpus",
            "2",
            *extra,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )


@pytest.mark.rllib
@pytest.mark.slow
def test_optuna_asha_search_writes_trials_and_best_and_resumes(tmp_path):
    from rllib_experiments.studies.common import search as tune_search

    output = tmp_path / "search"
    proc = _search(tmp_path, output)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    with open(output / tune_search.TRIALS_CSV, newline="") as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 3 and {t["status"] for t in trials} <= {"finished", "stopped"}
    for t in trials:
        assert (
            t["point.schedule"] in ("harmonic", "linear")
            and 0.5 <= float(t["point.prune_end_fraction"]) <= 1
        )
        if t["status"] == "finished":
            result = json.loads((output / t["trial_output"] / "result.json").read_text())
            assert result["settings"]["prune_scope"] == t["point.prune_scope"]
            assert result["settings"]["seed"] == int(t["seed"]) == int(t["point.seed"])
            assert float(t["greedy"]) == pytest.approx(result["greedy_mean_reward"])
    best = json.loads((output / tune_search.BEST_JSON).read_text())
    finished = [t for t in trials if t["status"] == "finished"]
    assert best["metric"] == "greedy" and len(best["best"]) == len(finished)
    assert best["best"][0]["greedy"] == max(float(t["greedy"]) for t in finished)
    assert "| 1 |" in (output / tune_search.SEARCH_MD).read_text()
    folders = sorted(p.name for p in (output / "trials").iterdir())
    # --resume continues this search (its 3 samples are done): no new trial, same folders
    again = _search(tmp_path, output, "--resume")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert "resuming the search" in again.stdout
    assert sorted(p.name for p in (output / "trials").iterdir()) == folders
    # without --resume the folder is refused, and nothing in it changes
    refused = _search(tmp_path, output)
    assert refused.returncode == 2 and "argument --output" in refused.stderr
