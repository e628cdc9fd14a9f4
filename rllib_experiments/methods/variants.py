"""Variant rows: a learning row with pruning choices changed, written ``BASE+MOD+MOD...``.

The paper leaves open how it prunes (which layers, how masks behave between events,
how often it prunes) and never published its sensitivity studies. A variant key names
a base row of :data:`~rllib_experiments.methods.ROWS` and modifiers applied in order,
e.g. ``harmonic+head_dense`` (the paper's harmonic row with the actors' output layer
kept dense) or ``ours+io_dense+all0.99`` (ours, input and output layers dense, 99 % of
all actor parameters zero). Modifiers (:data:`MODIFIERS`, :func:`parse_modifier`):

=================  ==============================================================
modifier           change to the base row's Settings
=================  ==============================================================
``all``            prune_scope "all" (every weight matrix; the paper's rows)
``head_dense``     prune_scope "head_dense": the output layer (128 x 6) stays dense
``input_dense``    prune_scope "input_dense": the first layer stays dense
``io_dense``       prune_scope "io_dense": first and output layers dense
``lstm_only``      prune_scope "lstm_only": only the LSTM's matrices are pruned
``global``         prune_ranking "global": one magnitude ranking per actor
``biases``         prune_biases: the pruned layers' biases are pruned too
``hold``           prune_mode "hold": masks held at every step (no regrowth)
``regrow``         prune_mode "regrow" (Remark 2; the paper's rows)
``bf16``           autocast_bf16: the actors' training forward and backward in bfloat16
``static``         prune_algorithm "static", schedule "constant": a fixed random mask at p
``set``            prune_algorithm "set", schedule "constant": SET (drop by magnitude, grow
                   at random every Delta T iterations)
``rigl``           prune_algorithm "rigl", schedule "constant": RigL (grow where the dense
                   gradient is largest)
``erk``            prune_distribution "erk": Erdős-Rényi-kernel sparsity per matrix
``dt<k>``          prune_update_interval Delta T = k (SET, RigL)
``drop<f>``        prune_drop_fraction = f (SET, RigL's initial drop fraction)
``iprune<k>``      prune_interval i_prune = k (regrow mode)
``amp<a>``         harmonic amplitude A of eq. (13) = a (paper 0.1)
``period<f>``      harmonic period P = f x iterations (paper 0.2: 200 of 1000)
``start<f>``       i_start = f x iterations
``end<f>``         i_P = f x iterations (the schedule reaches p_final there)
``p<s>``           final_sparsity = s of the pruned matrices
``alr<x>``         actor learning rate = x (paper 1e-4: ``alr0.0001``)
``clr<x>``         critic learning rate = x (paper 5e-5: ``clr0.00005``)
``all<s>``         final_sparsity chosen so that s of *all* actor parameters (biases and
                   dense layers included; what an exported file stores) are zero
``rate``           env observation "last_action_feedback_rate": a user also sees the rate
                   it got (the paper's observation hides it)
``difference``     env reward "difference": each user's reward is its marginal
                   contribution to the sum rate
``width<h>``       the actor's width: both MLP layers and the LSTM of h units (the
                   paper's 128); ``ours_dense+width24`` is a small dense actor
=================  ==============================================================

A variant's label is the base row's label with the modifiers; its group is "variant".
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable, Dict, List, Tuple

from rllib_experiments.algorithm import probe_env

SEPARATOR = "+"

#: Modifiers without a number: name -> Settings overrides.
MODIFIERS: Dict[str, Dict] = {
    "all": dict(prune_scope="all"),
    "head_dense": dict(prune_scope="head_dense"),
    "input_dense": dict(prune_scope="input_dense"),
    "io_dense": dict(prune_scope="io_dense"),
    "lstm_only": dict(prune_scope="lstm_only"),
    "global": dict(prune_ranking="global"),
    "biases": dict(prune_biases=True),
    "hold": dict(prune_mode="hold"),
    "regrow": dict(prune_mode="regrow"),
    "bf16": dict(autocast_bf16=True),
    "static": dict(prune_algorithm="static", schedule="constant", schedule_params={}),
    "set": dict(prune_algorithm="set", schedule="constant", schedule_params={}),
    "rigl": dict(prune_algorithm="rigl", schedule="constant", schedule_params={}),
    "erk": dict(prune_distribution="erk"),
}

#: Modifiers of the environment: name -> keyword arguments of dsa_pettingzoo.parallel_env,
#: merged into the Settings' ``env`` (its other overrides stay).
ENV_MODIFIERS: Dict[str, Dict] = {
    "rate": dict(observation="last_action_feedback_rate"),
    "difference": dict(reward="difference"),
}

#: Modifiers with a number: prefix -> (what the number is, how it changes the Settings).
NUMBERED = (
    "iprune", "amp", "period", "start", "end", "all", "p", "alr", "clr", "dt", "drop", "width"
)  # fmt: skip
_NUMBER = re.compile(r"^(iprune|amp|period|start|end|all|p|alr|clr|dt|drop|width)(\d+(?:\.\d+)?)$")


def _schedule_param(settings, name: str, value: float):
    return settings.replace(schedule_params={**settings.schedule_params, name: value})


def probe_actor(settings):
    """A freshly initialised actor of these settings (its sizes, the environment's spaces)."""
    # imports ray, torch: only when called
    from rllib_experiments.iagc.modules import IAGCActor

    info = probe_env(settings)
    return IAGCActor(
        observation_space=info["obs_space"],
        action_space=info["act_space"],
        model_config={
            "hidden_sizes": tuple(settings.hidden_sizes),
            "lstm_size": settings.lstm_size,
            "lstm_layers": settings.lstm_layers,
        },
    )


def pruned_parameters(settings, actor) -> Dict:
    """The actor's parameters these settings prune (name -> tensor): the prune scope's
    matrices, and their biases with ``prune_biases``."""
    # imports torch: only when called
    from pruning_callbacks.masks import prunable_parameters
    from rllib_experiments.iagc.modules import prune_scope_patterns

    include, exclude = prune_scope_patterns(settings.prune_scope, settings.hidden_sizes)
    return prunable_parameters(
        actor, prune_biases=settings.prune_biases, include=include, exclude=exclude
    )


def _overall_sparsity(settings, target: float):
    """final_sparsity of the pruned matrices giving ``target`` over all actor parameters."""
    actor = probe_actor(settings)
    in_scope = sum(p.numel() for p in pruned_parameters(settings, actor).values())
    total = sum(p.numel() for p in actor.parameters())
    p = target * total / in_scope
    if not 0 <= p < 1:
        raise ValueError(
            f"{target:g} of all actor parameters cannot be zero with prune scope "
            f"{settings.prune_scope!r}: its matrices are {in_scope} of the actor's {total} "
            f"parameters, so at most {in_scope / total:.4f} can be pruned"
            f"{'' if settings.prune_biases else ' (the modifier biases prunes biases too)'}"
        )
    return settings.replace(final_sparsity=p)


def parse_modifier(text: str) -> Callable:
    """Settings -> Settings of one modifier (ValueError naming the allowed ones)."""
    if text in MODIFIERS:
        return lambda s: s.replace(**MODIFIERS[text])
    if text in ENV_MODIFIERS:
        return lambda s: s.replace(env={**s.env, **ENV_MODIFIERS[text]})
    m = _NUMBER.match(text)
    if not m:
        raise ValueError(
            f"unknown modifier {text!r}; allowed: {sorted([*MODIFIERS, *ENV_MODIFIERS])} or "
            f"{[k + '<number>' for k in NUMBERED]}"
        )
    kind, value = m.group(1), float(m.group(2))
    if kind == "width":
        if value != int(value) or value < 1:
            raise ValueError(f"modifier {text!r}: a width must be an integer >= 1")
        return lambda s: s.replace(hidden_sizes=(int(value), int(value)), lstm_size=int(value))
    if kind == "iprune":
        if value != int(value) or value < 1:
            raise ValueError(f"modifier {text!r}: i_prune must be an integer >= 1")
        return lambda s: s.replace(prune_interval=int(value))
    if kind == "dt":
        if value != int(value) or value < 1:
            raise ValueError(f"modifier {text!r}: Delta T must be an integer >= 1")
        return lambda s: s.replace(prune_update_interval=int(value))
    if kind == "drop":
        return lambda s: s.replace(prune_drop_fraction=value)
    if kind == "amp":
        return lambda s: _schedule_param(s, "amplitude", value)
    if kind == "period":
        return lambda s: _schedule_param(s, "period", max(1.0, value * s.iterations))
    if kind == "start":
        return lambda s: s.replace(prune_start=int(round(value * s.iterations)))
    if kind == "end":
        return lambda s: s.replace(prune_end=max(1, int(round(value * s.iterations))))
    if kind == "p":
        return lambda s: s.replace(final_sparsity=value)
    if kind in ("alr", "clr"):
        if value <= 0:
            raise ValueError(f"modifier {text!r}: a learning rate must be > 0")
        field = "actor_lr" if kind == "alr" else "critic_lr"
        return lambda s: s.replace(**{field: value})
    return lambda s: _overall_sparsity(s, value)  # "all<s>"


def split_key(key: str) -> Tuple[str, List[str]]:
    """(base row key, modifier texts) of a variant key."""
    base, *mods = key.split(SEPARATOR)
    return base, mods


def variant_row(key: str, rows: Dict):
    """The Row of a variant key (see module doc); ValueError if the base or a modifier is bad."""
    base_key, mods = split_key(key)
    if base_key not in rows:
        raise ValueError(f"variant {key!r}: unknown base row {base_key!r}; allowed: {list(rows)}")
    base = rows[base_key]
    if base.kind != "learning":
        raise ValueError(
            f"variant {key!r}: base row {base_key!r} does not learn; only learning "
            "rows take modifiers"
        )
    if not mods:
        return base
    changes = [parse_modifier(m) for m in mods]

    def settings(budget_base):
        s = base.settings(budget_base)
        for change in changes:
            s = change(s)
        return s

    return replace(
        base,
        key=key,
        label=f"{base.label} [{', '.join(mods)}]",
        paper={},
        settings=settings,
        group="variant",
    )
