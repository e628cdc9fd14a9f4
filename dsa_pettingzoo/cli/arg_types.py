"""argparse value types shared by the project's command-line tools.

Each returns a parser that raises ``argparse.ArgumentTypeError`` with a message saying what
is allowed, so argparse reports it as ``argument --flag: must be ...``.
"""

from __future__ import annotations

import argparse


def int_at_least(minimum: int):
    """Parser of an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an integer >= {minimum}, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def number_in(low: float, high: float, include_high: bool = True):
    """Parser of a float in [low, high] (or [low, high) when ``include_high`` is False)."""
    interval = f"[{low:g}, {high:g}{']' if include_high else ')'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a number in {interval}, got {text!r}"
            ) from None
        if not (low <= value <= high if include_high else low <= value < high):
            raise argparse.ArgumentTypeError(f"must be a number in {interval}, got {text!r}")
        return value

    parse.__name__ = f"number in {interval}"
    return parse
