"""Every experiment command's flags with out-of-domain values: exit 2, naming the flag given.

A table of (command, arguments, the flag the message must name). Each is parsed as the
command would (``resolve`` or ``main`` up to where Ray would start); none may start Ray,
and none may leave anything in the working folder.
"""

import importlib

import pytest

pytest.importorskip("ray")

#: (command module, argv, the flag the error must name)
CASES = [
    # train
    ("train", ["--iterations", "0"], "--iterations"),
    ("train", ["--iterations", "x"], "--iterations"),
    ("train", ["--seed", "-1"], "--seed"),
    ("train", ["--final-sparsity", "1.0"], "--final-sparsity"),
    ("train", ["--final-sparsity", "nan"], "--final-sparsity"),
    ("train", ["--preset", "tiny", "--final-sparsity", "0.5", "0.5"], "--final-sparsity"),
    ("train", ["--episodes-per-iteration", "0"], "--episodes-per-iteration"),
    ("train", ["--eval-every", "0"], "--eval-every"),
    ("train", ["--eval-episodes", "-3"], "--eval-episodes"),
    ("train", ["--eval-seed", "-1"], "--eval-seed"),
    ("train", ["--checkpoint-every", "0"], "--checkpoint-every"),
    ("train", ["--num-env-runners", "-1"], "--num-env-runners"),
    ("train", ["--setup", "Z"], "--setup"),
    ("train", ["--critic", "global"], "--critic"),
    ("train", ["--schedule", "cosine"], "--schedule"),
    ("train", ["--row", "nope"], "--row"),
    ("train", ["--row", "aloha"], "--row"),
    ("train", ["--row", "harmonic+bogus"], "--row"),
    ("train", ["--row", "harmonic+io_dense+all0.99"], "--row"),
    ("train", ["--preset", "nope"], "--preset"),
    ("train", ["--preset", "tiny", "--env", "num_users=0"], "--env num_users"),
    ("train", ["--preset", "tiny", "--env", "pu_prob=true"], "--env pu_prob"),
    ("train", ["--preset", "tiny", "--env", 'pu_prob="0.2"'], "--env pu_prob"),
    ("train", ["--preset", "tiny", "--env", "bogus=1"], "--env bogus"),
    ("train", ["--preset", "tiny", "--env", "novalue"], "--env"),
    ("train", ["--preset", "tiny", "--set", "actor_lr=0"], "--set actor_lr"),
    ("train", ["--preset", "tiny", "--set", "bogus=1"], "--set bogus"),
    ("train", ["--preset", "tiny", "--set", "seed=3"], "--set seed"),
    (
        "train",
        ["--preset", "tiny", "--schedule", "harmonic", "--schedule-param", "period=-1"],
        "--schedule-param",
    ),
    (
        "train",
        ["--preset", "tiny", "--schedule", "linear", "--schedule-param", "amplitude=1"],
        "--schedule-param",
    ),
    (
        "train",
        ["--preset", "tiny", "--schedule", "linear", "--set", "prune_start=5"],
        "--set prune_end",
    ),
    ("train", ["--resume"], "--resume"),
    ("train", ["--resume", "--overwrite", "--output", "x"], "--overwrite"),
    # tune_schedules
    ("tune_schedules", ["--seeds", "-1"], "--seeds"),
    ("tune_schedules", ["--final-sparsity-grid", "1.5"], "--final-sparsity-grid"),
    (
        "tune_schedules",
        ["--final-sparsities", "1.5"],
        "--final-sparsity-grid",
    ),  # deprecated spelling
    ("tune_schedules", ["--schedules", "cosine"], "--schedules"),
    ("tune_schedules", ["--iterations", "0"], "--iterations"),
    ("tune_schedules", ["--num-cpus", "0"], "--num-cpus"),
    ("tune_schedules", ["--max-concurrent", "0"], "--max-concurrent"),
    ("tune_schedules", ["--preset", "tiny", "--env", "num_channels=0"], "--env num_channels"),
    ("tune_schedules", ["--preset", "tiny", "--set", "seed=1"], "--set seed"),
    ("tune_schedules", ["--preset", "tiny", "--set", "gamma=2"], "--set gamma"),
    ("tune_schedules", ["--preset", "nope"], "--preset"),
    # reproduce
    ("reproduce", ["--budget", "huge"], "--budget"),
    ("reproduce", ["--setups", "Z"], "--setups"),
    ("reproduce", ["--rows", "nope"], "--rows"),
    ("reproduce", ["--seeds", "-1"], "--seeds"),
    ("reproduce", ["--seeds", "1", "1"], "--seeds"),
    ("reproduce", ["--iterations", "0"], "--iterations"),
    ("reproduce", ["--num-cpus", "0"], "--num-cpus"),
    ("reproduce", ["--max-concurrent", "x"], "--max-concurrent"),
    ("reproduce", ["--report-only", "--output", "does/not/exist"], "--output"),
    # benchmark
    ("benchmark", ["--iterations", "0"], "--iterations"),
    ("benchmark", ["--warmup", "-1"], "--warmup"),
    ("benchmark", ["--episodes-per-iteration", "0"], "--episodes-per-iteration"),
    ("benchmark", ["--critic", "x"], "--critic"),
    ("benchmark", ["--setup", "Z"], "--setup"),
]


def _call(command, argv):
    module = importlib.import_module(f"rllib_experiments.cli.{command}")
    return module.resolve(argv) if hasattr(module, "resolve") else module.main(argv)


@pytest.mark.parametrize(
    "command, argv, flag", CASES, ids=[f"{c}:{' '.join(a)}" for c, a, _ in CASES]
)
def test_bad_flag_exits_2_naming_it(command, argv, flag, tmp_path, monkeypatch, capsys):
    import ray

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        _call(command, argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err, err
    assert not ray.is_initialized()
    assert list(tmp_path.iterdir()) == []  # nothing written by a refused command


def test_a_folder_of_another_command_is_refused(tmp_path, monkeypatch, capsys):
    from rllib_experiments.run import outputs as out

    monkeypatch.chdir(tmp_path)
    train_run, grid, raw = tmp_path / "t", tmp_path / "g", tmp_path / "r"
    for folder, marker in (
        (train_run, out.RUN_FILE),
        (grid, out.GRID_FILE),
        (raw, out.REPRODUCE_LOG),
    ):
        folder.mkdir()
        (folder / marker).write_text("{}\n")
    for command, argv, owner in (
        ("tune_schedules", ["--preset", "tiny", "--output", str(train_run)], "train"),
        ("reproduce", ["--budget", "smoke", "--output", str(grid)], "tune_schedules"),
        ("train", ["--preset", "tiny", "--output", str(grid)], "tune_schedules"),
        ("train", ["--preset", "tiny", "--output", str(raw)], "reproduce"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            _call(command, argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --output" in err and f"output of {owner}" in err, err
    for folder in (train_run, grid, raw):
        assert [p.name for p in folder.iterdir()] == [next(iter(folder.iterdir())).name]
