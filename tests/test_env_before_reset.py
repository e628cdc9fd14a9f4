"""The batched simulator before reset and at absurd sizes: clear errors, never an
AttributeError or a MemoryError after allocating."""

from __future__ import annotations

import pytest

from dsa_pettingzoo.batched import BatchedDSA


@pytest.mark.parametrize(
    "use",
    [
        lambda b: b.state(),
        lambda b: b.episode_metrics(),
        lambda b: b.history,
        lambda b: b.pu_busy_next,
        lambda b: b.pu_occupancy,
        lambda b: b.step([[0, 0]] * 2),
    ],
)
def test_batched_views_before_reset_say_call_reset(use):
    b = BatchedDSA(2, num_users=2, num_channels=1)
    with pytest.raises(RuntimeError, match=r"call reset\(\) before"):
        use(b)


def test_batched_state_after_reset_works():
    b = BatchedDSA(2)
    b.reset(seed=0)
    assert b.state().shape == (2, b.state_dim)


def test_huge_num_envs_refused_before_allocating_naming_num_envs_and_memory():
    with pytest.raises(ValueError, match=r"num_envs=1000000000 would need about [\d.]+ GiB"):
        BatchedDSA(10**9)
