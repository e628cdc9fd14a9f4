"""PaI with parameter sharing [18] at 50 % sparsity, trained with PPO.

One actor parameter set theta is shared by all users; user n acts with theta * m_n,
m_n a distinct FIXED random mask drawn at initialisation (pruning at
initialisation: the masks never change). Sharing is done in the learner by
:class:`~rllib_experiments.methods.shared_actors.SharedActorsMixin`; everything
else (global critic, PPO clip loss, GAE, epochs, learning rates) is the dense
IAGC-PPO configuration. The module id ``user_n`` selects mask m_n.
"""

from __future__ import annotations

from rllib_experiments.algorithm import build_algo_config
from rllib_experiments.iagc.learner import IAGCTorchLearner
from rllib_experiments.methods.shared_actors import SHARED_KEY, SharedActorsMixin


class PaILearner(SharedActorsMixin, IAGCTorchLearner):
    """IAGC-PPO learner whose actors share theta under fixed per-user random masks."""


def build_config(settings, sparsity: float = 0.5):
    """PPOConfig of the PaI row (settings.schedule must be "none": the masks are fixed)."""
    if settings.schedule != "none":
        raise ValueError(
            "PaI uses fixed masks from initialisation: settings.schedule must be 'none'"
        )
    config = build_algo_config(settings)
    config.learners(
        learner_class=PaILearner,
        learner_config_dict={SHARED_KEY: {"sparsity": sparsity, "seed": settings.seed}},
    )
    return config
