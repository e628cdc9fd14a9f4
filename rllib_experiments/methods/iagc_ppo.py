"""IAGC-PPO rows: dense, 95 % with each schedule, and our improved configuration.

Settings functions take the budget's base :class:`Settings` (paper preset of the
setup, budget iterations, seed) and return the row's settings:

* dense: the paper's IAGC-PPO (critic "paper", 1 episode per iteration, lr 1e-4/5e-5).
* pruned(schedule): p_final = 0.95, pruning every i_prune = 5 iterations (regrow
  mode, Remark 2); i_start = 0 except ``start_fraction`` (polynomial i_start = 200
  of 1000 -> 0.2 * iterations). The harmonic period P of eq. (13) (200 of 1000)
  scales the same way: P = 0.2 * iterations, so Fig. 1's shape is kept at any budget.
* iagc_a2c: one pass per batch (num_epochs = 1), see :mod:`.iagc_a2c`.
* ours: see :data:`OURS` (and :func:`ours_iterations`).
* ablations of ours: :func:`ours_ablation` (ours with one change taken back).
"""

from __future__ import annotations

from rllib_experiments.algorithm import build_algo_config

#: Our improved configuration (beyond the paper), chosen by short probes
#: documented in docs/results.md. Every other setting is the paper's.
OURS = dict(
    critic_mode="centralized",
    actor_lr=1e-3,
    critic_lr=1e-3,
    entropy_coeff=0.01,
    episodes_per_iteration=8,
    num_epochs=4,
)

#: Ours trains this fraction of the budget's iterations, each of
#: ``OURS["episodes_per_iteration"]`` = 8 episodes: with the paper's 1000 iterations,
#: 300 iterations = 2400 episodes (2.4x the episodes of a paper row, 0.3x its updates).
#: 150 iterations (1200 episodes) left 2 of 4 probe seeds short of a collision-free
#: assignment; 300 settled them (docs/results.md).
OURS_ITERATION_FRACTION = 0.3


def ours_iterations(budget_iterations: int) -> int:
    """Training iterations of the ours row under a budget of ``budget_iterations``."""
    return max(2, int(round(OURS_ITERATION_FRACTION * budget_iterations)))


#: Fraction of the iterations used for the harmonic period P (paper: 200 of 1000).
PERIOD_FRACTION = 0.2


def _period(base, schedule: str) -> dict:
    """The harmonic period P = PERIOD_FRACTION * iterations (Fig. 1's shape at any budget)."""
    if schedule == "harmonic":
        return {
            "schedule_params": {
                **base.schedule_params,
                "period": max(1.0, PERIOD_FRACTION * base.iterations),
            }
        }
    return {}


def dense_settings(base):
    """Dense IAGC-PPO (the paper's settings)."""
    return base.replace(schedule="none")


def iagc_a2c_settings(base):
    """IAGC with the advantage actor-critic loss: one pass over each batch."""
    return base.replace(schedule="none", num_epochs=1, minibatch_episodes=None)


def pruned_settings(schedule: str, start_fraction: float = 0.0):
    """Settings function of IAGC-PPO pruned to 95 % with ``schedule``."""

    def make(base):
        return base.replace(
            schedule=schedule,
            final_sparsity=0.95,
            prune_start=int(round(start_fraction * base.iterations)),
            **_period(base, schedule),
        )

    make.__name__ = f"pruned_{schedule}_{start_fraction}"
    return make


def ours_settings(base):
    """IAGC-PPO 95 % harmonic with :data:`OURS`, :func:`ours_iterations` of the budget's."""
    run = base.replace(iterations=ours_iterations(base.iterations))
    return run.replace(schedule="harmonic", final_sparsity=0.95, **OURS, **_period(run, "harmonic"))


#: The ablations of ours: each takes one of its changes back to the paper's value
#: (same iterations, seed and evaluation as ours). "dense" removes the pruning instead.
ABLATIONS = {
    "paper_critic": dict(critic_mode="paper"),
    "paper_lr": dict(actor_lr=1e-4, critic_lr=5e-5),
    "no_entropy": dict(entropy_coeff=0.0),
    "one_episode": dict(episodes_per_iteration=1),
    "dense": dict(schedule="none", schedule_params={}),
}


def ours_ablation(change: str):
    """Settings function of ours with :data:`ABLATIONS` ``[change]`` applied."""
    if change not in ABLATIONS:
        raise ValueError(f"unknown ablation {change!r}; allowed: {sorted(ABLATIONS)}")

    def make(base):
        return ours_settings(base).replace(**ABLATIONS[change])

    make.__name__ = f"ours_without_{change}"
    return make


def build_config(settings):
    """IAGC-PPO config of the settings (:func:`rllib_experiments.algorithm.build_algo_config`)."""
    return build_algo_config(settings)
