"""What the frameworks study runs, without BenchMARL or torch: the arms' names and the budgets
(the command line checks its flags against them before the heavy imports)."""

from __future__ import annotations

from typing import Any, Dict

from rllib_experiments.studies.common.budgets import PAPER

#: The arms: a BenchMARL algorithm and its actors' model (benchmarl_arms.ARMS).
ARM_NAMES = ("mappo_mlp", "mappo_gru", "ippo_mlp", "ippo_gru")

#: The study's budget: Table I's per-trial episodes and evaluation, 5 seeds, setup A.
FULL: Dict[str, Any] = dict(
    name="full",
    env={"setup": "A"},
    episodes=PAPER["iterations"],  # the paper's iterations are one episode each
    episodes_per_batch=10,
    eval_episodes=PAPER["eval_episodes"],
    seeds=[0, 1, 2, 3, 4],
)
#: A pipeline check: 3 users, 2 channels, 20 slots; 4 episodes; 1 seed.
SMOKE: Dict[str, Any] = dict(
    name="smoke",
    env={"setup": "A", "num_users": 3, "num_channels": 2, "horizon": 20},
    episodes=4,
    episodes_per_batch=2,
    eval_episodes=4,
    seeds=[0],
)
BUDGETS = {"full": FULL, "smoke": SMOKE}
