"""The one evaluator (rllib_experiments.evaluation): episodes, modes, statistics, errors."""

import math

import pytest

pytest.importorskip("ray")
pytest.importorskip("torch")

from rllib_experiments.algorithm import build_algo_config  # noqa: E402
from rllib_experiments.evaluation import algo_actors, evaluate, evaluate_baseline  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]


def _algo(**overrides):
    return build_algo_config(load_preset("tiny", **overrides)).build_algo()


def test_evaluate_is_reproducible_and_in_the_papers_unit():
    from dsa_pettingzoo.evaluation import episode_seeds

    algo = _algo()
    try:
        env = dict(algo.config.env_config)
        actors = algo_actors(algo)
        a = evaluate(actors, env, episodes=6, eval_seed=3)
        assert evaluate(algo_actors(algo), env, episodes=6, eval_seed=3) == a
        # Greedy actors are deterministic: the same episodes score the same whatever the
        # simulation chunk size.
        g = evaluate(actors, env, episodes=6, eval_seed=3, modes=["greedy"], chunk_size=4)
        assert g["greedy"]["mean_reward"] == pytest.approx(a["greedy"]["mean_reward"])
        # The episodes are the baselines' episodes of the same run seed: replaying them one by
        # one (chunk 1) gives the same greedy rewards.
        assert len(episode_seeds(3, 6)) == 6
        one = evaluate(actors, env, episodes=6, eval_seed=3, modes=["greedy"], chunk_size=1)
        assert one["greedy"]["mean_reward"] == pytest.approx(a["greedy"]["mean_reward"])
        # Upper bound: at most K=2 successful users per slot, rate <= log2(1 + 40) each.
        for mode in ("stochastic", "greedy"):
            assert 0 < a[mode]["mean_reward"] <= 2 * 20 * math.log2(41) + 1e-9
            assert a[mode]["std_reward"] >= 0 and a[mode]["episodes"] == 6
        with pytest.raises(ValueError, match="episodes"):
            evaluate(actors, env, episodes=0)
        with pytest.raises(ValueError, match="modes"):
            evaluate(actors, env, episodes=2, modes=["sampled"])
    finally:
        algo.stop()


def test_baselines_face_the_same_episodes():
    """evaluate_baseline is evaluate_policy on episode_seeds(eval_seed): the ALOHA reference of a run."""
    from dsa_pettingzoo.baselines import make_policy
    from dsa_pettingzoo.evaluation import evaluate_policy

    env = {"num_users": 3, "num_channels": 2, "horizon": 20}
    ours = evaluate_baseline("aloha", env, episodes=8, eval_seed=7)
    direct = evaluate_policy(make_policy("aloha"), episodes=8, seed=7, **env).summary()
    assert ours == direct
    assert evaluate_baseline("aloha", env, episodes=8) != ours  # another run seed, other episodes
    with pytest.raises(ValueError, match="episodes"):
        evaluate_baseline("aloha", env, episodes=0)
