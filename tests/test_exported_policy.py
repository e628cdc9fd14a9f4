"""ExportedPolicy (dsa_pettingzoo/baselines/exported.py): exported actors as a baseline, and
``dsa-evaluate --policy exported:DIR``."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dsa_pettingzoo import BatchedDSA, ConfigError, make_config
from dsa_pettingzoo.baselines import make_policy
from dsa_pettingzoo.baselines.exported import ExportedPolicy
from dsa_pettingzoo.cli import evaluate
from dsa_pettingzoo.deploy import Architecture, load_actors, native
from dsa_pettingzoo.evaluation import evaluate_policy, play_episodes
from test_deploy import REPO, SMALL, export_dir  # the actor files of the deploy tests


def test_deploy_never_imports_the_baselines():
    """The arrow goes one way: baselines.exported builds on deploy, deploy knows no baseline."""
    code = (
        "import sys, dsa_pettingzoo.deploy, dsa_pettingzoo.deploy.actor_speed\n"
        "up = sorted(m for m in sys.modules if m.startswith('dsa_pettingzoo.baselines'))\n"
        "assert not up, up"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    imported = set()  # every module named by an import statement, lazy ones included
    for path in (REPO / "dsa_pettingzoo" / "deploy").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.add("." * node.level + (node.module or ""))
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert "..physics" in imported and not [m for m in imported if "baselines" in m]


def test_exported_prefix_is_registered_once(tmp_path):
    import dsa_pettingzoo.baselines as baselines
    from dsa_pettingzoo.baselines import exported

    assert baselines.EXPORTED_PREFIX is exported.EXPORTED_PREFIX == "exported:"
    assert baselines.PREFIXED_POLICIES["exported:"] is ExportedPolicy
    assert list(baselines.PREFIXED_POLICIES) == ["exported:", "pretrained:"]
    arch = Architecture(obs_dim=2 + 5, num_actions=3, hidden_sizes=(16,), lstm_size=8)
    d = export_dir(tmp_path, arch, 2)
    policy = make_policy(f"exported:{d}")
    assert type(policy) is ExportedPolicy and policy.directory == str(d)
    assert len(policy.actors) == 2 and policy.greedy
    with pytest.raises(
        ValueError, match=r"allowed: random, aloha, .*, exported:DIR, pretrained:NAME"
    ):
        make_policy("exported:")


@pytest.mark.parametrize("observation", ["last_action_feedback", "last_action_feedback_rate"])
def test_exported_policy_sees_what_the_env_shows(tmp_path, observation):
    """ExportedPolicy rebuilds y_t from feedback: same actions as feeding the env's observations."""
    K, N, B = 2, 3, 5
    arch = Architecture(
        obs_dim=K + 5 + (observation != "last_action_feedback"),
        num_actions=K + 1,
        hidden_sizes=(16,),
        lstm_size=8,
    )
    d = export_dir(tmp_path, arch, N, sparsity=0.5)
    env = dict(num_users=N, num_channels=K, horizon=30, observation=observation, setup="B")
    seeds = [11, 12, 13, 14, 15]
    sim = BatchedDSA(B, **env)
    stats = play_episodes(ExportedPolicy(d), sim, seeds, np.random.default_rng(0))
    actors = load_actors(d)
    for a in actors:
        a.reset(B)
    obs = sim.reset(seeds=seeds)
    done = False
    while not done:
        actions = np.stack([a.act(obs[:, n]) for n, a in enumerate(actors)], axis=1)
        obs, _, term, _, info = sim.step(actions)
        done = term.all()
    np.testing.assert_array_equal(info["episode"]["system_throughput"], stats.reward)
    np.testing.assert_array_equal(info["episode"]["successes"], stats.successes)


def test_exported_policy_checks_n_k_and_observation(tmp_path):
    d = export_dir(tmp_path, SMALL, 3, env={"num_users": 3, "num_channels": 2})
    policy = ExportedPolicy(d)
    policy.check_config(make_config(num_users=3, num_channels=2))
    for env, argument, message in (
        (
            dict(num_users=4, num_channels=2),
            "num_users",
            f"the exported actors in {d} were trained with num_users=3, the environment has "
            "num_users=4",
        ),
        (
            dict(num_users=3, num_channels=3),
            "num_channels",
            f"the exported actors in {d} were trained with num_channels=2, the environment has "
            "num_channels=3",
        ),
        (
            dict(num_users=3, num_channels=2, observation="last_action_feedback_rate"),
            "observation",
            f"{d / 'user_0.dsaactor'}: built for observations of size 7 but the environment's "
            "'last_action_feedback_rate' observation with K = 2 has size 8",
        ),
    ):
        with pytest.raises(ConfigError) as err:
            policy.check_config(make_config(**env))
        assert (err.value.argument, str(err.value)) == (argument, message)
    with pytest.raises(ValueError, match="trained with num_users=3"):  # refused when episodes start
        evaluate_policy(policy, 2, num_users=4, num_channels=2)


def test_exported_policy_sampling_mode(tmp_path):
    d = export_dir(tmp_path, SMALL, 3)
    env = dict(num_users=3, num_channels=2, horizon=20)
    greedy = evaluate_policy(make_policy(f"exported:{d}"), 8, seed=0, **env)
    sampled = evaluate_policy(make_policy(f"exported:{d}", greedy=False), 8, seed=0, **env)
    again = evaluate_policy(make_policy(f"exported:{d}", greedy=False), 8, seed=0, **env)
    np.testing.assert_array_equal(sampled.reward, again.reward)  # seeded
    assert not np.array_equal(greedy.successes, sampled.successes)


def test_dsa_evaluate_exported(tmp_path, capsys):
    d = export_dir(tmp_path, SMALL, 3)
    flags = ["--num-users", "3", "--num-channels", "2", "--horizon", "20", "--episodes", "12"]
    assert evaluate.main(["--policy", f"exported:{d}", *flags, "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    direct = evaluate_policy(
        make_policy(f"exported:{d}"), 12, seed=0, num_users=3, num_channels=2, horizon=20
    )
    assert result["policy"] == f"exported:{d}" and result["policy_params"] == {"greedy": True}
    assert result["mean_reward"] == pytest.approx(float(direct.reward.mean()))
    assert 0 < result["oracle_ratio"] <= 1


@pytest.mark.parametrize(
    "args, flag, message",
    [
        (
            ["--num-users", "4", "--num-channels", "2"],
            "--num-users",
            "were trained with num_users=3, the environment has num_users=4",
        ),
        (
            ["--num-channels", "2"],
            "--num-users",  # setup A's N = 10
            "were trained with num_users=3, the environment has num_users=10",
        ),
        (
            ["--num-users", "3", "--num-channels", "3"],
            "--num-channels",
            "were trained with num_channels=2, the environment has num_channels=3",
        ),
        (
            [
                "--num-users",
                "3",
                "--num-channels",
                "2",
                "--observation",
                "last_action_feedback_rate",
            ],
            "--observation",
            "built for observations of size 7",
        ),
    ],
)
def test_dsa_evaluate_refuses_mismatched_actors(tmp_path, capsys, args, flag, message):
    d = export_dir(tmp_path, SMALL, 3)
    with pytest.raises(SystemExit) as err:
        evaluate.main(["--policy", f"exported:{d}", *args, "--episodes", "2"])
    assert err.value.code == 2
    stderr = capsys.readouterr().err
    assert f"argument {flag}: " in stderr and message in stderr and str(d) in stderr


def test_dsa_evaluate_refuses_an_incomplete_folder(tmp_path, capsys):
    """A missing user is not hidden by asking for fewer users."""
    d = export_dir(tmp_path, SMALL, 3, env={"num_users": 3, "num_channels": 2})
    (d / "user_2.dsaactor").unlink()
    with pytest.raises(SystemExit) as err:
        evaluate.main(
            [
                "--policy",
                f"exported:{d}",
                "--num-users",
                "2",
                "--num-channels",
                "2",
                "--episodes",
                "2",
            ]
        )
    assert err.value.code == 2
    assert (
        f"argument --policy: {d}: user_2.dsaactor missing: the folder must hold exactly "
        "user_0.dsaactor .. user_2.dsaactor (N = 3, from env.num_users in the headers)"
    ) in capsys.readouterr().err


def test_dsa_evaluate_exported_compute_modes_agree(tmp_path, capsys):
    """--exported-compute picks the kernels; greedy episodes are the same in every mode."""

    d = export_dir(tmp_path, SMALL, 3)
    flags = [
        "--num-users",
        "3",
        "--num-channels",
        "2",
        "--horizon",
        "20",
        "--episodes",
        "12",
        "--json",
        "--quiet",
    ]
    modes = ["sparse", "dense"] + (["native"] if native.available() else [])
    results = {}
    for mode in modes:
        assert evaluate.main(["--policy", f"exported:{d}", "--exported-compute", mode, *flags]) == 0
        results[mode] = json.loads(capsys.readouterr().out)
        assert results[mode]["policy_params"] == {"greedy": True, "compute": mode}
    assert len({r["mean_reward"] for r in results.values()}) == 1


def test_dsa_evaluate_exported_flag_errors(tmp_path, capsys):
    for argv, message in (
        (["--policy", f"exported:{tmp_path / 'none'}"], "not a directory"),
        (["--policy", "exported:"], "exported:DIR"),
        (["--policy", "aloha", "--exported-sample"], "--exported-sample"),
        (["--policy", "aloha", "--exported-compute", "dense"], "--exported-compute"),
        (["--policy", f"exported:{tmp_path}", "--exported-compute", "gpu"], "invalid choice"),
    ):
        with pytest.raises(SystemExit):
            evaluate.main([*argv, "--episodes", "2"])
        assert message in capsys.readouterr().err


def test_dsa_evaluate_records_differences_from_the_actors_training_env(tmp_path, capsys):
    trained = {"setup": "A", "num_users": 3, "num_channels": 2, "horizon": 20}
    d = export_dir(tmp_path, SMALL, 3, env=trained)
    flags = ["--num-users", "3", "--num-channels", "2", "--episodes", "4", "--no-oracle"]
    assert evaluate.main(["--policy", f"exported:{d}", *flags, "--setup", "C", "--json"]) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    diffs = result["training_env_differences"]
    assert any(line.startswith("setup: trained 'A', evaluated 'C'") for line in diffs)
    assert any(line.startswith("horizon: trained 20, evaluated 100") for line in diffs)
    assert any(line.startswith("pu_model:") for line in diffs)
    assert "differs from the actors' training environment: horizon" in out.err
    # the same environment: nothing to say, and an empty list recorded
    same = ["--num-users", "3", "--num-channels", "2", "--horizon", "20", "--setup", "A"]
    assert evaluate.main(["--policy", f"exported:{d}", *same, "--episodes", "4", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["training_env_differences"] == [] and "differs" not in out.err
