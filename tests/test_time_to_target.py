"""Time to a good policy: the goal and stop rule (rllib_experiments.run.stop_rule), the
reading of a curve (studies.benchmarks.time_to_target), ``train --stop-at-ratio`` and
``benchmark --time-to-target`` on CI-sized runs, checked against the runs' own files."""

import csv
import json
import math

import numpy as np
import pytest

from rllib_experiments.run.stop_rule import SPARSITY_TOLERANCE, Goal, StopRule
from rllib_experiments.studies.benchmarks.time_to_target import (
    first_reached,
    median_time,
    summarize,
)


def _point(n, greedy, sparsity=(0.0, 0.0), wall=None):
    return {
        "iterations_done": n,
        "greedy": {"mean_reward": greedy, "std_reward": 0.0},
        "sparsity_per_user": list(sparsity),
        "sparsity_prunable": sum(sparsity) / len(sparsity),
        "wall_s": float(n) if wall is None else wall,
    }


# --------------------------------------------------------------------------- the goal
def test_goal_compares_the_greedy_reward_with_the_oracle():
    goal = Goal(0.95)
    assert goal.reached(_point(5, 95.0), 100.0)
    assert not goal.reached(_point(5, 94.99), 100.0)
    assert goal.ratio_of(_point(5, 50.0), 200.0) == 0.25


def test_goal_at_final_sparsity_asks_every_user_to_be_pruned():
    goal = Goal(0.9, at_final_sparsity=True)
    near = 0.95 - SPARSITY_TOLERANCE
    assert goal.reached(_point(5, 99.0, (0.95, near)), 100.0, 0.95)
    assert not goal.reached(_point(5, 99.0, (0.95, near - 1e-6)), 100.0, 0.95)
    # per-user targets, and a dense run (target 0)
    assert goal.reached(_point(5, 99.0, (0.5, 0.9)), 100.0, [0.5, 0.9])
    assert not goal.reached(_point(5, 99.0, (0.5, 0.9)), 100.0, [0.9, 0.5])
    assert goal.reached(_point(5, 99.0), 100.0, 0.0)


@pytest.mark.parametrize("ratio", [0, -0.5, 2.5, True, "0.9"])
def test_goal_rejects_a_bad_ratio(ratio):
    with pytest.raises(ValueError, match="ratio"):
        Goal(ratio)


@pytest.mark.parametrize("patience", [0, -1, 1.5, True])
def test_stop_rule_rejects_a_bad_patience(patience):
    with pytest.raises(ValueError, match="patience"):
        StopRule(Goal(0.9), patience)


def test_stop_rule_needs_patience_points_in_a_row():
    rule = StopRule(Goal(0.9), patience=2)
    pts = [_point(5, 95.0), _point(10, 80.0), _point(15, 91.0)]
    assert rule.met(pts, 100.0) is None  # 95 then 80: not two in a row
    pts.append(_point(20, 92.0))
    assert rule.met(pts, 100.0)["iterations_done"] == 20
    assert StopRule.from_dict(rule.to_dict()) == rule
    assert StopRule.from_dict(None) is None


# --------------------------------------------------------------------------- a curve read
def test_first_reached_is_the_first_point_at_the_goal():
    pts = [_point(5, 80.0), _point(10, 96.0, wall=12.5), _point(15, 97.0), _point(20, 99.0)]
    r = first_reached(
        pts,
        Goal(0.95),
        100.0,
        0.0,
        setup_s=3.0,
        env_steps_per_iteration=800,
        known_at={10: 14.0},
    )
    assert r == {
        "reached": True,
        "iterations": 10,
        "env_steps": 8000,
        "wall_s": 15.5,
        "known_s": 17.0,
        "ratio": 0.96,
        "sparsity": 0.0,
        "stays": True,
    }


def test_first_reached_says_whether_the_goal_held_later():
    pts = [_point(5, 96.0), _point(10, 90.0), _point(15, 97.0)]
    r = first_reached(pts, Goal(0.95), 100.0, 0.0, setup_s=0.0, env_steps_per_iteration=1)
    assert (r["iterations"], r["stays"]) == (5, False)
    # a run stopped at its first point at the goal: nothing later to tell
    r = first_reached(
        pts[:1], Goal(0.95), 100.0, 0.0, setup_s=0.0, env_steps_per_iteration=1, stopped=True
    )
    assert r["stays"] is None


def test_a_goal_never_met_has_no_time():
    pts = [_point(5, 80.0), _point(10, 94.0)]
    assert first_reached(pts, Goal(0.95), 100.0, 0.0, setup_s=1.0, env_steps_per_iteration=1) == {
        "reached": False
    }
    # reached on reward but not on sparsity
    sparse_goal = Goal(0.5, at_final_sparsity=True)
    pts = [_point(5, 99.0, (0.3, 0.3))]
    assert not first_reached(pts, sparse_goal, 100.0, 0.95, setup_s=0.0, env_steps_per_iteration=1)[
        "reached"
    ]


def test_the_median_counts_a_seed_short_of_the_goal_as_slowest():
    reached = [
        {"reached": True, "wall_s": w, "env_steps": 100 * w, "iterations": w}
        for w in (30.0, 10.0, 20.0)
    ]
    missed = {"reached": False}
    assert median_time(reached, "wall_s") == 20.0
    assert median_time(reached + [missed, missed], "wall_s") == 30.0  # 2 of 5 missed
    assert median_time(reached[:2] + [missed] * 3, "wall_s") is None  # 3 of 5 missed
    assert median_time([], "wall_s") is None
    seeds = [{"any_sparsity": r, "final_sparsity": missed} for r in reached]
    m = summarize(seeds)
    assert m["any_sparsity"]["reached"] == 3 and m["any_sparsity"]["median_wall_s"] == 20.0
    assert m["any_sparsity"]["median_env_steps"] == 2000.0
    assert m["final_sparsity"]["reached"] == 0 and m["final_sparsity"]["median_wall_s"] is None


# --------------------------------------------------------------------------- CI-sized runs


def _greedy_column(run_dir):
    with open(run_dir / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    return [
        (int(r["iteration"]) + 1, float(r["eval_greedy_mean"]))
        for r in rows
        if r["eval_greedy_mean"] not in ("", None)
    ]


@pytest.mark.rllib
@pytest.mark.usefixtures("ray_local")
def test_time_to_target_json_matches_the_run_it_timed(tmp_path, capsys):
    pytest.importorskip("torch")
    from rllib_experiments.cli import benchmark

    out_dir = tmp_path / "runs"
    code = benchmark.main(
        [
            "--time-to-target", "--preset", "tiny", "--row", "dense", "--seeds", "0",
            "--set", "iterations=6", "--eval-every", "2", "--goal", "0.5",
            "--output", str(out_dir), "--json",
        ]
    )  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (seed,) = out["seeds"]
    run = out_dir / "seed0"
    result = json.loads((run / "result.json").read_text())
    oracle = result["oracle_reference"]["mean_reward"]
    assert seed["oracle_mean"] == oracle
    # the first evaluation at the goal, read again from progress.csv
    curve = _greedy_column(run)
    assert [n for n, _ in curve] == [2, 4, 6]
    first = next((n for n, g in curve if g >= 0.5 * oracle), None)
    r = seed["any_sparsity"]
    if first is None:
        assert r == {"reached": False}
        assert out["median"]["any_sparsity"]["median_wall_s"] is None
    else:
        assert r["reached"] and r["iterations"] == first
        assert r["env_steps"] == first * 4 * 20  # tiny: 4 episodes of 20 slots
        point = next(p for p in result["evaluations"] if p["iterations_done"] == first)
        assert r["wall_s"] == pytest.approx(seed["setup_s"] + point["wall_s"])
        assert 0 < seed["setup_s"] < r["wall_s"] <= seed["total_wall_s"]
        assert r["known_s"] >= r["wall_s"]
        assert out["median"]["any_sparsity"]["median_wall_s"] == r["wall_s"]
        assert r["stays"] == all(g >= 0.5 * oracle for n, g in curve if n > first)
    assert seed["final_sparsity"] == r  # dense: the two goals are one
    assert out["machine"]["cores_usable"] >= 1 and "cpu" in out["machine"]
    assert not math.isnan(seed["final_greedy_ratio"])


@pytest.mark.rllib
@pytest.mark.usefixtures("ray_local")
def test_a_stop_rule_ends_the_run_and_resume_keeps_it_ended(tmp_path):
    pytest.importorskip("torch")
    from rllib_experiments.settings import load_preset
    from rllib_experiments.training import TrainingRun

    settings = load_preset("tiny").replace(iterations=12, eval_interval=2)
    rule = StopRule(Goal(0.05), patience=1)  # met at the first evaluation
    run = TrainingRun(settings, tmp_path / "r", tensorboard=False, log=None, stop_rule=rule)
    result = run.run()
    early = result["stopped_early"]
    assert early["met_at_iteration"] == 2
    # a background evaluation comes in a few iterations after its weights
    assert 2 <= early["iterations_done"] < 12
    assert result["budget"]["iterations_done"] == early["iterations_done"]
    assert result["evaluations"][-1]["iterations_done"] == early["iterations_done"]
    assert run.final_actors is not None
    with open(tmp_path / "r" / "progress.csv") as f:
        assert len(list(csv.DictReader(f))) == early["iterations_done"]
    run_json = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run_json["stop_rule"] == {"ratio": 0.05, "at_final_sparsity": False, "patience": 1}
    again = TrainingRun(
        settings, tmp_path / "r", tensorboard=False, log=None, stop_rule=rule, resume=True
    ).run()
    assert again == result


# --------------------------------------------------------------------------- the profile
def test_flops_of_a_module_count_each_weight_matrix_twice():
    from rllib_experiments.studies.benchmarks.profile import network_flops

    weights = {"w1": np.zeros((4, 3)), "b1": np.zeros(4), "w2": np.zeros((2, 4))}
    assert network_flops(weights) == 2 * (12 + 8)


def test_training_flops_per_env_step_by_hand():
    from rllib_experiments.studies.benchmarks.profile import training_flops_per_env_step

    # 10 users, actor 100 FLOPs, one critic sequence of 50 FLOPs, 4 epochs of forward and
    # backward (3 forward-equivalents each), the critic's values once more before them
    f = training_flops_per_env_step(100, 50, 10, 1, 4)
    assert f == {"sampling": 10 * 100, "learner": 10 * 100 * 12 + 50 * 13}
    # the paper's critic: one sequence per user
    assert training_flops_per_env_step(100, 50, 10, 10, 1)["learner"] == 1000 * 3 + 500 * 4


@pytest.mark.rllib
@pytest.mark.usefixtures("ray_local")
def test_profile_splits_an_iteration_and_counts_the_tiny_networks(capsys):
    pytest.importorskip("torch")
    from rllib_experiments.cli import benchmark

    code = benchmark.main(
        ["--profile", "--preset", "tiny", "--row", "dense", "--iterations", "2", "--warmup",
         "1", "--json"]
    )  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    it = out["per_iteration_s"]
    assert it["sampling"] > 0 and it["learner"] > 0
    assert it["sampling"] + it["learner"] + it["other"] == pytest.approx(it["total"])
    # tiny: 3 users, 2 channels (3 actions), one 16-unit layer and a 16-unit LSTM
    import dsa_pettingzoo

    env = dsa_pettingzoo.parallel_env(num_users=3, num_channels=2, horizon=20)
    d = int(np.prod(env.observation_space(env.possible_agents[0]).shape))
    actor = 2 * (16 * d + 4 * 16 * 16 + 4 * 16 * 16 + 3 * 16)
    assert out["flops"]["actor_per_agent_step"] == actor
    assert out["env_steps_per_iteration"] == 4 * 20
    per_step = out["flops"]["per_env_step"]
    assert per_step["sampling"] == 3 * actor
    for part in ("sampling", "learner"):
        assert out["flops"]["per_iteration"][part] == per_step[part] * 80
    assert out["matmul_flops_per_s"] > 1e8
    assert out["roof_s_per_iteration"] == pytest.approx(
        sum(out["flops"]["per_iteration"].values()) / out["matmul_flops_per_s"]
    )  # one learner thread: both phases on one core


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--time-to-target", "--profile"], "--profile"),
        (["--time-to-target", "--row", "aloha"], "--row"),
        (["--time-to-target", "--num-users", "5"], "--num-users"),
        (["--time-to-target", "--set", "seed=3"], "--set seed"),
        (["--time-to-target", "--set", "learner_device=cuda"], "--set learner_device"),
        (["--time-to-target", "--stop", "sometimes"], "--stop"),
        (["--time-to-target", "--goal", "0"], "--goal"),
        (["--profile", "--set", "no_such_field=1"], "--set no_such_field"),
    ],
)
def test_bad_flags_are_named(argv, flag, capsys):
    pytest.importorskip("ray")
    from rllib_experiments.cli import benchmark

    with pytest.raises(SystemExit) as exit_:
        benchmark.main(argv)
    assert exit_.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err


def test_run_seed_refuses_an_unknown_stop_goal(tmp_path):
    pytest.importorskip("ray")
    from rllib_experiments.settings import load_preset
    from rllib_experiments.studies.benchmarks.time_to_target import run_seed

    with pytest.raises(ValueError, match="stop must be"):
        run_seed(load_preset("tiny"), "dense", tmp_path, ratio=0.9, stop="soon", patience=1)


def test_train_flags_make_the_stop_rule(tmp_path, monkeypatch, capsys):
    pytest.importorskip("ray")
    from rllib_experiments.cli import train

    monkeypatch.chdir(tmp_path)
    args, _, options, _, _ = train.resolve(
        ["--preset", "tiny", "--stop-at-ratio", "0.9", "--patience", "2", "--output", "a"]
    )
    for lock in args.output_locks:
        lock.close()
    assert options["stop_rule"] == StopRule(Goal(0.9, at_final_sparsity=True), 2)
    args, _, options, _, _ = train.resolve(["--preset", "tiny", "--output", "b"])
    for lock in args.output_locks:
        lock.close()
    assert "stop_rule" not in options  # a run without one records none
    with pytest.raises(SystemExit) as exit_:
        train.resolve(["--preset", "tiny", "--patience", "2", "--output", "c"])
    assert exit_.value.code == 2
    assert "argument --patience: needs --stop-at-ratio" in capsys.readouterr().err
