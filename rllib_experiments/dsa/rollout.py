"""Play the users' actors on the batched DSA simulator (sampling and evaluation core).

:func:`rollout` runs B whole episodes in lockstep on a
:class:`dsa_pettingzoo.BatchedDSA`: at every slot each user's actor takes the
observations y_t^n of its B episodes in one batched forward pass (hidden
states start at zero), then the simulator resolves all B x N actions at once.
It is used by the fast env runner (:mod:`rllib_experiments.dsa.env_runner`) and by
the evaluator (:func:`rllib_experiments.evaluation.evaluate`).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
import torch

from rllib_experiments.iagc.stacked import StackedActors

MODES = ("sample", "greedy", "random")


def rollout(
    actors: Sequence[torch.nn.Module],
    sim,
    *,
    mode: str = "sample",
    seeds: Optional[Sequence[int]] = None,
    generator: Optional[torch.Generator] = None,
    with_states: bool = False,
) -> Dict[str, np.ndarray]:
    """Play one batch of whole episodes.

    Args:
        actors: one :class:`~rllib_experiments.iagc.modules.IAGCActor` per user, in user order.
        sim: a ``BatchedDSA``; it is reset here (with ``seeds`` if given).
        mode: "sample" (draw from g(.|y,h)), "greedy" (argmax) or "random" (uniform).
        seeds: per-episode seeds for ``sim.reset(seeds=...)`` (None: continue its RNGs).
        generator: torch RNG for the action draws (None: torch's global RNG).
        with_states: also record the global state ``sim.state()`` before every slot.

    Returns:
        dict of arrays with leading dims [B, T, N]: ``obs`` float32 [B, T+1, N, d]
        (the last row is the observation after the final slot), ``actions`` int64,
        ``logp`` float32 (log-probability of the taken action), ``rewards`` float64
        (the env's reward), ``rates`` float64 (own achieved rates); with ``with_states``,
        ``states`` float32 [B, T, state_dim].
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if len(actors) != sim.num_users:
        raise ValueError(f"need one actor per user: {sim.num_users} users, {len(actors)} actors")
    obs = sim.reset(seeds=list(seeds)) if seeds is not None else sim.reset()
    B, N, T = sim.num_envs, sim.num_users, sim.horizon
    out_obs = np.empty((B, T + 1, N, obs.shape[-1]), np.float32)
    actions = np.empty((B, T, N), np.int64)
    logp = np.empty((B, T, N), np.float32)
    rewards = np.empty((B, T, N), np.float64)
    rates = np.empty((B, T, N), np.float64)
    states = np.empty((B, T, sim.state_dim), np.float32) if with_states else None
    num_actions = sim.num_channels + 1
    stacked = StackedActors(actors) if mode != "random" else None
    state = None
    with torch.inference_mode():
        for t in range(T):
            out_obs[:, t] = obs
            if with_states:
                states[:, t] = sim.state()
            if mode == "random":
                a = torch.randint(num_actions, (N, B), generator=generator)
                lp = torch.full((N, B), -float(np.log(num_actions)))
            else:
                obs_t = torch.from_numpy(obs).transpose(0, 1)  # [N, B, d]
                logits, state = stacked.step(obs_t, state)
                log_probs = torch.log_softmax(logits, dim=-1)  # eq. (3): softmax
                if mode == "greedy":
                    a = log_probs.argmax(dim=-1)
                else:
                    a = torch.multinomial(
                        log_probs.exp().reshape(N * B, -1), 1, generator=generator
                    ).reshape(N, B)
                lp = log_probs.gather(2, a[..., None])[..., 0]
            actions[:, t] = a.T.numpy()
            logp[:, t] = lp.T.numpy()
            obs, reward, _, _, info = sim.step(actions[:, t])
            rewards[:, t] = reward
            rates[:, t] = info["rates"]
    out_obs[:, T] = obs
    out = {"obs": out_obs, "actions": actions, "logp": logp, "rewards": rewards, "rates": rates}
    if with_states:
        out["states"] = states
    return out
