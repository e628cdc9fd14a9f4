"""Tests of ``python -m rllib_experiments train`` (rllib_experiments/train.py, run.py, run_outputs.py).

Fast tests (no Ray): bad flags and configs fail before Ray starts with a message naming the
flag; an output folder holding results is never overwritten; progress.csv truncation.
RLlib tests (tiny preset, N=3 users, K=2 channels, T=20 slots): an end-to-end run writes every
output; a run killed with SIGKILL after its first checkpoint resumes with each iteration
exactly once in progress.csv, the schedule position and the pruned weights continuing.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rllib_experiments.run import outputs as out
from rllib_experiments.cli import train

REPO = Path(__file__).resolve().parents[1]


def run_cli(args, cwd, timeout=240):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), RAY_DEDUP_LOGS="0")
    return subprocess.run(
        [sys.executable, "-m", "rllib_experiments", "train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def tensorboard_scalars(folder):
    """{tag: [(step, value)]} as TensorBoard shows them, read from the event files directly.

    TFRecord framing (uint64 length, crc, data, crc); a SessionLog START at step s (written by
    ``purge_step`` on resume) hides every earlier event with step >= s, as TensorBoard does.
    """
    from tensorboardX.proto import event_pb2

    scalars = {}
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos + 12 <= len(data):
            (length,) = struct.unpack("<Q", data[pos : pos + 8])
            record = data[pos + 12 : pos + 12 + length]
            pos += 12 + length + 4
            event = event_pb2.Event()
            event.ParseFromString(record)
            if (
                event.HasField("session_log")
                and event.session_log.status == event_pb2.SessionLog.START
            ):
                scalars = {
                    tag: [(st, v) for st, v in points if st < event.step]
                    for tag, points in scalars.items()
                }
            for v in event.summary.value:
                scalars.setdefault(v.tag, []).append((event.step, v.simple_value))
    return scalars


# ------------------------------------------------------------------ fast: flags and outputs
@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--iterations", "0"], "--iterations"),
        (["--schedule", "cubic"], "--schedule"),
        (["--final-sparsity", "1.0"], "--final-sparsity"),
        (["--critic", "global"], "--critic"),
        (["--eval-episodes", "-3"], "--eval-episodes"),
        (["--preset", "tiny", "--env", "num_users=0"], "--env num_users"),
        (["--preset", "tiny", "--env", "pu_prob=1.5"], "--env pu_prob"),
        (["--preset", "tiny", "--env", "colour=3"], "--env colour"),
        (["--preset", "tiny", "--env", "num_users"], "--env"),
        (
            ["--preset", "tiny", "--schedule", "linear", "--final-sparsity", "0.5", "0.6"],
            "--final-sparsity",
        ),
        (
            ["--preset", "tiny", "--schedule", "linear", "--final-sparsity", "1.5"],
            "--final-sparsity",
        ),
        (
            ["--preset", "tiny", "--schedule", "linear", "--set", "prune_ranking=matrix"],
            "--set prune_ranking",
        ),
        (
            ["--preset", "tiny", "--schedule", "linear", "--set", "prune_interval=0"],
            "--set prune_interval",
        ),
        (
            ["--preset", "tiny", "--schedule", "linear", "--set", "prune_mode=soft"],
            "--set prune_mode",
        ),
        (
            ["--preset", "tiny", "--schedule", "linear", "--set", "prune_scope=heads"],
            "--set prune_scope",
        ),
        (
            ["--preset", "tiny", "--schedule", "linear", "--set", "prune_biases=1"],
            "--set prune_biases",
        ),
        (["--preset", "tiny", "--set", "actor_lr=-1"], "--set actor_lr"),
        (["--preset", "tiny", "--set", "colour=1"], "--set colour"),
        (
            [
                "--preset",
                "tiny",
                "--episodes-per-iteration",
                "3",
                "--set",
                "num_envs_per_env_runner=2",
            ],
            "--episodes-per-iteration",
        ),
        (["--preset", "no_such_preset"], "--preset"),
        (["--resume"], "--resume"),
        (["--resume", "--overwrite", "--output", "x"], "--overwrite"),
    ],
)
def test_bad_flags_fail_fast_naming_the_flag(argv, flag, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        train.resolve(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err, err
    # failing fast means before Ray starts
    assert "ray" not in sys.modules or not __import__("ray").is_initialized()
    assert not (tmp_path / "runs").exists()  # nothing written


def test_bad_sparsity_is_checked_by_its_schedule(tmp_path, monkeypatch, capsys):
    """--final-sparsity is parsed as a number; its bound is the schedule's, named by the flag."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        train.resolve(
            ["--preset", "tiny", "--schedule", "harmonic", "--final-sparsity", "0.9", "1.0", "0.9"]
        )
    err = capsys.readouterr().err
    assert "argument --final-sparsity: setting final_sparsity:" in err
    assert "final_sparsity must be in [0, 1), got 1.0" in err and err.count("[0, 1)") == 1


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit):
        train.resolve(["--help"])
    text = capsys.readouterr().out
    for flag in (
        "--setup",
        "--schedule",
        "--final-sparsity",
        "--seed",
        "--output",
        "--preset",
        "--iterations",
        "--episodes-per-iteration",
        "--critic",
        "--num-env-runners",
        "--eval-every",
        "--eval-episodes",
        "--resume",
        "--overwrite",
        "--env",
        "--set",
    ):
        assert flag in text


def test_flags_reach_the_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, s, options, output, demo = train.resolve(
        [
            "--setup",
            "B",
            "--schedule",
            "polynomial",
            "--final-sparsity",
            "0.8",
            "--seed",
            "4",
            "--iterations",
            "30",
            "--episodes-per-iteration",
            "2",
            "--critic",
            "centralized",
            "--num-env-runners",
            "1",
            "--eval-every",
            "5",
            "--eval-episodes",
            "7",
            "--env",
            "num_users=4",
            "--env",
            "pu_prob=0.3",
            "--set",
            "actor_lr=0.0003",
            "--checkpoint-every",
            "3",
            "--eval-seed",
            "9",
            "--output",
            "out",
        ]
    )
    assert (s.setup, s.schedule, s.final_sparsity, s.seed, s.iterations) == (
        "B",
        "polynomial",
        0.8,
        4,
        30,
    )
    assert (s.episodes_per_iteration, s.critic_mode, s.num_env_runners) == (2, "centralized", 1)
    assert (s.eval_interval, s.eval_episodes, s.actor_lr) == (5, 7, 0.0003)
    assert s.env == {"num_users": 4, "pu_prob": 0.3}
    assert options == {"checkpoint_every": 3, "eval_seed": 9, "row": None}
    assert output == Path("out") and not demo


def test_no_flags_is_the_demo_and_never_reuses_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, s, _, output, demo = train.resolve([])
    assert demo and output == Path("runs/demo-1")
    from rllib_experiments.methods import get_row

    # the demo is the row "ours" of Table I on setup A: 95%-sparse harmonic actors
    assert s.to_dict() == get_row(train.DEMO_ROW).settings(train.load_preset("paper_A")).to_dict()
    assert (s.schedule, s.final_sparsity, s.critic_mode, s.iterations) == (
        "harmonic",
        0.95,
        "centralized",
        300,
    )
    (output / "progress.csv").write_text("iteration\n0\n")
    _, _, _, output2, _ = train.resolve([])
    assert output2 == Path("runs/demo-2")
    assert (output / "progress.csv").read_text() == "iteration\n0\n"


def test_existing_results_are_not_overwritten(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    old = tmp_path / "run"
    old.mkdir()
    (old / "result.json").write_text('{"mean_reward": 1}')
    with pytest.raises(SystemExit):
        train.resolve(["--preset", "tiny", "--output", "run"])
    assert "argument --output" in capsys.readouterr().err
    assert (old / "result.json").read_text() == '{"mean_reward": 1}'
    # --overwrite keeps the old results under another name
    train.resolve(["--preset", "tiny", "--output", "run", "--overwrite"])
    kept = list(tmp_path.glob("run.old-*"))
    assert len(kept) == 1 and (kept[0] / "result.json").read_text() == '{"mean_reward": 1}'
    assert old.is_dir() and [p.name for p in old.iterdir()] == [out.LOCK_FILE]  # train's lock
    # an empty folder is fine, and is used as it is
    _, s, _, output, demo = train.resolve(["--preset", "tiny", "--output", "run"])
    assert output == Path("run") and not demo and s.to_dict() == train.load_preset("tiny").to_dict()
    assert sorted(p.name for p in tmp_path.glob("run*")) == ["run", kept[0].name]


def test_resume_refuses_changed_settings(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    settings = train.load_preset("tiny").to_dict()
    out.write_json_atomic(
        run / out.RUN_FILE, {"settings": settings, "checkpoint_every": 2, "eval_seed": 5}
    )
    _, s, options, output, _ = train.resolve(["--output", "run", "--resume"])
    assert s.to_dict() == settings and options == {
        "checkpoint_every": 2,
        "eval_seed": 5,
        "row": None,
    }
    for argv, flag in (
        (["--seed", "3"], "--seed"),
        (["--iterations", "9"], "--iterations"),
        (["--env", "num_users=4"], "--env"),
        (["--eval-seed", "6"], "--eval-seed"),
    ):
        with pytest.raises(SystemExit):
            train.resolve(["--output", "run", "--resume", *argv])
        assert f"argument {flag}" in capsys.readouterr().err


def test_truncate_progress_keeps_each_iteration_once(tmp_path):
    path = tmp_path / "progress.csv"
    path.write_text("iteration,x\n0,a\n1,b\n2,c\n3,d\n4,e")  # the last row half-written
    from rllib_experiments.run.progress import truncate_progress

    header, rows = truncate_progress(path, 3)
    assert header == ["iteration", "x"] and [r["x"] for r in rows] == ["a", "b", "c"]
    assert path.read_text() == "iteration,x\n0,a\n1,b\n2,c\n"
    with pytest.raises(RuntimeError):
        truncate_progress(path, 5)  # rows 3, 4 are gone: refuse instead of inventing them


def test_checkpoints_only_count_when_complete(tmp_path):
    root = tmp_path / out.CHECKPOINT_DIR
    (root / "iter_000004").mkdir(parents=True)
    (root / "iter_000004" / out.RUN_STATE_FILE).write_text("{}")
    (root / "iter_000008").mkdir()  # no run_state.json: the run died while saving it
    (root / ".iter_000012.tmp").mkdir()
    assert out.latest_checkpoint(tmp_path) == root / "iter_000004"
    out.remove_partial_checkpoints(tmp_path)
    assert not (root / ".iter_000012.tmp").exists() and (root / "iter_000004").exists()


# ------------------------------------------------------------------ RLlib: real runs
@pytest.mark.rllib
@pytest.mark.slow
def test_tiny_training_writes_every_output(tmp_path):
    from dsa_pettingzoo.baselines import make_policy
    from dsa_pettingzoo.evaluation import evaluate_policy

    proc = run_cli(
        [
            "--preset",
            "tiny",
            "--schedule",
            "harmonic",
            "--final-sparsity",
            "0.9",
            "--iterations",
            "4",
            "--eval-every",
            "2",
            "--eval-episodes",
            "6",
            "--checkpoint-every",
            "2",
            "--eval-seed",
            "3",
            "--output",
            "run",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run"
    # one progress line per iteration, then the comparison with ALOHA
    lines = [line for line in proc.stdout.splitlines() if line.startswith("iter ")]
    assert [line.split("|")[0].strip() for line in lines] == [f"iter {i}/4" for i in range(1, 5)]
    assert all("env steps/s" in line and "ETA" in line and "sparsity" in line for line in lines)
    assert "slotted ALOHA" in proc.stdout
    # quiet: Ray's and RLlib's warnings are in the run's framework.log, none on the terminal
    printed = (proc.stdout + proc.stderr).splitlines()
    assert [line for line in printed if "WARNING" in line or "Deprecation" in line] == []
    kept = (run / "framework.log").read_text()
    assert "WARNING" in kept and "new API stack" in kept
    rows = read_rows(run / "progress.csv")
    assert [int(r["iteration"]) for r in rows] == [0, 1, 2, 3]
    assert [bool(r["eval_stochastic_mean"]) for r in rows] == [False, True, False, True]
    assert float(rows[-1]["mean_sparsity"]) == pytest.approx(0.9, abs=0.01)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["iter_000002", "iter_000004"]
    result = json.loads((run / "result.json").read_text())
    assert result["final_sparsity"] == 0.9  # the target, as asked
    assert set(result["achieved_sparsity"]) == {"user_0", "user_1", "user_2"}
    for user, p in result["achieved_sparsity"].items():
        assert p == pytest.approx(0.9, abs=0.01)
    # biases stay dense: of all parameters a little less is zero than of the weight matrices
    assert 0.7 < result["sparsity_all_params"] < result["mean_achieved_sparsity"]
    fe = result["final_evaluation"]
    assert fe["episodes"] == 6 and fe["eval_seed"] == 3
    for mode in ("stochastic", "greedy"):
        assert fe[mode]["episodes"] == 6 and np.isfinite(fe[mode]["mean_reward"])
    assert result["mean_reward"] == fe["stochastic"]["mean_reward"]
    assert float(rows[-1]["eval_greedy_mean"]) == pytest.approx(fe["greedy"]["mean_reward"])
    # the ALOHA reference is the baseline on exactly the evaluation episodes
    env = {"setup": "A", "num_users": 3, "num_channels": 2, "horizon": 20}
    aloha = evaluate_policy(make_policy("aloha"), episodes=6, seed=3, **env).summary()
    assert result["aloha_reference"]["mean_reward"] == pytest.approx(aloha["mean_reward"])
    oracle = evaluate_policy(make_policy("oracle"), episodes=6, seed=3, **env).summary()
    assert result["oracle_reference"]["mean_reward"] == pytest.approx(oracle["mean_reward"])
    assert result["ratio_to_oracle"]["greedy"] == pytest.approx(
        fe["greedy"]["mean_reward"] / oracle["mean_reward"]
    )
    assert "x oracle" in proc.stdout
    assert result["budget"]["iterations"] == 4 and result["budget"]["training_episodes"] == 16
    assert result["settings"]["schedule"] == "harmonic" and result["wall_time_s"] > 0
    # TensorBoard: one point per iteration for the training curves, two for the evaluation
    scalars = tensorboard_scalars(run / "tensorboard")
    assert [s for s, _ in scalars["train/train_reward"]] == [0, 1, 2, 3]
    assert [s for s, _ in scalars["eval/eval_greedy_mean"]] == [1, 3]
    assert scalars["sparsity/mean_sparsity"][-1][1] == pytest.approx(0.9, abs=0.01)


def _zero_sets(checkpoint):
    """{user: {param name: bool array of zero entries}} of the actors in an RLlib checkpoint."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    sets = {}
    base = Path(checkpoint) / "learner_group" / "learner" / "rl_module"
    for user in ("user_0", "user_1", "user_2"):
        module = RLModule.from_checkpoint(str(base / user))
        sets[user] = {
            n: (p.detach().numpy() == 0) for n, p in module.named_parameters() if p.dim() >= 2
        }
    return sets


@pytest.mark.rllib
@pytest.mark.slow
def test_same_seed_gives_the_same_run_whatever_the_hash_seed(tmp_path):
    """Bitwise-equal progress for one seed in processes with different PYTHONHASHSEED.

    (Building the modules from a set of agent ids made their initial weights, and
    so the whole run, depend on Python's string hashing.)
    """
    args = [
        "--preset",
        "tiny",
        "--schedule",
        "harmonic",
        "--final-sparsity",
        "0.9",
        "--iterations",
        "3",
        "--eval-every",
        "3",
        "--eval-episodes",
        "4",
        "--no-tensorboard",
        "--quiet",
    ]
    runs = []
    for k, hash_seed in enumerate(("1", "3")):  # set orders of the 3 agent ids differ for these
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), PYTHONHASHSEED=hash_seed)
        proc = subprocess.run(
            [sys.executable, "-m", "rllib_experiments", "train", *args, "--output", f"r{k}"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(read_rows(tmp_path / f"r{k}" / "progress.csv"))
    timing = {"time_s", "wall_time_s", "env_steps_per_s"}
    strip = lambda rows: [{k: v for k, v in r.items() if k not in timing} for r in rows]
    assert len(runs[0]) == 3 and strip(runs[0]) == strip(runs[1])
    assert runs[0][0]["train_reward"] not in ("", None)


@pytest.mark.rllib
@pytest.mark.slow
def test_resume_after_sigkill_continues_the_run(tmp_path):
    from pruning_callbacks.schedules import make_schedule

    iterations = 60
    args = [
        "--preset",
        "tiny",
        "--schedule",
        "linear",
        "--final-sparsity",
        "0.8",
        "--set",
        "prune_mode=hold",
        "--iterations",
        str(iterations),
        "--eval-every",
        "7",
        "--eval-episodes",
        "4",
        "--checkpoint-every",
        "5",
        "--output",
        "run",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rllib_experiments", "train", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = tmp_path / "run"
    try:
        deadline = time.time() + 180
        while out.latest_checkpoint(run) is None:
            assert proc.poll() is None, (
                f"the run ended before its first checkpoint: {proc.stderr.read()[-2000:]}"
            )
            assert time.time() < deadline, "no checkpoint within 180 s"
            time.sleep(0.05)
        time.sleep(
            0.3
        )  # let it go on a little: rows after the checkpoint must be dropped on resume
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    ckpt = out.latest_checkpoint(run)
    done = int(ckpt.name.split("_")[1])
    rows_before = read_rows(run / "progress.csv")
    assert done < iterations, "the run finished before it was killed; nothing to resume"
    assert not (run / "result.json").exists()
    zeros_at_ckpt = _zero_sets(ckpt)
    sparsity_at_ckpt = float(rows_before[done - 1]["mean_sparsity"])

    resumed = run_cli(["--output", "run", "--resume"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{done} iterations done" in resumed.stdout
    rows = read_rows(run / "progress.csv")
    assert [int(r["iteration"]) for r in rows] == list(range(iterations))  # each exactly once
    assert rows[:done] == rows_before[:done]  # rows up to the checkpoint kept as they were
    # schedule position: every row's target is p_i of the linear schedule at its own iteration
    schedule = make_schedule("linear", final_sparsity=0.8, start=0, end=iterations)
    for r in rows[:-1]:  # the last iteration is finalized to p_final
        assert float(r["mean_target_sparsity"]) == pytest.approx(
            schedule(int(r["iteration"])), abs=1e-9
        )
    # the masks continue: no drop of sparsity at the resumed iteration, pruned weights stay pruned
    sparsity = [float(r["mean_sparsity"]) for r in rows]
    assert sparsity[done] >= sparsity_at_ckpt - 1e-9 > 0
    assert all(b >= a - 0.01 for a, b in zip(sparsity, sparsity[1:]))
    final = _zero_sets(out.latest_checkpoint(run))
    for user, params in zeros_at_ckpt.items():
        for name, was_zero in params.items():
            assert final[user][name][was_zero].all(), f"{user}.{name}: pruned weights came back"
    result = json.loads((run / "result.json").read_text())
    assert result["sessions"] == 2
    assert result["mean_achieved_sparsity"] == pytest.approx(0.8, abs=0.01)
    # TensorBoard: the killed session's events after the checkpoint are purged (one point per step)
    steps = [s for s, _ in tensorboard_scalars(run / "tensorboard")["train/train_reward"]]
    assert steps == list(range(iterations))


def test_plot_runs_reads_run_folders(tmp_path, plotted, check_png):
    """plot_runs groups seeds by schedule and draws a PNG from progress.csv / run.json / result.json."""
    pytest.importorskip("matplotlib")
    from rllib_experiments.cli import plot_runs
    from rllib_experiments.studies.common import run_curves

    settings = train.load_preset("tiny").to_dict()
    for seed in (0, 1):
        run = tmp_path / "grid" / "trials" / f"none_dense_paper_seed{seed}"
        run.mkdir(parents=True)
        out.write_json_atomic(run / out.RUN_FILE, {"settings": {**settings, "seed": seed}})
        out.write_json_atomic(run / out.RESULT_FILE, {"aloha_reference": {"mean_reward": 90.0}})
        rows = "".join(
            f"{i},{'' if i % 2 == 0 else 100 + i + seed},{'' if i % 2 == 0 else 200},0,0\n"
            for i in range(6)
        )
        (run / "progress.csv").write_text(
            "iteration,eval_stochastic_mean,eval_greedy_mean,mean_sparsity,mean_target_sparsity\n"
            + rows
        )
    runs = run_curves.find_runs([str(tmp_path / "grid")])
    assert len(runs) == 2
    d = run_curves.load(runs[0])
    assert d["label"] == "dense" and list(d["it"]) == [2, 4, 6] and d["aloha"] == 90.0
    assert list(d["stochastic"]) == [101.0, 103.0, 105.0]
    plot_runs.main([str(tmp_path / "grid"), "--out", str(tmp_path / "f.png")])
    check_png(tmp_path / "f.png", 880, 770)  # 8 x 7 in at 110 dpi
    rewards, sparsity = plotted["f.png"]
    assert rewards["dense, stochastic (2 seeds)"][1].tolist() == [101.5, 103.5, 105.5]  # seed mean
    assert rewards["dense, greedy (2 seeds)"][1].tolist() == [200.0] * 3
    assert rewards["slotted ALOHA (same episodes)"][1].tolist() == [90.0] * 2
    assert (
        sparsity["dense: actual"][1].tolist()
        == sparsity["dense: target p_i"][1].tolist()
        == [0.0] * 6
    )


@pytest.mark.rllib
def test_building_evaluation_actors_leaves_the_global_rng_alone():
    """Evaluation builds fresh actor modules; the training's torch random stream must not move."""
    import torch

    from rllib_experiments.algorithm import module_specs, probe_env
    from rllib_experiments.evaluation import actors_from_weights

    s = train.load_preset("tiny")
    info = probe_env(s)
    spec = module_specs(s, info)
    weights = {a: spec.rl_module_specs[a].build().get_state() for a in info["agents"]}
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    actors = actors_from_weights(spec, weights, info["agents"])
    assert torch.equal(torch.rand(3), expected)
    for a, actor in zip(info["agents"], actors):  # and the weights are the given ones
        for k, v in actor.get_state().items():
            assert np.array_equal(np.asarray(v), np.asarray(weights[a][k]))
