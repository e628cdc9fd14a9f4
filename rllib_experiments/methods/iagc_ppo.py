"""IAGC-PPO rows: dense, 95 % with each schedule, and our improved configuration.

Settings functions take the budget's base :class:`Settings` (paper preset of the
setup, budget iterations, seed) and return the row's settings:

* dense: the paper's IAGC-PPO (critic "paper", 1 episode per iteration, lr 1e-4/5e-5).
* pruned(schedule): p_final = 0.95, pruning every i_prune = 5 iterations (regrow
  mode, Remark 2); i_start = 0 except ``start_fraction`` (polynomial i_start = 200
  of 1000 -> 0.2 * iterations). The harmonic period P of eq. (13) (200 of 1000)
  scales the same way: P = 0.2 * iterations, so Fig. 1's shape is kept at any budget.
* iagc_a2c: one pass per batch (num_epochs = 1), see :mod:`.iagc_a2c`.
* ours: see :data:`OURS` (and :data:`OURS_ITERATION_FACTOR`).
"""

from __future__ import annotations

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

#: Ours trains this many times the budget's iterations ("longer training"): with the
#: budget's 150 quick iterations, 2 of 4 probe seeds had not settled on a collision-free
#: assignment; 300 iterations settled seed 2 (docs/results.md).
OURS_ITERATION_FACTOR = 2

#: Fraction of the iterations used for the harmonic period P (paper: 200 of 1000).
PERIOD_FRACTION = 0.2


def _period(base, schedule: str) -> dict:
    """harmonic_period = PERIOD_FRACTION * iterations (when the Settings have that field)."""
    if schedule == "harmonic" and hasattr(base, "harmonic_period"):
        return {"harmonic_period": max(1.0, PERIOD_FRACTION * base.iterations)}
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
        return base.replace(schedule=schedule, final_sparsity=0.95,
                            prune_start=int(round(start_fraction * base.iterations)),
                            **_period(base, schedule))
    make.__name__ = f"pruned_{schedule}_{start_fraction}"
    return make


def ours_settings(base):
    """IAGC-PPO 95 % harmonic with :data:`OURS`, OURS_ITERATION_FACTOR x the budget's iterations."""
    longer = base.replace(iterations=OURS_ITERATION_FACTOR * base.iterations)
    return longer.replace(schedule="harmonic", final_sparsity=0.95, **OURS, **_period(longer, "harmonic"))


def build_config(settings):
    """IAGC-PPO config (rllib_experiments.config) with the harmonic period scaled to the budget."""
    from rllib_experiments.config import build_algo_config

    config = build_algo_config(settings)
    pruning = config.learner_config_dict.get("pruning")
    if pruning is not None and settings.schedule == "harmonic":
        pruning["schedule"]["period"] = max(1.0, PERIOD_FRACTION * settings.iterations)
    return config
