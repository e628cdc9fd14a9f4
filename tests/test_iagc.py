"""IAGC-PPO on RLlib (rllib_experiments.iagc, .dsa): modules, learner, connector, env runner.

Tiny configurations only (N <= 3 users, short horizons, small networks); the whole file
runs in well under a minute on 2 cores.
"""

import math

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray")

import dsa_pettingzoo  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.evaluation.postprocessing import Postprocessing  # noqa: E402
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch  # noqa: E402

from rllib_experiments.algorithm import build_algo_config  # noqa: E402
from rllib_experiments.evaluation import algo_actors, evaluate  # noqa: E402
from rllib_experiments.iagc.connectors import discounted_returns, gae  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402
from rllib_experiments.iagc.learner import clip_objective  # noqa: E402
from rllib_experiments.iagc.modules import CRITIC_ID, IAGCActor, SharedCritic, actor_ids  # noqa: E402
from rllib_experiments.iagc.stacked import StackedActors  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]


def _algo(**overrides):
    return build_algo_config(load_preset("tiny", **overrides)).build_algo()


def _params(module):
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


# ----------------------------------------------------------------- pure pieces
def test_gae_and_returns_match_hand_computation():
    # rewards (1, 1), values (0.5, 0.2), gamma 0.9, lambda 0.8, episode ends after slot 2:
    # delta_2 = 1 - 0.2 = 0.8, A_2 = 0.8; delta_1 = 1 + 0.9*0.2 - 0.5 = 0.68,
    # A_1 = 0.68 + 0.9*0.8*0.8 = 1.256. Returns: G_2 = 1, G_1 = 1 + 0.9 = 1.9.
    r = np.array([[1.0, 1.0]])
    v = np.array([[0.5, 0.2]])
    np.testing.assert_allclose(gae(r, v, 0.9, 0.8), [[1.256, 0.8]])
    np.testing.assert_allclose(discounted_returns(r, 0.9), [[1.9, 1.0]])
    # lambda = 1: A + V is the discounted reward-to-go of eq. (9).
    np.testing.assert_allclose(gae(r, v, 0.9, 1.0) + v, discounted_returns(r, 0.9))


def test_clip_objective_is_eqs_6_7():
    eps = 0.2
    ratio = torch.tensor([1.5, 0.5, 1.5, 0.5, 1.0])
    adv = torch.tensor([2.0, 2.0, -2.0, -2.0, 0.0])
    # min(rho A, (1+eps)A) for A >= 0, min(rho A, (1-eps)A) for A < 0.
    expected = torch.tensor([min(3.0, 2.4), min(1.0, 2.4), min(-3.0, -1.6), min(-1.0, -1.6), 0.0])
    torch.testing.assert_close(clip_objective(ratio, adv, eps), expected)


def test_return_statistics_merge_like_one_pass():
    critic = SharedCritic(
        observation_space=_obs_space(4),
        action_space=_act_space(3),
        model_config=dict(num_users=2, obs_dim=4, hidden_sizes=[4], lstm_size=4),
    )
    assert critic.return_std() == 1.0  # nothing seen yet
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 2, size=50), rng.normal(-1, 5, size=(7, 3))
    critic.update_return_stats(a)
    critic.update_return_stats(b)
    assert critic.return_std() == pytest.approx(
        np.concatenate([a, b.ravel()]).std(ddof=1), rel=1e-9
    )


def test_actor_ids_follow_the_agents_order_not_their_names():
    from rllib_experiments.iagc.config import module_specs

    obs, act = gym.spaces.Box(0, 1, (5,), np.float32), gym.spaces.Discrete(3)
    agents = ["user_0", "user_1", "user_2", "user_10", "zeta", "alpha"]
    spec = module_specs(
        agents, obs, act, hidden_sizes=(8,), lstm_size=8, lstm_layers=1, critic_mode="paper"
    )
    assert actor_ids(spec) == agents


def _obs_space(d):
    import gymnasium as gym

    return gym.spaces.Box(0.0, 1.0, (d,), np.float32)


def _act_space(n):
    import gymnasium as gym

    return gym.spaces.Discrete(n)


@pytest.mark.parametrize(
    "net",
    [dict(hidden_sizes=[16, 16], lstm_size=8), dict(hidden_sizes=[], lstm_size=8, lstm_layers=2)],
)
def test_stacked_actors_equal_each_actor(net):
    torch.manual_seed(0)
    actors = [
        IAGCActor(observation_space=_obs_space(6), action_space=_act_space(4), model_config=net)
        for _ in range(3)
    ]
    stacked = StackedActors(actors)
    x = torch.rand(5, 3, 4, 6)  # [T, N, B, d]
    state, states = None, [None] * 3
    for t in range(5):
        logits, state = stacked.step(x[t], state)
        for n, actor in enumerate(actors):
            own, states[n] = actor.step(x[t, n], states[n])
            torch.testing.assert_close(logits[n], own, atol=1e-5, rtol=1e-5)


def test_actor_network_reading_of_iv_a():
    actor = IAGCActor(observation_space=_obs_space(10), action_space=_act_space(6), model_config={})
    linears = [m for m in actor.trunk.dense if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 128), (128, 128)]
    assert sum(isinstance(m, torch.nn.ReLU) for m in actor.trunk.dense) == 2
    lstm = actor.trunk.lstm
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers) == (128, 128, 1)
    assert (actor.logits.in_features, actor.logits.out_features) == (128, 6)


@pytest.mark.parametrize("mode", ["paper", "centralized"])
def test_critic_modes_shapes_and_inputs(mode):
    torch.manual_seed(0)
    critic = SharedCritic(
        observation_space=_obs_space(5),
        action_space=_act_space(3),
        model_config=dict(critic_mode=mode, num_users=3, obs_dim=5, hidden_sizes=[8], lstm_size=8),
    )
    obs = torch.rand(2, 3, 7, 5)  # [B, N, T, d]
    values = critic.compute_values(obs)
    assert values.shape == (2, 3, 7)
    changed = obs.clone()
    changed[:, 1] += 1.0  # change user 1's observations only
    delta = (critic.compute_values(changed) - values).abs().amax(dim=(0, 2))
    if mode == "paper":  # eq. 9: V^n reads only user n's own history
        assert delta[0] == 0 and delta[2] == 0 and delta[1] > 0
    else:  # the global view: every user's value reads every user's observations
        assert (delta > 0).all()
    assert critic.trunk.dense[0].in_features == (5 if mode == "paper" else 15)


# ------------------------------------------------------------- RLlib wiring
def test_one_critic_only_on_the_learner_and_independent_actors():
    algo = _algo()
    try:
        learner_module = algo.learner_group._learner.module
        critics = [
            mid for mid, m in learner_module.items() if isinstance(m.unwrapped(), SharedCritic)
        ]
        assert critics == [CRITIC_ID]
        runner_module = algo.env_runner.module
        assert CRITIC_ID not in runner_module.keys()
        assert not any(isinstance(m.unwrapped(), SharedCritic) for m in runner_module.values())
        assert actor_ids(learner_module) == ["user_0", "user_1", "user_2"]
        assert sorted(runner_module.keys()) == ["user_0", "user_1", "user_2"]
        # Independent actors: separate parameter tensors with different values.
        actors = [learner_module[m] for m in actor_ids(learner_module)]
        flat = [_params(m) for m in actors]
        ptrs = [{p.data_ptr() for p in m.parameters()} for m in actors]
        assert not (ptrs[0] & ptrs[1]) and not (ptrs[1] & ptrs[2])
        assert not torch.equal(flat[0], flat[1]) and not torch.equal(flat[1], flat[2])
        # One Adam per module, critic at its own learning rate.
        learner = algo.learner_group._learner
        lrs = {name: opt.param_groups[0]["lr"] for name, opt in learner._named_optimizers.items()}
        assert lrs[f"{CRITIC_ID}_default_optimizer"] == pytest.approx(1e-3)  # tiny preset
        algo_paper = load_preset("paper_A")
        assert (algo_paper.actor_lr, algo_paper.critic_lr) == (1e-4, 5e-5)
    finally:
        algo.stop()


def test_actor_changes_only_from_its_own_users_data():
    """A batch where user_1's advantages are all zero leaves user_1's actor unchanged."""
    algo = _algo()
    try:
        learner = algo.learner_group._learner
        episodes = algo.env_runner.sample()
        batch = learner._learner_connector(
            rl_module=learner.module, batch={}, episodes=episodes, shared_data={}, metrics=None
        )
        batch["user_1"][Postprocessing.ADVANTAGES] = torch.zeros_like(
            batch["user_1"][Postprocessing.ADVANTAGES]
        )
        before = {mid: _params(m) for mid, m in learner.module.items()}
        ma_batch = MultiAgentBatch(
            {mid: SampleBatch(b) for mid, b in batch.items()},
            env_steps=sum(len(e) for e in episodes),
        )
        learner.update(batch=ma_batch, timesteps={"num_env_steps_sampled_lifetime": 0})
        after = {mid: _params(m) for mid, m in learner.module.items()}
        assert torch.equal(before["user_1"], after["user_1"])
        for mid in ("user_0", "user_2", CRITIC_ID):
            assert not torch.equal(before[mid], after[mid]), mid
    finally:
        algo.stop()


def test_learner_reproduces_the_samplers_log_probs():
    """Whole episodes from zero states: the learner's log-probs equal the env runner's."""
    algo = _algo()
    try:
        learner = algo.learner_group._learner
        episodes = algo.env_runner.sample()
        batch = learner._learner_connector(
            rl_module=learner.module, batch={}, episodes=episodes, shared_data={}, metrics=None
        )
        for mid in ("user_0", "user_1", "user_2"):
            out = learner.module[mid].forward_train(batch[mid])
            logp = torch.log_softmax(out[Columns.ACTION_DIST_INPUTS], -1).gather(
                -1, batch[mid][Columns.ACTIONS][..., None]
            )[..., 0]
            torch.testing.assert_close(logp, batch[mid][Columns.ACTION_LOGP], atol=1e-5, rtol=0)
        assert batch[CRITIC_ID][Columns.OBS].shape == (4, 3, 20, 7)  # [B, N, T, d]: K=2 -> d=3+4
    finally:
        algo.stop()


def test_fast_env_runner_episodes_replay_in_the_parallel_env():
    """The batched runner's episodes are real DSA episodes: replaying their actions in the
    PettingZoo ParallelEnv with the same seed gives the same observations and rewards."""
    algo = _algo()
    try:
        runner = algo.env_runner
        episodes = runner.sample()
        seeds = runner.last_round_seeds
        assert seeds is not None and len(seeds) == len(episodes) == 4
        env_kwargs = dict(algo.config.env_config)
        for episode, seed in zip(episodes[:2], seeds[:2]):
            env = dsa_pettingzoo.parallel_env(**env_kwargs)
            obs, _ = env.reset(seed=seed)
            agents = list(env.possible_agents)
            sa = {aid: episode.agent_episodes[aid] for aid in agents}
            actions = {aid: sa[aid].get_actions() for aid in agents}
            rewards = {aid: sa[aid].get_rewards() for aid in agents}
            for t in range(len(episode)):
                for aid in agents:
                    np.testing.assert_array_equal(obs[aid], sa[aid].get_observations(t))
                obs, rew, term, trunc, _ = env.step({aid: int(actions[aid][t]) for aid in agents})
                for aid in agents:
                    assert rew[aid] == pytest.approx(rewards[aid][t])
            assert all(term.values()) or all(trunc.values())
    finally:
        algo.stop()


@pytest.mark.parametrize(
    "critic_mode, fast_sampling", [("paper", True), ("centralized", True), ("paper", False)]
)
def test_tiny_training_runs_end_to_end(critic_mode, fast_sampling):
    """Both critic modes; fast_sampling=False uses RLlib's standard MultiAgentEnvRunner."""
    algo = _algo(critic_mode=critic_mode, fast_sampling=fast_sampling)
    try:
        learner = algo.learner_group._learner
        runner_class = type(algo.env_runner).__name__
        assert runner_class == ("BatchedDSAEnvRunner" if fast_sampling else "MultiAgentEnvRunner")
        before = {mid: _params(m) for mid, m in learner.module.items()}
        for _ in range(3):
            result = algo.train()
        for mid in ("user_0", "user_1", "user_2", CRITIC_ID):
            assert math.isfinite(result["learners"][mid]["total_loss"]), mid
            assert not torch.equal(before[mid], _params(learner.module[mid])), mid
        assert result["env_runners"]["num_env_steps_sampled"] == 4 * 20
        assert learner.module[CRITIC_ID].return_stats[0].item() == 3 * 4 * 3 * 20  # returns seen
    finally:
        algo.stop()


def test_training_raises_the_reward_on_a_small_system():
    """N=2 users, K=3 channels, T=10. A uniform random policy succeeds in a slot with
    probability 3/4 (transmit) * 3/4 (the other user not on that channel) = 9/16, so it
    scores about 2 * 10 * 9/16 * E[log2(1+beta)] = 58 (E[log2(1+beta)] = 5.17 for
    beta ~ U[30, 40]); two users on different channels score 2 * 10 * 5.17 = 103."""
    algo = _algo(
        env={"num_users": 2, "num_channels": 3, "horizon": 10},
        episodes_per_iteration=8,
        actor_lr=0.01,
        critic_lr=0.01,
    )
    try:
        env = dict(algo.config.env_config)
        before = evaluate(algo_actors(algo), env, episodes=50, modes=["stochastic"])
        for _ in range(30):
            algo.train()
        after = evaluate(algo_actors(algo), env, episodes=50, modes=["stochastic"])
        before, after = before["stochastic"]["mean_reward"], after["stochastic"]["mean_reward"]
        assert 45 < before < 70
        assert after > 85, (before, after)
    finally:
        algo.stop()


def test_pruned_training_env_runner_acts_with_pruned_actors():
    algo = _algo(schedule="linear", final_sparsity=0.9, iterations=3, prune_mode="hold")
    try:
        for _ in range(3):
            result = algo.train()
        learner_module = algo.learner_group._learner.module
        for mid in ("user_0", "user_1", "user_2"):
            assert result["learners"][mid]["sparsity"] == pytest.approx(0.9, abs=0.01)
            for name, p in algo.env_runner.module[mid].named_parameters():
                mine = dict(learner_module[mid].named_parameters())[name]
                assert torch.equal(p.detach(), mine.detach()), (mid, name)
            weights = [p for n, p in algo.env_runner.module[mid].named_parameters() if p.dim() > 1]
            zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
            assert zeros == pytest.approx(0.9, abs=0.01)
        assert (_params(learner_module[CRITIC_ID]) != 0).all()  # critic never pruned
    finally:
        algo.stop()


def test_critic_not_built_on_a_remote_env_runner():
    algo = _algo(num_env_runners=1)
    try:
        keys = algo.env_runner_group.foreach_env_runner(
            lambda er: sorted(er.module.keys()), local_env_runner=False
        )
        assert keys == [["user_0", "user_1", "user_2"]]
        algo.train()
    finally:
        algo.stop()


# ----------------------------------------------------------- robustness
def test_checkpoint_restores_actors_critic_statistics_and_pruning(tmp_path):
    from ray.rllib.algorithms.algorithm import Algorithm

    algo = _algo(schedule="harmonic", prune_mode="regrow", iterations=10)
    try:
        for _ in range(3):
            algo.train()
        algo.save_to_path(str(tmp_path))
        saved = {mid: _params(m) for mid, m in algo.learner_group._learner.module.items()}
        stats = algo.learner_group._learner.module[CRITIC_ID].return_stats.clone()
    finally:
        algo.stop()
    restored = Algorithm.from_checkpoint(str(tmp_path))
    try:
        module = restored.learner_group._learner.module
        for mid, params in saved.items():
            assert torch.equal(params, _params(module[mid])), mid
        # Exact: RLlib rounds float64 state to float32; the critic keeps its statistics float64.
        assert torch.equal(stats, module[CRITIC_ID].return_stats)
        assert restored.iteration == 3
        result = restored.train()
        assert result["learners"]["__all_modules__"]["pruning_iteration"] == 3
    finally:
        restored.stop()


def test_non_finite_gradients_skip_the_step():
    algo = _algo()
    try:
        learner = algo.learner_group._learner
        before = {mid: _params(m) for mid, m in learner.module.items()}
        grads = {ref: torch.ones_like(p) for ref, p in learner._params.items()}
        grads[next(iter(grads))] = torch.full_like(grads[next(iter(grads))], float("nan"))
        learner.apply_gradients(grads)
        for mid, m in learner.module.items():
            assert torch.equal(before[mid], _params(m)), mid
        learner.apply_gradients({ref: torch.ones_like(p) for ref, p in learner._params.items()})
        assert not torch.equal(before["user_0"], _params(learner.module["user_0"]))
    finally:
        algo.stop()


def test_benchmark_flags_fail_fast(capsys):
    from rllib_experiments.cli import benchmark

    for argv in (
        ["--iterations", "0"],
        ["--episodes-per-iteration", "0"],
        ["--warmup", "-1"],
        ["--only", "both"],
    ):
        with pytest.raises(SystemExit) as exc:
            benchmark.main(argv)
        assert exc.value.code == 2
    assert "--episodes-per-iteration" in capsys.readouterr().err


@pytest.mark.parametrize("fast_sampling", [True, False])
def test_state_critic_reads_the_environments_state(fast_sampling):
    """critic_mode 'state': the batched runner and RLlib's own runner both deliver state()."""
    algo = _algo(critic_mode="state", fast_sampling=fast_sampling, episodes_per_iteration=1)
    try:
        critic = algo.learner_group._learner.module[CRITIC_ID].unwrapped()
        state_dim = dsa_pettingzoo.parallel_env(
            num_users=3, num_channels=2, horizon=20
        ).state_space.shape[0]
        assert critic.trunk.dense[0].in_features == state_dim
        result = algo.train()
        assert np.isfinite(result["learners"][CRITIC_ID]["vf_loss"])
    finally:
        algo.stop()


def test_batched_runner_shares_one_state_per_slot_between_the_agents():
    """Every agent's info of a slot holds the same state array, so a shipped (pickled) episode
    carries the O(N K) state once per slot, not once per agent (N times, O(N^2 K))."""
    from rllib_experiments.iagc.modules import STATES

    algo = _algo(critic_mode="state", episodes_per_iteration=1)
    try:
        episode = algo.env_runner.sample()[0]
        agents = list(episode.agent_episodes)
        per_agent = [episode.agent_episodes[a].get_infos(slice(None)) for a in agents]
        for slot in zip(*per_agent):
            assert all(info[STATES] is slot[0][STATES] for info in slot)
    finally:
        algo.stop()
