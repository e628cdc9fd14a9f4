"""Data-parallel learners (num_learners = 2) with pruning, and bfloat16 autocast.

* Two learner replicas hold the same weights, the same pruning masks and the same
  reward-normalisation statistics after every iteration, and every env runner acts with
  those weights.
* A 2-learner run learns the small system of test_iagc as a 1-learner run does.
* Under bfloat16 autocast the actors' gradients agree with float32's: relative error of
  each actor's gradient (L2) below 5e-2, cosine above 0.999 (measured here: about 2e-2
  and 0.9998 for one 100-slot episode, 8e-3 and 0.99998 for eight).
"""

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ray")

from ray.rllib.core.columns import Columns  # noqa: E402

from rllib_experiments.algorithm import build_algo_config  # noqa: E402
from rllib_experiments.evaluation import algo_actors, evaluate  # noqa: E402
from rllib_experiments.iagc.modules import CRITIC_ID, IAGCActor  # noqa: E402
from rllib_experiments.settings import SettingsError, load_preset  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]


@pytest.fixture(scope="module")
def ray_local():
    """Ray with 3 logical CPUs: 2 learner replicas and 1 remote env runner (a short check)."""
    import os

    import ray

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    started = not ray.is_initialized()
    if started:
        from pathlib import Path

        path = os.pathsep.join(
            [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
        )
        ray.init(
            num_cpus=3,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}},
        )
    yield
    if started:
        ray.shutdown()


USERS = ("user_0", "user_1", "user_2")


def test_two_learners_share_weights_masks_and_reach_every_env_runner():
    settings = load_preset(
        "tiny",
        num_learners=2,
        num_env_runners=1,
        iterations=4,
        schedule="linear",
        final_sparsity=0.8,
        prune_mode="hold",
    )
    modules = (*USERS, CRITIC_ID)

    def replica_state(learner):  # nested, so that Ray ships it by value to the learners
        return {
            "masks": {
                mid: {name: m.clone() for name, m in p.masks.items()}
                for mid, p in learner._pruners.items()
            },
            "weights": {
                mid: {
                    k: v.detach().clone()
                    for k, v in learner.module[mid].unwrapped().state_dict().items()
                }
                for mid in modules
            },
        }

    algo = build_algo_config(settings).build_algo()
    try:
        for _ in range(3):
            result = algo.train()
            states = [r.get() for r in algo.learner_group.foreach_learner(replica_state)]
            assert len(states) == 2
            a, b = states
            assert set(a["masks"]) == set(USERS)
            for mid in a["masks"]:
                assert a["masks"][mid], mid
                for name in a["masks"][mid]:
                    assert torch.equal(a["masks"][mid][name], b["masks"][mid][name]), (mid, name)
            for mid in a["weights"]:
                for k in a["weights"][mid]:  # weights and the critic's return statistics
                    assert torch.equal(a["weights"][mid][k], b["weights"][mid][k]), (mid, k)
            users = USERS
            runners = algo.env_runner_group.foreach_env_runner(
                lambda er: (
                    {
                        mid: {k: v.detach().clone() for k, v in er.module[mid].state_dict().items()}
                        for mid in users
                    }
                    if er.module is not None
                    else None
                ),
                local_env_runner=True,
            )
            runners = [w for w in runners if w is not None]
            assert len(runners) == 2  # the local one (evaluation copy) and the remote sampler
            for weights in runners:
                for mid in USERS:
                    for k, v in weights[mid].items():
                        assert torch.equal(v, a["weights"][mid][k]), (mid, k)
        for mid in USERS:
            assert result["learners"][mid]["sparsity"] == pytest.approx(0.8 * 2 / 4, abs=0.02)
        count = a["weights"][CRITIC_ID]["return_stats"][0].item()
        assert count == 3 * 4 * 3 * 20  # both replicas merged all 4 episodes of each iteration
    finally:
        algo.stop()


@pytest.mark.parametrize("num_learners", [0, 2])
def test_two_learners_learn_like_one(num_learners):
    """The small system of test_iagc (random policy about 58, an assignment 103)."""
    settings = load_preset(
        "tiny",
        env={"num_users": 2, "num_channels": 3, "horizon": 10},
        episodes_per_iteration=8,
        actor_lr=0.01,
        critic_lr=0.01,
        num_learners=num_learners,
    )
    algo = build_algo_config(settings).build_algo()
    try:
        for _ in range(30):
            algo.train()
        after = evaluate(
            algo_actors(algo), settings.env_kwargs(), episodes=50, modes=["stochastic"]
        )["stochastic"]["mean_reward"]
        assert after > 85, after
    finally:
        algo.stop()


def test_num_learners_must_divide_the_episodes():
    with pytest.raises(SettingsError) as err:
        load_preset("tiny", num_learners=3)
    assert err.value.field == "num_learners"


def _gradients(actors, obs, weights, dtype):
    grads = []
    for actor in actors:
        actor.autocast_dtype = dtype
        actor.zero_grad()
        logits = actor._forward_train({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
        assert logits.dtype == torch.float32
        (torch.log_softmax(logits, -1) * weights).mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in actor.parameters()]))
    return torch.stack(grads)


@pytest.mark.parametrize("episodes", [1, 8])
def test_bf16_autocast_gradients_agree_with_float32(episodes):
    torch.manual_seed(0)
    space = gym.spaces.Box(0.0, 1.0, (12,), np.float32)
    actors = [
        IAGCActor(observation_space=space, action_space=gym.spaces.Discrete(6), model_config={})
        for _ in range(4)
    ]
    obs, weights = torch.rand(episodes, 100, 12), torch.randn(episodes, 100, 6)
    g32 = _gradients(actors, obs, weights, None)
    g16 = _gradients(actors, obs, weights, torch.bfloat16)
    rel = (g16 - g32).norm(dim=1) / g32.norm(dim=1)
    assert (rel < 5e-2).all(), rel
    assert (torch.nn.functional.cosine_similarity(g16, g32, dim=1) > 0.999).all()


def test_bf16_setting_reaches_the_learners_actors_only():
    algo = build_algo_config(load_preset("tiny", autocast_bf16=True)).build_algo()
    try:
        algo.train()
        learner = algo.learner_group._learner
        assert all(
            learner.module[mid].unwrapped().autocast_dtype == torch.bfloat16 for mid in USERS
        )
        assert all(algo.env_runner.module[mid].autocast_dtype is None for mid in USERS)
    finally:
        algo.stop()
