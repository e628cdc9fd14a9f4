"""The IAGC library (rllib_experiments.iagc) on a PettingZoo environment that is not ours.

MPE2's simple_spread (cooperative navigation: N agents, N landmarks, a shared reward,
``state()`` available) trained through RLlib's standard MultiAgentEnvRunner, in every
critic mode. A smoke run on a tiny budget: it checks the wiring (one critic on the
learner only, one actor per agent, the state reaching the critic), not learning.
"""

import numpy as np
import pytest

pytest.importorskip("ray")
torch = pytest.importorskip("torch")
simple_spread_v3 = pytest.importorskip("mpe2.simple_spread_v3")

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]

HORIZON = 10


def _creator(config):
    return simple_spread_v3.parallel_env(
        N=2, local_ratio=0.5, max_cycles=HORIZON, continuous_actions=False, **config
    )


@pytest.mark.parametrize("critic_mode", ["paper", "centralized", "state"])
def test_iagc_trains_on_simple_spread(critic_mode):
    from rllib_experiments.iagc import CRITIC_ID, SharedCritic, iagc_ppo_config
    from rllib_experiments.iagc.modules import actor_ids

    config = iagc_ppo_config(
        _creator,
        horizon=HORIZON,
        critic_mode=critic_mode,
        hidden_sizes=(16,),
        lstm_size=16,
        episodes_per_iteration=2,
        num_epochs=1,
        actor_lr=1e-3,
        critic_lr=1e-3,
        seed=0,
    )
    algo = config.build_algo()
    try:
        learner = algo.learner_group._learner.module
        assert actor_ids(learner) == ["agent_0", "agent_1"]
        assert CRITIC_ID not in algo.env_runner.module.keys()
        critic = learner[CRITIC_ID].unwrapped()
        assert isinstance(critic, SharedCritic) and critic.critic_mode == critic_mode
        in_size = {"paper": 12, "centralized": 24, "state": 24}[critic_mode]
        assert critic.trunk.dense[0].in_features == in_size
        before = [p.detach().clone() for p in critic.parameters()]
        result = None
        for _ in range(2):
            result = algo.train()
        runners = result["env_runners"]
        assert runners["num_env_steps_sampled_lifetime"] >= 2 * 2 * HORIZON
        assert np.isfinite(result["learners"][CRITIC_ID]["vf_loss"])
        for aid in ("agent_0", "agent_1"):
            assert np.isfinite(result["learners"][aid]["policy_loss"])
        # the critic was trained (its batch, states included, reached the learner)
        assert any(not torch.equal(a, b.detach()) for a, b in zip(before, critic.parameters()))
    finally:
        algo.stop()


def test_state_mode_needs_a_state():
    from rllib_experiments.iagc.envs import ParallelEnvWithState

    class NoState:
        possible_agents = agents = ["a"]

    with pytest.raises(ValueError, match="state"):
        ParallelEnvWithState(NoState())
