"""The rows of Table I: every method the reproduction runs, one module each.

``ROWS`` maps a row key to a :class:`Row` (label, kind, the paper's values, how
to build it). Learning rows build an RLlib new-stack algorithm config from
:class:`~rllib_experiments.settings.Settings`:

==================  ==========================================================
key                 method (module)
==================  ==========================================================
aloha, oca,         non-learning baselines of ``dsa_pettingzoo.baselines``
musical_chairs,     (:mod:`.baselines`); musical chairs and the oracle are
oracle              extra rows the paper does not have
dqn                 DQN with full parameter sharing [8] (:mod:`.drqn`)
iagc                IAGC [9],[12], advantage actor-critic (:mod:`.iagc_a2c`)
pai50               PaI with parameter sharing [18], 50 % (:mod:`.pai`)
dense               dense IAGC-PPO (:mod:`.iagc_ppo`)
harmonic, linear,   IAGC-PPO pruned to 95 % with these schedules
polynomial,         (:mod:`.iagc_ppo`); polynomial200 starts pruning at
polynomial200       i_start = 0.2 * iterations (200 of the paper's 1000)
ours                IAGC-PPO 95 % harmonic, our improved settings (beyond the paper)
ours_<change>       ablations of ours (group "ablation", not run unless asked):
                    ours with one change taken back (``iagc_ppo.ABLATIONS``)
BASE+MOD+...        a learning row with pruning choices changed (:mod:`.variants`),
                    e.g. ``harmonic+head_dense``; made on demand, never listed in ROWS
==================  ==========================================================
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

from rllib_experiments.methods import iagc_ppo
from rllib_experiments.methods.variants import SEPARATOR, variant_row


@dataclass(frozen=True)
class Row:
    """One row of Table I."""

    key: str
    label: str
    kind: str  # "baseline" or "learning"
    paper: Dict[str, Optional[float]] = field(default_factory=dict)
    eval_mode: str = "stochastic"  # which evaluation is the row's reward: "stochastic" or "greedy"
    settings: Optional[Callable] = None  # (base Settings) -> Settings of the row
    build: Optional[Callable] = None  # (Settings) -> AlgorithmConfig
    group: str = "table"  # "table": Table I and its extra rows; "ablation": ablations of ours


def _lazy(module: str, attr: str = "build_config"):
    def call(*args, **kwargs):
        return getattr(importlib.import_module(f"rllib_experiments.methods.{module}"), attr)(
            *args, **kwargs
        )

    return call


ROWS: Dict[str, Row] = {
    r.key: r
    for r in [
        Row("aloha", "Slotted Aloha", "baseline", {"A": 993.77, "B": 764.10}),
        Row("oca", "OCA", "baseline", {"A": 1023.45, "B": 811.52}),
        Row("musical_chairs", "Musical chairs (extra)", "baseline", {}),
        Row("oracle", "Oracle upper bound (extra)", "baseline", {}),
        Row(
            "iagc",
            "IAGC [9], [12]",
            "learning",
            {"A": 996.11, "B": 802.24},
            settings=iagc_ppo.iagc_a2c_settings,
            build=_lazy("iagc_a2c"),
        ),
        Row(
            "dqn",
            "DQN with parameter sharing [8]",
            "learning",
            {"A": 742.54, "B": 555.41},
            settings=iagc_ppo.dense_settings,
            build=_lazy("drqn"),
        ),
        Row(
            "pai50",
            "PaI [18] (50%)",
            "learning",
            {"A": 1111.88, "B": 825.34},
            settings=iagc_ppo.dense_settings,
            build=_lazy("pai"),
        ),
        Row(
            "dense",
            "Dense IAGC PPO",
            "learning",
            {"A": 1556.83, "B": 1115.74},
            settings=iagc_ppo.dense_settings,
            build=iagc_ppo.build_config,
        ),
        Row(
            "harmonic",
            "IAGC PPO (95%), harmonic annealing",
            "learning",
            {"A": 1826.86, "B": 1223.41},
            settings=iagc_ppo.pruned_settings("harmonic"),
            build=iagc_ppo.build_config,
        ),
        Row(
            "linear",
            "IAGC PPO (95%), linear",
            "learning",
            {"A": 1194.82, "B": 1083.76},
            settings=iagc_ppo.pruned_settings("linear"),
            build=iagc_ppo.build_config,
        ),
        Row(
            "polynomial",
            "IAGC PPO (95%), polynomial",
            "learning",
            {"A": 1412.89, "B": 1092.19},
            settings=iagc_ppo.pruned_settings("polynomial"),
            build=iagc_ppo.build_config,
        ),
        Row(
            "polynomial200",
            "IAGC PPO (95%), polynomial (i_start = 200)",
            "learning",
            {"A": 1496.46, "B": 1048.51},
            settings=iagc_ppo.pruned_settings("polynomial", start_fraction=0.2),
            build=iagc_ppo.build_config,
        ),
        Row(
            "ours",
            "IAGC PPO (95%, ours)",
            "learning",
            {},
            eval_mode="greedy",
            settings=iagc_ppo.ours_settings,
            build=iagc_ppo.build_config,
        ),
        *[
            Row(
                f"ours_{change}",
                f"Ablation: ours {label}",
                "learning",
                {},
                eval_mode="greedy",
                settings=iagc_ppo.ours_ablation(change),
                build=iagc_ppo.build_config,
                group="ablation",
            )
            for change, label in [
                ("paper_critic", "with the paper's critic (own history)"),
                ("paper_lr", "with the paper's lr (1e-4 / 5e-5)"),
                ("no_entropy", "without the entropy bonus"),
                ("one_episode", "with 1 episode per iteration"),
                ("dense", "without pruning (dense)"),
            ]
        ],
    ]
}

#: Rows the paper has (in its order), then ours.
PAPER_ROWS = [k for k, r in ROWS.items() if r.paper]


#: Row groups ``--rows`` accepts as shorthands.
GROUPS = {g: [k for k, r in ROWS.items() if r.group == g] for g in ("table", "ablation")}


def expand_rows(names, groups=None) -> list:
    """Row keys of ``names`` (keys, group names or variant keys ``BASE+MOD...``), in ROWS
    order and then the variants in the order given; ValueError on unknown ones. ``groups``
    adds a caller's named groups (name -> keys, variants allowed) to :data:`GROUPS`."""
    groups = {**GROUPS, **(groups or {})}
    keys = [k for n in names for k in (groups.get(n) or [n])]
    variants = [k for k in keys if SEPARATOR in k]
    bad = [n for n in names if n not in ROWS and n not in groups and SEPARATOR not in n]
    if bad:
        raise ValueError(
            f"unknown rows {bad}; allowed: {list(ROWS)}, a group {list(groups)} "
            f"or a variant BASE{SEPARATOR}MODIFIER... (rllib_experiments.methods.variants)"
        )
    for v in variants:
        get_row(v)  # a bad base or modifier fails here, named
    return [k for k in ROWS if k in set(keys)] + list(dict.fromkeys(variants))


def get_row(key: str) -> Row:
    """The row ``key`` or the variant row ``BASE+MOD...`` (ValueError naming what is allowed)."""
    if key in ROWS:
        return ROWS[key]
    if SEPARATOR in key:
        return variant_row(key, ROWS)
    raise ValueError(
        f"unknown row {key!r}; allowed: {list(ROWS)} or a variant BASE{SEPARATOR}MODIFIER..."
    )
