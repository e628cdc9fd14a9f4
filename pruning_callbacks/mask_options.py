"""The choices of :class:`~pruning_callbacks.masks.MagnitudePruner`, without torch.

Kept apart from ``masks`` so that :class:`~pruning_callbacks.rllib.pruning_config.PruningConfig`,
which checks these choices, can be built (and so validate a user's settings) without
importing torch.
"""

MODES = ("hold", "regrow")
"""Mask modes: "hold" (masks re-applied after every step) or "regrow" (Remark 2)."""
RANKINGS = ("layer", "global")
"""Magnitude rankings: "layer" (each matrix to p) or "global" (one ranking per module)."""
REGROW_FROM = ("zero", "pruned_value")
"""Hold mode: the value a released weight restarts from."""
