"""The speed-ups (fused Adam, loss metrics at the last step, the stacked actors' step) keep
the numbers: a tiny pruned run samples the rewards and reaches the sparsity that the code
before them did, and its losses agree to float rounding.

The reference values were recorded with the code before the speed-ups, torch 2.13.0 (CPU),
one thread; other torch builds may round differently, so the test runs on that one only.
"""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ray")

from rllib_experiments.algorithm import build_algo_config  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402

pytestmark = [
    pytest.mark.rllib,
    pytest.mark.usefixtures("ray_local"),
    pytest.mark.skipif(
        not torch.__version__.startswith("2.13."),
        reason="reference values recorded with torch 2.13",
    ),
]

#: (episode_return_mean, mean_sparsity, user_0 policy_loss) of iterations 0..3, old code.
BEFORE = [
    (254.49118381940787, 0.0, -0.0016971081495285034),
    (281.9096296719197, 0.20018115942028988, -0.00012419074482750148),
    (270.2702634559065, 0.027777777777777776, 0.0001904547243611887),
    (286.6341260641976, 0.7998188405797103, -0.00022363961033988744),
]


def test_same_seed_same_progress_as_before_the_speedups():
    settings = load_preset(
        "tiny", iterations=4, schedule="linear", final_sparsity=0.8, prune_interval=2
    )
    algo = build_algo_config(settings).build_algo()
    try:
        for reward, sparsity, loss in BEFORE:
            result = algo.train()
            assert result["env_runners"]["episode_return_mean"] == reward
            assert result["learners"]["__all_modules__"]["mean_sparsity"] == sparsity
            assert float(result["learners"]["user_0"]["policy_loss"]) == pytest.approx(
                loss, rel=1e-3, abs=1e-8
            )
    finally:
        algo.stop()
