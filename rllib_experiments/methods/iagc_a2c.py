"""IAGC [9], [12]: independent recurrent actors, one global critic, plain advantage actor-critic.

The same modules, connector (whole episodes, GAE, reward normalisation) and
critic loss as IAGC-PPO (:mod:`rllib_experiments.iagc.learner`); only the actor loss
changes: the policy-gradient loss of advantage actor-critic,

    L_n = -mean_{b,t} log g(a_t^n | y_t^n, h_{t-1}^n; theta^n) A_t^n - c_ent H,

with no probability ratio and no clipping, and ONE gradient step per batch
(``num_epochs = 1``: each iteration's episode is used once). Advantages are the
same GAE estimates as for PPO (lambda 0.95 in every row, the paper gives none).
"""

from __future__ import annotations

from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY
from ray.rllib.evaluation.postprocessing import Postprocessing

from rllib_experiments.algorithm import build_algo_config
from rllib_experiments.iagc.learner import IAGCTorchLearner


class IAGCA2CLearner(IAGCTorchLearner):
    """IAGC learner with the advantage actor-critic actor loss (see module doc)."""

    def actor_loss(self, module_id, config, batch, fwd_out):
        module = self.module[module_id].unwrapped()
        dist = module.get_train_action_dist_cls().from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        logp = dist.logp(batch[Columns.ACTIONS])
        pg = -(logp * batch[Postprocessing.ADVANTAGES]).mean()
        entropy = dist.entropy().mean()
        coeff = self.entropy_coeff_schedulers_per_module[module_id].get_current_value()
        return pg - coeff * entropy, {POLICY_LOSS_KEY: pg, ENTROPY_KEY: entropy}


def build_config(settings):
    """PPOConfig of IAGC-PPO with the A2C learner (settings.num_epochs must be 1)."""
    if settings.num_epochs != 1 or settings.minibatch_episodes is not None:
        raise ValueError(
            "IAGC (advantage actor-critic) makes one pass per batch: "
            "num_epochs must be 1 and minibatch_episodes None"
        )
    config = build_algo_config(settings)
    config.learners(learner_class=IAGCA2CLearner)
    return config
