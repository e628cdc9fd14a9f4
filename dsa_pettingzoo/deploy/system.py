"""A folder of exported actors is one system: every user of one export, nothing else.

``rllib_experiments.export`` writes ``OUT/user_<n>.dsaactor`` for n = 0..N-1 and puts the
same ``system`` entry in every header::

    "system": {"run_id": "<uuid4 hex, one per export command>", "num_users": N}

:func:`actor_files` reads every header (framing and CRC checked) and refuses a folder
that is not one system, naming the file(s) at fault and what was expected:

* a file whose name is not ``user_<n>.dsaactor``, or whose header's ``user_index``
  is not the n of its name (a renamed file);
* files of more than one export (different ``run_id``), or files with and without one;
* a missing user or an extra one: the users must be exactly 0..N-1, N from
  ``system.num_users``, else from the ``env`` settings' ``num_users``, else the file count;
* files with different environment settings (``env``), actor input or output sizes,
  observation encodings or source checkpoints.

Files written before the run id existed (no ``system`` entry) are one system only when
none of the folder's files has a run id and every other check above passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

from ..naming import AGENT_PREFIX, agent_id, agent_index
from .format import SUFFIX, ActorFileError, read_header


class ExportFolderError(ValueError):
    """A folder of exported actors that is not one system; names the folder and the problem."""

    def __init__(self, directory, problem: str):
        self.directory, self.problem = str(directory), problem
        super().__init__(f"{directory}: {problem}")


def _names(files) -> str:
    return ", ".join(f.name for f in files)


def _by_user(directory: Path) -> Dict[int, Path]:
    if not directory.is_dir():
        raise ExportFolderError(directory, "not a directory of exported actors")
    files = sorted(directory.glob(f"*{SUFFIX}"))
    if not files:
        raise ExportFolderError(directory, f"no exported actor (*{SUFFIX}) found")
    by_user = {}
    for f in files:
        try:
            by_user[agent_index(f.name[: -len(SUFFIX)])] = f
        except ValueError:
            raise ActorFileError(
                f,
                f"exported actors must be named {AGENT_PREFIX}<n>{SUFFIX}, the "
                f"agent id of their user (e.g. {agent_id(0)}{SUFFIX})",
            ) from None
    return dict(sorted(by_user.items()))


def _group(headers: Dict[Path, Dict[str, Any]], key) -> Dict[Any, List[Path]]:
    """Files grouped by ``key(header)`` (a hashable summary), in file order."""
    groups: Dict[Any, List[Path]] = {}
    for f, h in headers.items():
        groups.setdefault(key(h), []).append(f)
    return groups


def _system(header) -> Dict[str, Any]:
    s = header.get("system")
    return s if isinstance(s, dict) else {}


def _num_users(directory: Path, headers: Dict[Path, Dict[str, Any]]) -> Tuple[int, str]:
    """N of the system and where it was read from."""
    for what, get in (
        ("system.num_users", lambda h: _system(h).get("num_users")),
        ("env.num_users", lambda h: (h.get("env") or {}).get("num_users")),
    ):
        groups = _group(headers, get)
        groups.pop(None, None)
        if len(groups) > 1:
            found = "; ".join(f"{n} in {_names(fs)}" for n, fs in groups.items())
            raise ExportFolderError(directory, f"the headers disagree on {what}: {found}")
        if groups:
            n = next(iter(groups))
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ExportFolderError(directory, f"{what} must be an integer >= 1, got {n!r}")
            return n, f"from {what} in the headers"
    return len(headers), "the number of files"


def _same(directory: Path, headers, what: str, key) -> None:
    groups = _group(headers, key)
    if len(groups) > 1:
        found = "; ".join(f"{_names(fs)}: {value}" for value, fs in groups.items())
        raise ExportFolderError(
            directory,
            f"the files are not one system: they differ in {what} "
            f"({found}); export every user of one checkpoint into one folder",
        )


def _same_env(directory: Path, headers) -> None:
    """Every file was trained on the same environment settings; the error shows the differences."""
    groups = _group(headers, lambda h: _frozen(h.get("env")))
    if len(groups) < 2:
        return
    envs = [headers[files[0]].get("env") for files in groups.values()]
    if any(not isinstance(e, dict) for e in envs):
        shown = [json.dumps(e, sort_keys=True) for e in envs]
    else:
        keys = sorted(
            k
            for k in set().union(*envs)
            if len({json.dumps(e.get(k), sort_keys=True) for e in envs}) > 1
        )
        shown = [
            ", ".join(f"{k}={json.dumps(e[k]) if k in e else 'unset'}" for k in keys) for e in envs
        ]
    found = "; ".join(f"{_names(fs)}: {v}" for fs, v in zip(groups.values(), shown))
    raise ExportFolderError(
        directory,
        f"the files are not one system: they differ in environment "
        f"settings (env: {found}); export every user of one checkpoint "
        "into one folder",
    )


def _frozen(value):
    """A hashable, order-independent summary of a JSON value (for grouping)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def read_system(directory) -> List[Tuple[Path, Dict[str, Any]]]:
    """(file, header) of every user of an export folder, in user order, once checked.

    Raises :class:`ExportFolderError` when the folder is not one system (module
    docstring) and :class:`~dsa_pettingzoo.deploy.format.ActorFileError` for a bad file.
    """
    directory = Path(directory)
    by_user = _by_user(directory)
    headers = {f: read_header(f)[0] for f in by_user.values()}
    for n, f in by_user.items():
        said = headers[f].get("user_index")
        if said is not None and said != n:
            raise ActorFileError(
                f,
                f"the header is user {said!r}'s, not user {n}'s as the file "
                "name says: a renamed file is not accepted",
            )
    runs = _group(headers, lambda h: _frozen(_system(h).get("run_id")))
    if len(runs) > 1:
        found = "; ".join(
            f"{'run_id ' + r if r else 'no run_id (an older export)'}: {_names(fs)}"
            for r, fs in runs.items()
        )
        raise ExportFolderError(
            directory,
            f"files of {len(runs)} exports ({found}); a folder "
            "holds one export: export every user again into a new folder",
        )
    n_users, told = _num_users(directory, headers)
    expected = [agent_id(n) + SUFFIX for n in range(n_users)]
    missing = [name for n, name in enumerate(expected) if n not in by_user]
    extra = [f for n, f in by_user.items() if n >= n_users]
    if missing or extra:
        problems = ([f"{', '.join(missing)} missing"] if missing else []) + (
            [f"{_names(extra)} extra"] if extra else []
        )
        run = next(iter(runs))
        raise ExportFolderError(
            directory,
            f"{' and '.join(problems)}: the folder must hold exactly "
            f"{expected[0]} .. {expected[-1]} (N = {n_users}, {told}"
            + (f", run_id {run})" if run else ")"),
        )
    _same_env(directory, headers)
    _same(
        directory,
        headers,
        "actor sizes (observation, actions)",
        lambda h: tuple((h.get("architecture") or {}).get(k) for k in ("obs_dim", "num_actions")),
    )
    _same(
        directory,
        headers,
        "observation encoding",
        lambda h: (h.get("observation") or {}).get("encoding"),
    )
    _same(
        directory, headers, "source checkpoint", lambda h: (h.get("source") or {}).get("checkpoint")
    )
    return [(f, headers[f]) for f in by_user.values()]


def actor_files(directory) -> List[Path]:
    """The exported-actor files of a folder, in user order, once :func:`read_system` accepts it."""
    return [f for f, _ in read_system(directory)]
