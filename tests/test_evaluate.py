"""Tests of the dsa-evaluate CLI (dsa_pettingzoo.cli.evaluate)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dsa_pettingzoo.baselines import make_policy
from dsa_pettingzoo.cli import evaluate
from dsa_pettingzoo.evaluation import evaluate_policy

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m dsa_pettingzoo evaluate ARGS`` in a subprocess (repo importable)."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "dsa_pettingzoo", "evaluate", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_json(capsys, *args: str) -> dict:
    assert evaluate.main([*args, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


def log2_antiderivative(x: float) -> float:
    """An antiderivative of log2(1 + x)."""
    return ((1 + x) * math.log(1 + x) - x) / math.log(2)


def test_cli_subprocess_json_parses():
    proc = run_cli("--policy", "aloha", "--setup", "A", "--episodes", "40", "--seed", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # stdout is exactly one JSON object
    assert result["episodes"] == 40 and result["policy"] == "aloha"
    for key in (
        "mean_reward",
        "std_reward",
        "collision_rate",
        "idle_rate",
        "utilisation",
        "jain_fairness",
        "oracle_ratio",
    ):
        assert isinstance(result[key], float)
    # Slotted ALOHA with p = K/N = 0.5, no PUs (setup A): a user succeeds when it transmits
    # and none of the other N-1 picks its channel, so E[successes per slot] =
    # N p (1 - p/K)^(N-1), each worth E[log2(1 + beta)], beta ~ U[30, 40]; about 1000.56.
    n_users, k, horizon, p, episodes = 10, 5, 100, 0.5, 40
    mean_rate = (log2_antiderivative(40) - log2_antiderivative(30)) / 10
    expected = horizon * n_users * p * (1 - p / k) ** (n_users - 1) * mean_rate
    assert expected == pytest.approx(1000.56, abs=0.01)
    sem = result["std_reward"] / math.sqrt(episodes)
    assert abs(result["mean_reward"] - expected) < 5 * sem
    assert 0 < result["oracle_ratio"] < 1
    # every user-slot is idle with probability 1 - p, independently: binomial standard error
    idle_se = math.sqrt(p * (1 - p) / (n_users * horizon * episodes))
    assert abs(result["idle_rate"] - (1 - p)) < 5 * idle_se


def first_number(text: str) -> float:
    for token in text.split():
        try:
            return float(token)
        except ValueError:
            continue
    raise AssertionError(f"no number in {text!r}")


def test_cli_table_output():
    args = ("--policy", "musical_chairs", "--episodes", "10", "--setup", "B")
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(run_cli(*args, "--json").stdout)
    stats = evaluate_policy(make_policy("musical_chairs"), 10, seed=0, setup="B")
    assert result["mean_reward"] == pytest.approx(stats.reward.mean(), rel=1e-12)
    lines = proc.stdout.splitlines()
    # the table prints the measured values, rounded to its decimals
    for label, key, decimals in (
        ("episode reward", "mean_reward", 2),
        ("ratio to oracle", "oracle_ratio", 3),
        ("collision rate", "collision_rate", 3),
        ("idle rate", "idle_rate", 3),
        ("utilisation (of K*T", "utilisation", 3),
        ("Jain's fairness", "jain_fairness", 3),
    ):
        line = next(x for x in lines if x.startswith(label))
        assert first_number(line[len(label) :]) == pytest.approx(
            result[key], abs=0.51 * 10**-decimals
        ), line


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--policy", "greedy"], "--policy"),
        (["--policy", "aloha", "--aloha-p", "1.5"], "--aloha-p"),
        (["--policy", "aloha", "--oca-eta", "0.2"], "--oca-eta"),
        (["--policy", "oca", "--oca-eta", "0"], "--oca-eta"),
        (["--policy", "aloha", "--episodes", "0"], "--episodes"),
        (["--policy", "aloha", "--num-users", "0"], "--num-users"),
        (["--policy", "aloha", "--pu-prob", "0.1", "0.2"], "--pu-prob"),
        (["--policy", "aloha", "--snr-range", "40", "30"], "--snr-range"),
        (["--policy", "aloha", "--pu-model", "bursty"], "--pu-model"),
        (["--policy", "aloha", "--pu-mean-busy", "4"], "--pu-mean-busy"),
        (["--policy", "aloha", "--setup", "D"], "--setup"),
        (["--policy", "aloha", "--snr", "[[1, 2]]"], "--snr"),
        (["--policy", "aloha", "--snr", "not json"], "--snr"),
        (["--episodes", "3"], "--policy"),
        (["--policy", "mctopm", "--param", "index=ucb"], "--param"),
        (["--policy", "aloha", "--param", "explore=3"], "--param"),
        (["--policy", "game_of_thrones", "--param", "epsilon"], "--param"),
    ],
)
def test_bad_flags_exit_nonzero_naming_the_flag(capsys, args, flag):
    with pytest.raises(SystemExit) as exc:
        evaluate.main(args)
    assert exc.value.code != 0
    assert flag in capsys.readouterr().err


def test_markov_pu_with_high_occupancy_gets_a_valid_default(capsys):
    """--pu-prob 0.9 --pu-model markov: 5 slots is too short, the default is raised to 9."""
    result = run_json(
        capsys,
        "--policy",
        "aloha",
        "--episodes",
        "2",
        "--pu-prob",
        "0.9",
        "--pu-model",
        "markov",
        "--no-oracle",
    )
    assert result["env"]["pu_mean_busy"] == pytest.approx([9.0] * 5)
    assert result["pu_blocked_rate"] > 0.8


@pytest.mark.parametrize(
    "args, flag, text",
    [
        (
            ["--pu-prob", "0.9", "--pu-model", "markov", "--pu-mean-busy", "5"],
            "--pu-mean-busy",
            "use at least 9",
        ),
        (["--pu-model", "markov"], "--pu-model", "needs pu_prob"),
        (["--setup", "B", "--no-pu", "--pu-model", "markov"], "--pu-model", "needs pu_prob"),
        (["--num-users", "2", "--snr", "[[1, 2, 3], [4, 5, 6]]"], "--snr", "2 x 5"),
    ],
)
def test_env_error_names_the_flag_the_user_gave(capsys, args, flag, text):
    with pytest.raises(SystemExit):
        evaluate.main(["--policy", "aloha", *args])
    err = capsys.readouterr().err
    assert f"argument {flag}: " in err and text in err and "--setup" not in err.split("error:")[1]


def test_bad_flag_in_a_subprocess():
    proc = run_cli("--policy", "aloha", "--aloha-p", "2")
    assert proc.returncode == 2
    assert "--aloha-p" in proc.stderr and "[0, 1]" in proc.stderr


def test_env_flags_reach_the_simulator(capsys):
    result = run_json(
        capsys,
        "--policy",
        "random",
        "--episodes",
        "5",
        "--num-users",
        "3",
        "--num-channels",
        "4",
        "--horizon",
        "7",
        "--pu-prob",
        "0.5",
        "--pu-model",
        "markov",
        "--pu-mean-busy",
        "3",
        "--snr-range",
        "10",
        "20",
        "--reward",
        "individual",
    )
    env = result["env"]
    assert (env["num_users"], env["num_channels"], env["horizon"]) == (3, 4, 7)
    assert env["pu_prob"] == [0.5] * 4 and env["pu_model"] == "markov"
    assert env["pu_mean_busy"] == [3.0] * 4 and env["snr_range"] == [10.0, 20.0]
    assert env["reward"] == "individual"
    assert result["pu_blocked_rate"] > 0


def test_fixed_snr_matrix_flag(capsys):
    """Two users, two channels, a fixed SNR matrix: the oracle gets log2(1+15) + log2(1+7) = 7 a slot."""
    result = run_json(
        capsys,
        "--policy",
        "oracle",
        "--episodes",
        "2",
        "--num-users",
        "2",
        "--num-channels",
        "2",
        "--horizon",
        "10",
        "--snr",
        "[[15, 1], [3, 7]]",
    )
    assert result["env"]["snr"] == [[15.0, 1.0], [3.0, 7.0]]
    assert result["mean_reward"] == pytest.approx(70.0)


def test_no_pu_overrides_setup_b(capsys):
    result = run_json(capsys, "--policy", "aloha", "--episodes", "5", "--setup", "B", "--no-pu")
    assert result["env"]["pu_prob"] is None and result["pu_blocked_rate"] == 0.0


def test_policy_flags_change_the_policy(capsys):
    always = run_json(
        capsys, "--policy", "aloha", "--aloha-p", "1", "--episodes", "5", "--no-oracle"
    )
    assert always["idle_rate"] == 0.0 and always["policy_params"] == {"p": 1.0}
    assert "oracle_ratio" not in always


def test_param_flag_reaches_the_policy(capsys):
    result = run_json(
        capsys,
        "--policy",
        "game_of_thrones",
        "--param",
        "explore=10",
        "--param",
        "epsilon=0.01",
        "--episodes",
        "4",
        "--no-oracle",
    )
    assert result["policy_params"] == {"explore": 10, "epsilon": 0.01}
    stats = evaluate_policy(make_policy("game_of_thrones", explore=10, epsilon=0.01), 4, seed=0)
    assert result["mean_reward"] == pytest.approx(stats.reward.mean(), rel=1e-12)


def test_cli_matches_library_and_oracle_on_same_episodes(capsys):
    """The CLI reports what evaluate_policy measures, and its oracle ratio uses the same seeds."""
    result = run_json(
        capsys,
        "--policy",
        "oca",
        "--episodes",
        "30",
        "--seed",
        "3",
        "--setup",
        "B",
        "--chunk-size",
        "16",
    )
    stats = evaluate_policy(make_policy("oca"), 30, seed=3, chunk_size=16, setup="B")
    oracle = evaluate_policy(make_policy("oracle"), 30, seed=3, chunk_size=16, setup="B")
    assert result["mean_reward"] == pytest.approx(stats.reward.mean(), rel=1e-12)
    assert result["std_reward"] == pytest.approx(stats.reward.std(ddof=1), rel=1e-12)
    assert result["oracle_ratio"] == pytest.approx(stats.reward.mean() / oracle.reward.mean())
    again = run_json(
        capsys,
        "--policy",
        "oca",
        "--episodes",
        "30",
        "--seed",
        "3",
        "--setup",
        "B",
        "--chunk-size",
        "16",
    )
    assert again["mean_reward"] == result["mean_reward"]  # deterministic given seed and chunk


def test_oracle_policy_ratio_is_one(capsys):
    result = run_json(capsys, "--policy", "oracle", "--episodes", "8")
    assert result["oracle_ratio"] == 1.0 and result["collision_rate"] == 0.0


def test_first_episodes_do_not_depend_on_the_episode_count():
    """Episode i's environment seed depends only on (seed, i): the oracle (no randomness of its
    own) scores the first 10 episodes identically in a 10- and a 30-episode run."""
    short = evaluate_policy(make_policy("oracle"), 10, seed=1, setup="B")
    long = evaluate_policy(make_policy("oracle"), 30, seed=1, setup="B")
    assert list(short.reward) == list(long.reward[:10])


def test_progress_line_goes_to_stderr(capsys, monkeypatch):
    progress = evaluate._Progress("aloha", enabled=True, delay=0.0)
    progress(5, 10)
    progress(10, 10)
    err = capsys.readouterr().err
    assert "aloha: 10/10 episodes" in err and err.endswith("\n")


def test_help_documents_every_flag():
    text = evaluate.build_parser().format_help()
    for action in evaluate.build_parser()._actions:
        for opt in action.option_strings:
            assert opt in text
        assert action.help


# the interpreter's own scripts folder first: a venv used without activating it is not on PATH
SCRIPT = (
    str(Path(sys.executable).with_name("dsa-evaluate"))
    if Path(sys.executable).with_name("dsa-evaluate").is_file()
    else shutil.which("dsa-evaluate")
)


@pytest.mark.skipif(
    SCRIPT is None, reason=f"no dsa-evaluate next to {sys.executable} or on PATH (pip install -e .)"
)
def test_console_script_is_installed():
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [SCRIPT, "--policy", "random", "--episodes", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["episodes"] == 3


def test_library_rejects_bad_budgets():
    with pytest.raises(ValueError, match="episodes"):
        evaluate_policy(make_policy("random"), 0, setup="A")
    with pytest.raises(ValueError, match="chunk_size"):
        evaluate_policy(make_policy("random"), 5, chunk_size=2.5, setup="A")


def test_policy_flag_defaults_in_help_are_the_classes_defaults():
    """Every '(default X)' of a policy-parameter flag's help is the policy class's own default."""
    import inspect
    import re

    from dsa_pettingzoo.baselines import POLICIES
    from dsa_pettingzoo.cli.evaluate import POLICY_PARAMS, build_parser

    actions = {a.dest: a for a in build_parser()._actions}
    checked = 0
    for dest, (policy, keyword) in POLICY_PARAMS.items():
        m = re.search(r"\(default ([0-9.]+)\)", actions[dest].help or "")
        if not m:
            continue
        default = inspect.signature(POLICIES[policy].__init__).parameters[keyword].default
        assert float(m.group(1)) == pytest.approx(float(default)), (dest, m.group(1), default)
        checked += 1
    assert checked >= 5
