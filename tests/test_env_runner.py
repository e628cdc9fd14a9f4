"""The batched env runner's episodes are RLlib's own, field by field.

``BatchedDSAEnvRunner._to_episode`` builds each ``MultiAgentEpisode`` from the rollout's
arrays per agent; the reference is ``constructor_episode``: RLlib's public constructor fed
the same data as per-slot agent dicts (what the runner did before), then ``to_numpy()``.
"""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("ray.rllib")
pytestmark = pytest.mark.rllib

from ray.rllib.env.utils.infinite_lookback_buffer import InfiniteLookbackBuffer  # noqa: E402

from rllib_experiments.dsa.env_runner import BatchedDSAEnvRunner, constructor_episode  # noqa: E402
from rllib_experiments.iagc.modules import STATES, policy_mapping_fn  # noqa: E402

#: Fields that differ between any two episodes: fresh ids, wall-clock times.
VOLATILE = {"id_", "multi_agent_episode_id", "_start_time", "_last_step_time"}


def assert_same(a, b, path="episode"):
    """Recursive equality of two get_state() trees: values, dtypes, container types."""
    if isinstance(a, InfiniteLookbackBuffer) or isinstance(b, InfiniteLookbackBuffer):
        assert type(a) is type(b), path
        assert (a.lookback, a.finalized) == (b.lookback, b.finalized), path
        assert a.space == b.space, path
        assert_same(a.data, b.data, path + ".data")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, sorted(a), sorted(b))
        for k in a:
            if k not in VOLATILE:
                assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), path
        assert a.dtype == b.dtype and a.shape == b.shape, (path, a.dtype, b.dtype, a.shape, b.shape)
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def fake_rollout(N, T, d, B=2, state_dim=None, seed=0):
    rng = np.random.default_rng(seed)
    data = {
        "obs": rng.random((B, T + 1, N, d), dtype=np.float32),
        "actions": rng.integers(0, 6, (B, T, N)),
        "rewards": rng.random((B, T, N)),
        "logp": -rng.random((B, T, N), dtype=np.float32),
    }
    if state_dim:
        data["states"] = rng.random((B, T, state_dim), dtype=np.float32)
    return data


def runner(N, with_states):
    r = BatchedDSAEnvRunner.__new__(BatchedDSAEnvRunner)  # only what _to_episode reads
    r._agent_ids = [f"user_{i}" for i in range(N)]
    r._with_states = with_states
    r.config = SimpleNamespace(policy_mapping_fn=policy_mapping_fn)
    return r


@pytest.mark.parametrize("N,T,with_states", [(3, 7, False), (10, 100, False), (4, 5, True)])
def test_episode_equals_rllib_constructor(N, T, with_states):
    data = fake_rollout(N, T, d=9, state_dim=11 if with_states else None)
    r = runner(N, with_states)
    for b in range(2):
        fast = r._to_episode(data, b)
        ref = constructor_episode(data, b, r._agent_ids, policy_mapping_fn, with_states)
        assert_same(fast.get_state(), ref.get_state())
        # What the learner and the metrics read from it.
        assert fast.env_steps() == ref.env_steps() == T
        assert fast.agent_steps() == ref.agent_steps() == N * T
        assert fast.get_return() == pytest.approx(ref.get_return())
        assert fast.is_done and fast.is_numpy
        assert fast.module_for("user_1") == ref.module_for("user_1")


def test_states_are_shared_across_agents():
    """Every agent's info at a slot is the same array (shipping an episode pickles it once)."""
    data = fake_rollout(4, 5, d=3, state_dim=6)
    ep = runner(4, True)._to_episode(data, 0)
    a, b = (ep.agent_episodes[f"user_{i}"].get_infos(2)[STATES] for i in (0, 3))
    assert a is b
    np.testing.assert_array_equal(a, data["states"][0, 2])
