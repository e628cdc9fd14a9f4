"""The goal a learned policy is held to, in every study that asks whether one is good enough
(the scale study's goal, the pruning study's sparsest good actor)."""

from __future__ import annotations

#: Good enough: the mean over seeds reaches this fraction of the oracle on the same episodes ...
GOAL_RATIO = 0.95
#: ... over at least this many training seeds.
GOAL_SEEDS = 5
