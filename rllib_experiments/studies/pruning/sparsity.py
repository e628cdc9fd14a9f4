"""The deployment question of the pruning report: how sparse can an actor be?

Split from :mod:`rllib_experiments.studies.pruning.report`, which re-exports these names.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from dsa_pettingzoo.deploy import FORMAT_VERSION
from rllib_experiments.methods.variants import split_key
from rllib_experiments.studies.common.formatting import number_text
from rllib_experiments.studies.common.goal import GOAL_RATIO, GOAL_SEEDS


def dense_reference(config: str) -> str:
    """The dense configuration a configuration is compared with: ``ours_dense`` for ours and its
    variants, ``dense`` for the paper's rows and theirs (:mod:`rllib_experiments.studies.pruning.report`)."""
    base = config.split("+")[0]
    return "ours_dense" if base.startswith("ours") else "dense"


def bytes_text(e: Dict[str, Any], *keys: str) -> str:
    """A row's mean file sizes in bytes (``keys``, joined by " / "), marked once with the
    writer's format and the seeds when they differ from the current writer's or from the
    row's seeds: ``13956 (v2)``, ``11832 / 9866 (3 seeds)``."""
    notes = []
    if e.get("bytes_format") is not None and e["bytes_format"] != FORMAT_VERSION:
        notes.append(f"v{e['bytes_format']}")
    if e.get("bytes_seeds") and e["bytes_seeds"] != e["seeds"]:
        notes.append(f"{e['bytes_seeds']} seeds")
    return " / ".join(number_text(e[k], 0) for k in keys) + (
        f" ({', '.join(notes)})" if notes else ""
    )


#: The deployment question: a sparse actor is good enough if, mean over at least GOAL_SEEDS
#: seeds, an `ours` configuration (evaluated greedy, as ours is) keeps the goal's share of the
#: oracle (GOAL_RATIO), and a paper-settings one (evaluated sampled, as the paper's rows are)
#: this share of dense IAGC-PPO.
SPARSITY_CRITERIA = {
    "ours": ("greedy / oracle", GOAL_RATIO),
    "paper": ("sampled / dense IAGC-PPO", 0.98),
}


def is_sparsity_config(config: str) -> bool:
    """A configuration of the sparsity question: `ours`, `ours_dense` or any `...+all<s>`."""
    base, mods = split_key(config)
    return base in ("ours", "ours_dense") or any(m.startswith("all") for m in mods)


def best_possible(family: str, value: float, seeds: int) -> Optional[float]:
    """The highest mean criterion over GOAL_SEEDS seeds that ``seeds`` done seeds with
    mean ``value`` still allow, or None where it has no ceiling.

    Greedy / oracle is at most 1 on every seed (the oracle's sum rate bounds every policy's on
    the same episodes, slot by slot: :mod:`dsa_pettingzoo.baselines.oracle`), so the missing
    seeds can add at most 1 each; sampled / dense has no such bound (a sparse row may beat
    dense IAGC-PPO).
    """
    if family != "ours":
        return None
    missing = max(GOAL_SEEDS - seeds, 0)
    return (value * seeds + missing) / (seeds + missing)


def sparsity_answers(summary: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Each sparsity configuration with its criterion, its value and whether it is met
    ("met" / "not met" with >= GOAL_SEEDS seeds, "not met whatever the other seeds" when
    :func:`best_possible` stays below the threshold, else "provisional"; ``decided`` says whether
    more seeds could change the verdict), sparsest first."""
    out = []
    for e in summary:
        if not is_sparsity_config(e["config"]):
            continue
        family = "ours" if dense_reference(e["config"]) == "ours_dense" else "paper"
        label, threshold = SPARSITY_CRITERIA[family]
        value = e["ratio_greedy_to_oracle"] if family == "ours" else e["ratio_sampled_to_dense"]
        decided = True
        if value is None:
            status, decided = "no reference yet", False
        elif e["seeds"] < GOAL_SEEDS:
            best = best_possible(family, value, e["seeds"])
            decided = best is not None and best < threshold
            status = (
                f"not met whatever the other seeds: at most {best:.3f} over {GOAL_SEEDS} seeds"
                if decided
                else f"provisional ({e['seeds']} of {GOAL_SEEDS} seeds)"
            )
        else:
            status = "met" if value >= threshold else "not met"
        out.append(
            {
                "setup": e["setup"],
                "config": e["config"],
                "family": family,
                "sparsity_all_params": e["sparsity_all_params"],
                "bytes_int8": e["bytes_int8"],
                "bytes_float32": e["bytes_float32"],
                "bytes_format": e.get("bytes_format"),
                "bytes_seeds": e.get("bytes_seeds"),
                "seeds": e["seeds"],
                "criterion": label,
                "threshold": threshold,
                "value": value,
                "status": status,
                "decided": decided,
            }
        )
    return sorted(out, key=lambda a: (a["setup"], a["family"], -a["sparsity_all_params"]))


def sparsest_good(answers: List[Dict[str, Any]]) -> Dict[Tuple[str, str], Optional[Dict[str, Any]]]:
    """By (setup, family): the sparsest configuration whose criterion is met, or None."""
    out: Dict[Tuple[str, str], Optional[Dict[str, Any]]] = {}
    for a in answers:
        key = (a["setup"], a["family"])
        out.setdefault(key, None)
        if a["status"] == "met" and (
            out[key] is None or a["sparsity_all_params"] > out[key]["sparsity_all_params"]
        ):
            out[key] = a
    return out


def sparsity_lines(summary) -> List[str]:
    """The report's section "How sparse can an actor be?" (empty without a sparsity configuration)."""
    answers = sparsity_answers(summary)
    if not answers:
        return []
    lines = [
        "## How sparse can an actor be?",
        "",
        f"Good enough: mean over >= {GOAL_SEEDS} seeds, `ours` configurations (greedy, "
        f"as ours is evaluated) >= {SPARSITY_CRITERIA['ours'][1]} of the oracle; paper-settings "
        f"configurations (sampled) >= {SPARSITY_CRITERIA['paper'][1]} of dense IAGC-PPO "
        "(`dense`, or `ours_dense` for ours). Sparsity of all actor parameters, which decides "
        "the file size.",
        "",
        "| setup | configuration | sparsity (all params) | int8 bytes | seeds | criterion | value | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in answers:
        lines.append(
            f"| {a['setup']} | `{a['config']}` | {a['sparsity_all_params']:.4f} "
            f"| {bytes_text(a, 'bytes_int8')} | {a['seeds']} | {a['criterion']} >= {a['threshold']} "
            f"| {number_text(a['value'], 3)} | {a['status']} |"
        )
    lines.append("")
    for (setup, family), best in sorted(sparsest_good(answers).items()):
        undecided = any(
            a["setup"] == setup and a["family"] == family and not a["decided"] for a in answers
        )
        what = (
            f"`{best['config']}`, {best['sparsity_all_params']:.4f} of all parameters, "
            f"{bytes_text(best, 'bytes_int8')} B int8"
            if best
            else f"none yet (no configuration with {GOAL_SEEDS} seeds meets it)"
            if undecided
            else "none (no configuration meets it)"
        )
        lines.append(f"- Setup {setup}, {family} settings: sparsest good actor: {what}.")
    lines.append("")
    return lines
