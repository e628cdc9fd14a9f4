"""An export folder is one system (dsa_pettingzoo/deploy/system.py): a corruption suite.

Each case starts from folders written by the export itself (tiny IAGCActors of
tests/test_export.py, no training), breaks one, and asserts the exact error of
``load_actors`` and that loading changed nothing on disk. Files written without a
``system`` entry (format versions 1 and 2 before the run id) stay loadable.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from dsa_pettingzoo.deploy import (
    ActorFileError,
    ExportFolderError,
    actor_files,
    load_actors,
    read_system,
    write_actor_file,
)
from dsa_pettingzoo.deploy.actor_speed import random_params
from test_deploy import SMALL, export_dir  # files without a system entry, as before the run id

pytest.importorskip("torch")
from test_export import fake_checkpoint, quiet_export, snapshot  # noqa: E402

pytestmark = pytest.mark.rllib
USERS = [f"user_{n}.dsaactor" for n in range(3)]


@pytest.fixture
def exports(tmp_path):
    """Folders a and b: two exports of one checkpoint; c: an export of another checkpoint."""
    ckpt = fake_checkpoint(tmp_path / "ckpt")
    other = fake_checkpoint(tmp_path / "other", seed=10)
    for name, source in (("a", ckpt), ("b", ckpt), ("c", other)):
        quiet_export(source, tmp_path / name)
    return {name: tmp_path / name for name in "abc"}


def run_id(folder, user=0):
    return read_system(folder)[user][1]["system"]["run_id"]


def refused(folder, error, message):
    """load_actors(folder) raises exactly ``error(message)`` and leaves the folder as it was."""
    before = snapshot(folder)
    with pytest.raises(error) as err:
        load_actors(folder)
    assert str(err.value) == message
    assert snapshot(folder) == before


def test_a_complete_export_loads_in_user_order(exports):
    actors = load_actors(exports["a"])
    assert [a.header["agent"] for a in actors] == ["user_0", "user_1", "user_2"]
    assert len({a.header["system"]["run_id"] for a in actors}) == 1
    assert run_id(exports["a"]) != run_id(exports["b"])


def test_missing_user(exports):
    a = exports["a"]
    rid = run_id(a)
    (a / "user_2.dsaactor").unlink()
    refused(
        a,
        ExportFolderError,
        f"{a}: user_2.dsaactor missing: the folder must hold exactly user_0.dsaactor .. "
        f"user_2.dsaactor (N = 3, from system.num_users in the headers, run_id {rid})",
    )


def test_foreign_user_from_another_export_of_the_same_checkpoint(exports):
    a, b = exports["a"], exports["b"]
    ra, rb = run_id(a), run_id(b)
    shutil.copy2(b / "user_1.dsaactor", a / "user_1.dsaactor")
    refused(
        a,
        ExportFolderError,
        f"{a}: files of 2 exports (run_id {ra}: user_0.dsaactor, user_2.dsaactor; run_id "
        f"{rb}: user_1.dsaactor); a folder holds one export: export every user again into "
        "a new folder",
    )


def test_folder_mixed_from_two_runs(exports):
    a, c = exports["a"], exports["c"]
    ra, rc = run_id(a), run_id(c)
    for n in (1, 2):
        shutil.copy2(c / f"user_{n}.dsaactor", a / f"user_{n}.dsaactor")
    refused(
        a,
        ExportFolderError,
        f"{a}: files of 2 exports (run_id {ra}: user_0.dsaactor; run_id {rc}: "
        "user_1.dsaactor, user_2.dsaactor); a folder holds one export: export every user "
        "again into a new folder",
    )


def test_stale_extra_files(exports):
    a = exports["a"]
    (a / "user_7.dsaactor").touch()  # what an earlier, interrupted tool left behind
    refused(
        a,
        ActorFileError,
        f"{a / 'user_7.dsaactor'}: truncated: 0 bytes, shorter than the "
        "28-byte frame of an exported-actor file",
    )
    shutil.copy2(a / "user_0.dsaactor", a / "user_7.dsaactor")
    refused(
        a,
        ActorFileError,
        f"{a / 'user_7.dsaactor'}: the header is user 0's, not "
        "user 7's as the file name says: a renamed file is not accepted",
    )


def test_truncated_file(exports):
    f = exports["a"] / "user_1.dsaactor"
    data = f.read_bytes()
    f.write_bytes(data[:-100])
    refused(
        exports["a"],
        ActorFileError,
        f"{f}: truncated: {len(data) - 100} bytes, the frame declares {len(data)}",
    )


def test_file_with_flipped_bytes(exports):
    f = exports["a"] / "user_2.dsaactor"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    data[len(data) // 2 + 1] ^= 0x01
    f.write_bytes(bytes(data))
    refused(exports["a"], ActorFileError, f"{f}: checksum mismatch (CRC-32): the file is corrupted")


# ----------------------------------------------------------------------------- files without a run id
def test_older_files_without_a_run_id_form_one_system_when_everything_else_matches(tmp_path):
    env = {"num_users": 3, "num_channels": 2}
    d = export_dir(tmp_path, SMALL, 3, env=env)
    assert [f.name for f in actor_files(d)] == USERS
    assert all("system" not in a.header for a in load_actors(d))
    (d / "user_2.dsaactor").unlink()
    refused(
        d,
        ExportFolderError,
        f"{d}: user_2.dsaactor missing: the folder must hold exactly user_0.dsaactor .. "
        "user_2.dsaactor (N = 3, from env.num_users in the headers)",
    )
    write_actor_file(
        d / "user_2.dsaactor",
        random_params(SMALL, 0.9, np.random.default_rng(1)),
        SMALL,
        metadata={"agent": "user_2", "user_index": 2, "env": {**env, "horizon": 50}},
    )
    refused(
        d,
        ExportFolderError,
        f"{d}: the files are not one system: they differ in environment settings (env: "
        "user_0.dsaactor, user_1.dsaactor: horizon=unset; user_2.dsaactor: horizon=50); "
        "export every user of one checkpoint into one folder",
    )


def test_older_files_without_any_size_use_the_file_count(tmp_path):
    d = export_dir(tmp_path, SMALL, 3)
    (d / "user_1.dsaactor").rename(d / "user_7.dsaactor")
    refused(
        d,
        ActorFileError,
        f"{d / 'user_7.dsaactor'}: the header is user 1's, not "
        "user 7's as the file name says: a renamed file is not accepted",
    )
    write_actor_file(
        d / "user_7.dsaactor",
        random_params(SMALL, 0.9, np.random.default_rng(1)),
        SMALL,
        metadata={"agent": "user_7", "user_index": 7},
    )
    refused(
        d,
        ExportFolderError,
        f"{d}: user_1.dsaactor missing and user_7.dsaactor extra: the folder "
        "must hold exactly user_0.dsaactor .. user_2.dsaactor (N = 3, the number of files)",
    )


def test_older_files_mixed_with_an_export(exports, tmp_path):
    a = exports["a"]
    rid = run_id(a)
    old = export_dir(tmp_path, SMALL, 3, env={"num_users": 3, "num_channels": 2})
    shutil.copy2(old / "user_0.dsaactor", a / "user_0.dsaactor")
    refused(
        a,
        ExportFolderError,
        f"{a}: files of 2 exports (no run_id (an older export): user_0.dsaactor; run_id "
        f"{rid}: user_1.dsaactor, user_2.dsaactor); a folder holds one export: export every "
        "user again into a new folder",
    )


def test_folder_naming_errors(tmp_path):
    d = export_dir(tmp_path, SMALL, 3)
    for wrong in ("user_07", "actor_7"):
        (d / "user_2.dsaactor").rename(d / f"{wrong}.dsaactor")
        with pytest.raises(
            ActorFileError,
            match=rf"{wrong}.dsaactor: exported actors must be "
            r"named user_<n>.dsaactor",
        ):
            actor_files(d)
        (d / f"{wrong}.dsaactor").rename(d / "user_2.dsaactor")
    with pytest.raises(ExportFolderError, match="not a directory of exported actors"):
        load_actors(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportFolderError, match=r"no exported actor \(\*.dsaactor\) found"):
        load_actors(tmp_path / "empty")


def test_older_files_from_two_checkpoints(tmp_path):
    d = tmp_path / "actors"
    d.mkdir()
    rng = np.random.default_rng(0)
    for n, source in enumerate(
        ["/runs/a/iter_000100", "/runs/a/iter_000100", "/runs/b/iter_000100"]
    ):
        write_actor_file(
            d / f"user_{n}.dsaactor",
            random_params(SMALL, 0.9, rng),
            SMALL,
            metadata={"agent": f"user_{n}", "user_index": n, "source": {"checkpoint": source}},
        )
    refused(
        d,
        ExportFolderError,
        f"{d}: the files are not one system: they differ in source checkpoint "
        "(user_0.dsaactor, user_1.dsaactor: /runs/a/iter_000100; user_2.dsaactor: "
        "/runs/b/iter_000100); export every user of one checkpoint into one folder",
    )
