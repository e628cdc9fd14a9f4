"""Diagnostics of trained actors: how much of a sparse policy lives in its dense biases.

Pruning removes weight matrices only (biases stay dense, as in pruning_callbacks'
default rule). A 95 %-sparse actor can therefore still encode a fixed channel
preference in its biases. :func:`bias_only_rewards` zeroes EVERY weight matrix of
copies of the actors (keeping biases) and evaluates them on the same episodes:
such a network ignores its observations (open-loop), so if it scores like the
trained actor, the learned behaviour is a static choice held in the biases.
"""

from __future__ import annotations

import copy
from typing import Dict, List

import torch

from pruning_callbacks.masks import prunable_parameters
from rllib_experiments.evaluation import evaluate


def bias_only_copies(actors: List[torch.nn.Module]) -> List[torch.nn.Module]:
    """Deep copies of the actors with all prunable weight matrices set to zero."""
    out = []
    for a in actors:
        b = copy.deepcopy(a)
        with torch.no_grad():
            for p in prunable_parameters(b).values():
                p.zero_()
        out.append(b)
    return out


def bias_only_rewards(actors, env_kwargs, episodes: int) -> Dict[str, float]:
    """Mean evaluation reward of the bias-only copies, stochastic and greedy (the one evaluator)."""
    result = evaluate(bias_only_copies(actors), env_kwargs, episodes=episodes)
    return {f"bias_only_{mode}": summary["mean_reward"] for mode, summary in result.items()}
