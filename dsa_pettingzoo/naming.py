"""Agent ids of the DSA environment: user n is the agent ``"user_n"`` (n = 0 .. N-1).

>>> agent_id(3)
'user_3'
>>> agent_index("user_3")
3
"""

from __future__ import annotations

import numbers
import re

#: Every agent id is this prefix followed by the user's index in decimal.
AGENT_PREFIX = "user_"

_AGENT_ID = re.compile(r"user_(0|[1-9][0-9]*)")


def agent_id(n: int) -> str:
    """The agent id of user ``n`` (an integer >= 0): ``"user_n"``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"a user index must be an integer >= 0, got {n!r}")
    return f"{AGENT_PREFIX}{int(n)}"


def agent_index(agent: str, num_users: int | None = None) -> int:
    """The user index n of the agent id ``"user_n"``.

    ``num_users``, when given, also requires n < num_users. Raises ValueError on anything
    else (wrong type, another prefix, leading zeros such as ``"user_01"``, an index out of range).
    """
    match = _AGENT_ID.fullmatch(agent) if isinstance(agent, str) else None
    if match is None:
        raise ValueError(
            f"an agent id must be {AGENT_PREFIX}<n> with n an integer >= 0 "
            f"written without leading zeros (e.g. {AGENT_PREFIX}0), got {agent!r}"
        )
    n = int(match.group(1))
    if num_users is not None and n >= num_users:
        raise ValueError(
            f"agent {agent!r} does not exist: the agents are {agent_id(0)} .. "
            f"{agent_id(num_users - 1)} (num_users={num_users})"
        )
    return n


def agent_ids(num_users: int) -> list[str]:
    """``["user_0", ..., "user_{N-1}"]``, the agents of an N-user system in order."""
    return [agent_id(n) for n in range(num_users)]
