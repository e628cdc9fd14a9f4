"""Which code made the seeds a report pools into one row, and the one rule about mixing them.

Every trial record keeps ``code``: ``{"commit", "dirty"}`` of the checkout that ran it
(:mod:`rllib_experiments.run.provenance`); older records lack it (or hold None). A report row
pools the seeds of one (setup, row): its mean is a statement about one piece of code only when
every seed was made by the same commit from a clean tree. :func:`code_groups` says which code
made a row's seeds, :func:`check_rows` applies the rule for a whole report: seeds of different
commits, of a dirty tree or of unknown code are refused (:class:`MixedCodeError`, naming the row,
the commits and :data:`ALLOW_FLAG`) unless the report is told to pool them, and then
:func:`mixed_text` is the mark the table shows beside the row.

Non-learning records (``kind`` "baseline": one deterministic evaluation, no training seed) are
not pooled over seeds and are left out.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, TypeVar

K = TypeVar("K")

#: The flag of every report-building command that pools seeds of mixed code.
ALLOW_FLAG = "--allow-mixed-commits"
#: The digits of a commit a report shows.
SHORT_COMMIT = 7
#: A record's code when it does not say (written before records kept it, or from a wheel).
UNKNOWN = "unknown code"


class MixedCodeError(ValueError):
    """A report would pool seeds made by different commits, a dirty tree or unknown code."""


def code_label(record: Mapping[str, Any]) -> str:
    """The code that made ``record``: ``269a1ec``, ``12f0b2e dirty`` or :data:`UNKNOWN`."""
    code = record.get("code")
    if not isinstance(code, Mapping) or not code.get("commit"):
        return UNKNOWN
    return str(code["commit"])[:SHORT_COMMIT] + (" dirty" if code.get("dirty") else "")


def code_groups(records: Iterable[Mapping[str, Any]]) -> List[Tuple[str, int]]:
    """``[(code label, seeds)]`` of one row's learning ``records`` (:func:`code_label`; baseline
    records are left out), the largest group first (ties: by label)."""
    return label_groups(code_label(r) for r in records if r.get("kind") != "baseline")


def label_groups(labels: Iterable[str]) -> List[Tuple[str, int]]:
    """:func:`code_groups` of the seeds' code labels (:func:`code_label`) themselves."""
    counts: Dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def row_mark(groups: List[Tuple[str, int]]) -> Optional[str]:
    """The mark of a row (:func:`mixed_text`), None when its seeds are of one clean commit."""
    return None if is_one_clean_commit(groups) else mixed_text(groups)


def is_one_clean_commit(groups: List[Tuple[str, int]]) -> bool:
    """Whether a row's seeds (:func:`code_groups`) come from one commit of a clean tree (no seed:
    nothing pooled, True)."""
    if not groups:
        return True
    return len(groups) == 1 and groups[0][0] != UNKNOWN and not groups[0][0].endswith(" dirty")


def mixed_text(groups: List[Tuple[str, int]]) -> str:
    """The mark of a row not from one clean commit: ``mixed: 269a1ec (5 seeds), fb57ed5 (4),
    12f0b2e dirty (1)``, or with one group the group alone (``12f0b2e dirty (3 seeds)``)."""
    parts = [
        f"{label} ({n} seed{'s' if n != 1 else ''})" if i == 0 else f"{label} ({n})"
        for i, (label, n) in enumerate(groups)
    ]
    return ("mixed: " if len(groups) > 1 else "") + ", ".join(parts)


def check_rows(
    rows: Mapping[K, Iterable[Mapping[str, Any]]],
    allow_mixed: bool,
    report: str,
    name: Callable[[K], str] = str,
) -> Dict[K, str]:
    """The rule for one report: ``rows`` maps a row's key to its records, ``name`` a key to how
    the error names the row (``A / dense``). Returns ``{key: mark}`` (:func:`mixed_text`) of the
    rows not from one clean commit when ``allow_mixed``; else raises :class:`MixedCodeError`
    naming them (at most 5), their code and :data:`ALLOW_FLAG`."""
    marks: Dict[K, str] = {}
    for key, recs in rows.items():
        mark = row_mark(code_groups(recs))
        if mark:
            marks[key] = mark
    if marks and not allow_mixed:
        shown = "; ".join(f"{name(key)}: {text}" for key, text in list(marks.items())[:5])
        more = f" and {len(marks) - 5} more" if len(marks) > 5 else ""
        raise MixedCodeError(
            f"{report}: {len(marks)} row{'s' if len(marks) != 1 else ''} would pool seeds not made "
            f"by one commit from a clean tree ({shown}{more}); rerun those seeds at one commit, "
            f"or pass {ALLOW_FLAG} to pool them anyway (the table then marks those rows)"
        )
    return marks


def mark_lines(rows: Iterable[Tuple[str, Optional[str]]]) -> List[str]:
    """The lines under a table that say which code made its rows marked †: ``rows`` is (the row
    as the line names it, its mark or None) per row of the table; no marked row, no lines."""
    marked = [(name, mark) for name, mark in rows if mark]
    if not marked:
        return []
    return [f"- † {name}: {mark}" for name, mark in marked] + [""]


def footnote(marks: Mapping[Any, str], command: str) -> Optional[str]:
    """A report's sentence about the rows it pooled across code, naming the ``command`` that
    rebuilds it so (None when there are none)."""
    if not marks:
        return None
    return (
        f"**Seeds of mixed code**: {len(marks)} row{'s' if len(marks) != 1 else ''} pool seeds "
        "not made by one commit from a clean tree (different commits, a dirty tree, or records "
        f"from before records kept their commit: {UNKNOWN}), so this report is built by "
        f"`{command}`; each such row is marked † and its code listed under its table."
    )
