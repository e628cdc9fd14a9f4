"""Tests of the export (rllib_experiments.run.export and its command): torch actors -> exported files -> numpy policy, identical actions.

Needs torch (and ray for the checkpoint tests): every test is marked ``rllib``.
"""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
gym = pytest.importorskip("gymnasium")

from dsa_pettingzoo import BatchedDSA  # noqa: E402
from dsa_pettingzoo.evaluation import play_episodes  # noqa: E402
from dsa_pettingzoo.deploy import Architecture, load_actors, load_policy, read_actor_file  # noqa: E402
from dsa_pettingzoo.baselines.exported import ExportedPolicy  # noqa: E402

pytestmark = pytest.mark.rllib

PAPER = dict(hidden_sizes=[128, 128], lstm_size=128, lstm_layers=1)


def make_actor(
    seed: int, sparsity: float = 0.0, obs_dim: int = 10, num_actions: int = 6, model_config=PAPER
):
    """A fresh IAGCActor (torch's default init), magnitude-pruned like in training."""
    from pruning_callbacks.masks import MagnitudePruner
    from rllib_experiments.iagc.modules import IAGCActor

    torch.manual_seed(seed)
    actor = IAGCActor(
        observation_space=gym.spaces.Box(0.0, 1.0, (obs_dim,), np.float32),
        action_space=gym.spaces.Discrete(num_actions),
        model_config=dict(model_config),
    )
    if sparsity:
        MagnitudePruner(actor).finalize(sparsity)
    return actor


TINY = dict(hidden_sizes=[8], lstm_size=4, lstm_layers=1)


def fake_checkpoint(root, n_users=3, env=None, seed=0, big_weight_user=None):
    """An Algorithm checkpoint's layout holding tiny IAGCActors (N users, K = 2), no training.

    ``env``: its env_config (default N users, K = 2); ``big_weight_user``: that user's
    actor gets one weight beyond float16's range.
    """
    env = {"num_users": n_users, "num_channels": 2} if env is None else env
    root.mkdir(parents=True)
    (root / "rllib_checkpoint.json").write_text(json.dumps({"state_file": "algorithm_state"}))
    with open(root / "class_and_ctor_args.pkl", "wb") as f:
        pickle.dump({"ctor_args_and_kwargs": (({"env_config": env},), {})}, f)
    modules = root / "learner_group" / "learner" / "rl_module"
    for n in range(n_users):
        actor = make_actor(seed + n, sparsity=0.5, obs_dim=7, num_actions=3, model_config=TINY)
        state = {k: v.numpy().copy() for k, v in actor.state_dict().items()}
        if n == big_weight_user:
            state["logits.weight"][0, 0] = 1e6
        (modules / f"user_{n}").mkdir(parents=True)
        with open(modules / f"user_{n}" / "module_state.pkl", "wb") as f:
            pickle.dump(state, f)
    (modules / "shared_critic").mkdir()
    (modules / "shared_critic" / "module_state.pkl").write_bytes(b"critic")
    return root


def snapshot(root):
    """Relative path -> (size, mtime) of everything below ``root``: did a command change it?"""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def quiet_export(checkpoint, output, **kw):
    from rllib_experiments.run.export import export_checkpoint

    return export_checkpoint(checkpoint, output, log=lambda *a: None, **kw)


def torch_sequence(actor, obs: np.ndarray):
    """(logits, probs) of the torch actor over one episode [T, d] from a zero state."""
    with torch.no_grad():
        out = actor.forward_inference({"obs": torch.from_numpy(obs)[None]})
        logits = out["action_dist_inputs"][0]
    return logits.numpy(), torch.softmax(logits, dim=-1).numpy()


@pytest.mark.parametrize("sparsity, compute", [(0.0, "dense"), (0.95, "sparse"), (0.95, "dense")])
def test_numpy_policy_equals_torch_actor_over_10000_steps(tmp_path, sparsity, compute):
    """Setup A, user 0 of 10: 100 episodes x 100 slots, step by step (batch 1) in numpy.

    The numpy policy drives user 0 by sampling from its own probabilities (so the
    observations visit collisions, ACKs and idles; the other users play ALOHA with
    p = 0.5); every slot its greedy action must equal the torch actor's argmax and its
    probabilities must match torch's softmax within 1e-5.
    """
    from rllib_experiments.dsa.actor_files import export_actor

    actor = make_actor(seed=1, sparsity=sparsity)
    path = tmp_path / "user_0.dsaactor"
    header = export_actor(actor, None, path, agent="user_0", env={"setup": "A"})
    assert header["sparsity"]["prunable"] == pytest.approx(sparsity, abs=1e-4)
    policy = load_policy(path, compute=compute)
    assert set(policy.kernel_kinds) == {compute}
    sim, rng = BatchedDSA(1, setup="A"), np.random.default_rng(0)
    steps, worst = 0, 0.0
    for episode in range(100):
        obs = sim.reset(seed=episode)
        policy.reset()
        seen, greedy, probs = [], [], []
        for _ in range(sim.horizon):
            y = obs[0, 0]
            seen.append(y)
            greedy.append(policy.act(y))
            p = policy.last_probs[0]
            probs.append(p)
            others = np.where(rng.random(10) < 0.5, rng.integers(1, 6, 10), 0)
            others[0] = rng.choice(6, p=p)
            obs, _, _, _, _ = sim.step(others[None])
        logits, torch_probs = torch_sequence(actor, np.stack(seen))
        np.testing.assert_array_equal(greedy, logits.argmax(axis=1), err_msg=f"episode {episode}")
        worst = max(worst, float(np.abs(np.stack(probs) - torch_probs).max()))
        steps += len(seen)
    assert steps == 10_000
    assert worst < 1e-5, worst
    assert len({tuple(o) for o in seen}) > 3  # the observations did vary


def test_batched_exported_users_equal_torch_rollout(tmp_path):
    """dsa-evaluate's path (B = 50 copies of the state, 10 users) == rllib_experiments' torch rollout."""
    from rllib_experiments.dsa.actor_files import export_actor
    from rllib_experiments.dsa.rollout import rollout

    actors = [make_actor(seed=10 + n, sparsity=0.95 if n % 2 else 0.0) for n in range(10)]
    out = tmp_path / "actors"
    out.mkdir()
    for n, actor in enumerate(actors):
        export_actor(actor, None, out / f"user_{n}.dsaactor", agent=f"user_{n}", env={"setup": "A"})
    seeds = list(range(100, 150))
    torch_run = rollout(actors, BatchedDSA(50, setup="A"), mode="greedy", seeds=seeds)
    stats = play_episodes(
        ExportedPolicy(out), BatchedDSA(50, setup="A"), seeds, np.random.default_rng(0)
    )
    np.testing.assert_allclose(stats.reward, torch_run["rates"].sum(axis=(1, 2)), rtol=1e-12)
    assert [a.header["user_index"] for a in load_actors(out)] == list(range(10))


def test_float16_export_matches_the_rounded_actor(tmp_path):
    from rllib_experiments.dsa.actor_files import export_actor

    actor = make_actor(seed=2, sparsity=0.9)
    path = tmp_path / "user_0.dsaactor"
    export_actor(actor, None, path, dtype="float16")
    with torch.no_grad():
        for p in actor.parameters():
            p.copy_(p.half().float())
    policy = load_policy(path)
    obs = np.random.default_rng(0).random((1000, 10)).astype(np.float32)
    for start in range(0, 1000, 100):
        policy.reset()
        greedy = [policy.act(y) for y in obs[start : start + 100]]
        logits, _ = torch_sequence(actor, obs[start : start + 100])
        np.testing.assert_array_equal(greedy, logits.argmax(axis=1))


def test_export_actor_from_state_dict_and_arch_check(tmp_path):
    from rllib_experiments.dsa.actor_files import export_actor

    small = dict(hidden_sizes=[8], lstm_size=4, lstm_layers=2)
    actor = make_actor(seed=3, obs_dim=7, num_actions=3, model_config=small)
    arch = Architecture(obs_dim=7, num_actions=3, hidden_sizes=(8,), lstm_size=4, lstm_layers=2)
    state = {k: v.numpy() for k, v in actor.state_dict().items()}
    export_actor(state, arch, tmp_path / "a.dsaactor")
    header, got, params = read_actor_file(tmp_path / "a.dsaactor")
    assert got == arch and header["observation"]["encoding"] == "last_action_feedback"
    np.testing.assert_array_equal(params["lstm.1.weight_hh"], state["trunk.lstm.weight_hh_l1"])
    np.testing.assert_array_equal(
        params["lstm.1.bias"], state["trunk.lstm.bias_ih_l1"] + state["trunk.lstm.bias_hh_l1"]
    )
    with pytest.raises(ValueError, match="architecture"):
        export_actor(actor, Architecture(obs_dim=7, num_actions=3), tmp_path / "b.dsaactor")
    with pytest.raises(ValueError, match="does not fit the environment"):
        export_actor(actor, None, tmp_path / "c.dsaactor", env={"setup": "A"})  # K = 5, not 2
    with pytest.raises(ValueError, match="not an IAGCActor state dict"):
        export_actor({"w": np.zeros((2, 2))}, None, tmp_path / "d.dsaactor")


# ----------------------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A tiny IAGC-PPO run (N=3, K=2) pruned to 90% in one iteration, saved with save_to_path."""
    ray = pytest.importorskip("ray")
    from rllib_experiments.algorithm import build_algo_config
    from rllib_experiments.settings import load_preset

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    settings = load_preset(
        "tiny", schedule="linear", final_sparsity=0.9, prune_end=1, prune_mode="hold", iterations=2
    )
    algo = build_algo_config(settings).build_algo()
    try:
        for _ in range(2):  # the schedule's target reaches the learner from the second iteration
            algo.train()
        path = tmp_path_factory.mktemp("ckpt") / "checkpoint"
        algo.save_to_path(str(path))
    finally:
        algo.stop()
        if started:
            ray.shutdown()
    return path, settings


@pytest.mark.slow
def test_export_cli_from_algorithm_checkpoint(tiny_checkpoint, tmp_path, capsys):
    from rllib_experiments.cli import export

    ckpt, settings = tiny_checkpoint
    out = tmp_path / "actors"
    assert export.main(["--checkpoint", str(ckpt), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "user_2" in printed and "% of weights zero" in printed
    actors = load_actors(out)
    assert len(actors) == 3
    module_dir = ckpt / "learner_group" / "learner" / "rl_module"
    for n, policy in enumerate(actors):
        with open(module_dir / f"user_{n}" / "module_state.pkl", "rb") as f:
            state = pickle.load(f)
        params = read_actor_file(out / f"user_{n}.dsaactor")[2]
        np.testing.assert_array_equal(params["lstm.0.weight_hh"], state["trunk.lstm.weight_hh_l0"])
        assert policy.header["env"]["num_users"] == 3 and policy.header["env"]["num_channels"] == 2
        assert policy.header["sparsity"]["prunable"] == pytest.approx(0.9, abs=0.01)
        assert policy.header["agent"] == f"user_{n}"
    # the critic is never exported; existing files are never overwritten silently
    assert sorted(p.name for p in out.iterdir()) == [f"user_{n}.dsaactor" for n in range(3)]
    with pytest.raises(SystemExit):
        export.main(["--checkpoint", str(ckpt), "--output", str(out)])
    assert "--overwrite" in capsys.readouterr().err
    assert (
        export.main(
            ["--checkpoint", str(ckpt), "--output", str(out), "--overwrite", "--dtype", "float16"]
        )
        == 0
    )
    assert read_actor_file(out / "user_0.dsaactor")[0]["dtype"] == "float16"


@pytest.mark.slow
def test_export_single_module_dir_and_bad_checkpoints(tiny_checkpoint, tmp_path, capsys):
    from rllib_experiments.cli import export

    ckpt, _ = tiny_checkpoint
    one = ckpt / "learner_group" / "learner" / "rl_module" / "user_1"
    assert export.main(["--checkpoint", str(one), "--output", str(tmp_path / "one")]) == 0
    header = read_actor_file(tmp_path / "one" / "user_1.dsaactor")[0]
    assert header["env"]["num_users"] == 3  # found in the enclosing Algorithm checkpoint
    for argv, message in (
        (["--checkpoint", str(tmp_path / "nowhere")], "no such directory"),
        (["--checkpoint", str(tmp_path)], "no actor module found"),
        (["--checkpoint", str(one.parent / "shared_critic")], "critic is never exported"),
        (["--checkpoint", str(one), "--env", "{bad"], "not valid JSON"),
        (["--checkpoint", str(one), "--env", json.dumps({"setup": "A"})], "does not fit"),
    ):
        with pytest.raises(SystemExit):
            export.main([*argv, "--output", str(tmp_path / "x")])
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_export_from_a_run_directory_takes_its_latest_checkpoint(tiny_checkpoint, tmp_path, capsys):
    from rllib_experiments.cli import export

    ckpt, _ = tiny_checkpoint
    for run in ("run_a", "run_b"):
        for it in ("iter_99", "iter_100"):  # natural order: 100 is the latest
            shutil.copytree(ckpt, tmp_path / "runs" / run / "checkpoints" / it)
    assert (
        export.main(
            ["--checkpoint", str(tmp_path / "runs" / "run_a"), "--output", str(tmp_path / "out")]
        )
        == 0
    )
    assert f"{tmp_path / 'runs' / 'run_a' / 'checkpoints' / 'iter_100'}" in capsys.readouterr().out
    assert len(load_actors(tmp_path / "out")) == 3
    with pytest.raises(SystemExit):
        export.main(["--checkpoint", str(tmp_path / "runs"), "--output", str(tmp_path / "x")])
    assert "checkpoints of 2 runs" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the output folder
def run_export(argv, capsys):
    """(exit code, stderr) of an export command that must fail."""
    from rllib_experiments.cli import export

    with pytest.raises(SystemExit) as err:
        export.main([str(a) for a in argv])
    return err.value.code, capsys.readouterr().err


@pytest.fixture
def ckpt(tmp_path):
    return fake_checkpoint(tmp_path / "ckpt")


def test_export_writes_one_system_under_one_run_id(ckpt, tmp_path):
    (tmp_path / "empty").mkdir()  # an empty folder is a valid --output
    done = quiet_export(ckpt, tmp_path / "empty")
    run_id = done["user_0"][1]["system"]["run_id"]
    assert len(run_id) == 32 and int(run_id, 16) >= 0  # uuid4 hex
    assert [h["system"] for _, h in done.values()] == [{"run_id": run_id, "num_users": 3}] * 3
    assert [h["source"]["checkpoint"] for _, h in done.values()] == [str(ckpt.resolve())] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "empty"]  # no temporary left
    assert [a.header["user_index"] for a in load_actors(tmp_path / "empty")] == [0, 1, 2]
    again = quiet_export(ckpt, tmp_path / "again")
    assert again["user_0"][1]["system"]["run_id"] != run_id  # one id per export command


def test_stale_file_in_output_is_refused_and_kept(ckpt, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "user_7.dsaactor").touch()
    before = snapshot(tmp_path)
    code, err = run_export(["--checkpoint", ckpt, "--output", out], capsys)
    assert code == 2
    assert (
        f"argument --output: folder '{out}' is not empty (holds user_7.dsaactor); choose a "
        "new or empty folder, or pass --overwrite to move the old one aside to "
        "out.old-<time> (nothing is deleted)"
    ) in err
    assert snapshot(tmp_path) == before


def test_overwrite_moves_the_old_export_aside(ckpt, tmp_path, capsys):
    from rllib_experiments.cli import export

    out = tmp_path / "out"
    out.mkdir()
    (out / "user_7.dsaactor").write_bytes(b"stale")
    assert export.main(["--checkpoint", str(ckpt), "--output", str(out), "--overwrite"]) == 0
    (old,) = [p for p in tmp_path.iterdir() if p.name.startswith("out.old-")]
    assert [(p.name, p.read_bytes()) for p in old.iterdir()] == [("user_7.dsaactor", b"stale")]
    assert sorted(p.name for p in out.iterdir()) == [f"user_{n}.dsaactor" for n in range(3)]
    assert len(load_actors(out)) == 3
    assert f"moved the old {out} aside to {old}" in capsys.readouterr().out


@pytest.mark.parametrize("overwrite", [False, True])
def test_failed_export_leaves_nothing_behind(tmp_path, capsys, overwrite):
    """user_2 cannot be stored in float16 after user_0 and user_1 were written."""
    ckpt = fake_checkpoint(tmp_path / "ckpt", big_weight_user=2)
    if overwrite:
        quiet_export(ckpt, tmp_path / "out")  # an earlier export that must survive intact
    target = tmp_path / "out" if overwrite else tmp_path / "new" / "deeper" / "out"
    before = snapshot(tmp_path)
    code, err = run_export(
        [
            "--checkpoint",
            ckpt,
            "--output",
            target,
            "--dtype",
            "float16",
            *(["--overwrite"] if overwrite else []),
        ],
        capsys,
    )
    assert code == 2
    assert "argument --dtype: tensor head.weight has values beyond float16's range" in err
    assert snapshot(tmp_path) == before


_CK, _OUT = ["--checkpoint", "{ckpt}"], ["--output", "{tmp}/out"]
EXPORT_FLAG_ERRORS = [  # argv, the flag named, the message
    (["--checkpoint", "{tmp}/nowhere", *_OUT], "--checkpoint", "/nowhere: no such directory"),
    (["--checkpoint", "{tmp}/a_file", *_OUT], "--checkpoint", "/a_file: not a directory"),
    (["--checkpoint", "{tmp}/empty", *_OUT], "--checkpoint", "no actor module found"),
    (
        ["--checkpoint", "{ckpt}/learner_group/learner/rl_module/shared_critic", *_OUT],
        "--checkpoint",
        "the shared critic is never exported",
    ),
    (
        ["--checkpoint", "{tmp}/broken/user_0", *_OUT],
        "--checkpoint",
        "module_state.pkl: cannot read the module's weights (UnpicklingError",
    ),
    (
        ["--checkpoint", "{tmp}/wrong_env", *_OUT],
        "--checkpoint",
        "does not fit the environment settings {{'setup': 'A'}}",
    ),
    ([*_CK], "--output", "the following arguments are required: --output"),
    ([*_CK, "--output", "{tmp}/a_file"], "--output", "a_file' exists and is not a folder"),
    ([*_CK, "--output", "{tmp}/notes"], "--output", "notes' is not empty (holds notes.txt)"),
    (
        [*_CK, "--output", "{tmp}/notes", "--overwrite"],
        "--output",
        "is not moved aside by --overwrite: it holds notes.txt, not only *.dsaactor or *.onnx files",
    ),
    ([*_CK, *_OUT, "--dtype", "float64"], "--dtype", "invalid choice: 'float64'"),
    ([*_CK, *_OUT, "--encoding", "zip"], "--encoding", "invalid choice: 'zip'"),
    ([*_CK, *_OUT, "--env", "{{bad"], "--env", "not valid JSON"),
    ([*_CK, *_OUT, "--env", "[1, 2]"], "--env", "must be a JSON object of environment kwargs"),
    ([*_CK, *_OUT, "--env", '{{"bogus": 1}}'], "--env", "unknown argument(s) ['bogus']"),
    (
        [*_CK, *_OUT, "--env", '{{"num_users": 0, "num_channels": 2}}'],
        "--env",
        "num_users must be an integer >= 1, got 0",
    ),
    (
        [*_CK, *_OUT, "--env", '{{"setup": "A"}}'],
        "--env",
        "(obs size 7, 3 actions) does not fit the environment settings",
    ),
    (
        [*_CK, *_OUT, "--env", '{{"num_users": 5, "num_channels": 2}}'],
        "--env",
        "the environment settings say num_users=5 but {ckpt} holds 3 actors",
    ),
    ([*_CK, *_OUT, "--overwrite=yes"], "--overwrite", "ignored explicit argument 'yes'"),
    (
        [*_CK, *_OUT, "--env", '{{"setup": "B", "num_users": 3, "num_channels": 2}}'],
        "--env",
        "contradicts the environment {ckpt} was trained in (pu_prob:",
    ),
    (
        [*_CK, *_OUT, "--env", '{{"num_users": 3, "num_channels": 2, "horizon": 20}}'],
        "--env",
        "horizon: given 20, checkpoint 100",
    ),
]


@pytest.mark.parametrize(
    "argv, flag, message",
    EXPORT_FLAG_ERRORS,
    ids=[f"{flag}-{i}" for i, (_, flag, _) in enumerate(EXPORT_FLAG_ERRORS)],
)
def test_every_export_flag_refuses_out_of_domain_values(
    ckpt, tmp_path, capsys, argv, flag, message
):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken" / "user_0").mkdir(parents=True)
    (tmp_path / "broken" / "user_0" / "module_state.pkl").write_bytes(b"not a pickle")
    fake_checkpoint(tmp_path / "wrong_env", env={"setup": "A"})
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    code, err = run_export([a.format(tmp=tmp_path, ckpt=ckpt) for a in argv], capsys)
    assert code == 2
    said = err.split("error: ", 1)[1]
    assert said.startswith(f"argument {flag}: ") or said.startswith(message), said
    assert message.format(ckpt=ckpt) in said
    assert snapshot(tmp_path) == before


def test_export_env_equal_to_the_recorded_one_is_accepted_and_a_contradiction_refused(
    ckpt, tmp_path
):
    from rllib_experiments.run.export import ExportError

    quiet_export(ckpt, tmp_path / "same", env={"setup": "A", "num_users": 3, "num_channels": 2})
    with pytest.raises(ExportError) as err:
        quiet_export(
            ckpt, tmp_path / "relabelled", env={"setup": "B", "num_users": 3, "num_channels": 2}
        )
    assert err.value.argument == "env" and "pu_prob: given (0.2," in str(err.value)
    assert not (tmp_path / "relabelled").exists()
