"""Each shared mechanism has one helper, checked on the source of the three packages:

* every figure is written by ``rllib_experiments.studies.common.figures.save_figure``: no other
  module calls ``savefig``, sets a DPI or picks a matplotlib backend;
* every whole file is written by ``dsa_pettingzoo.files.write_atomic`` (re-exported with the
  JSON and CSV writers by ``rllib_experiments.run.outputs``): no other module opens a file for
  writing, calls ``write_text``/``write_bytes``, ``json.dump`` into a file or ``np.save``.
  Appending (a log line, a progress row) is not a whole-file write and stays allowed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsa_pettingzoo.files import write_atomic, write_bytes_atomic, write_text_atomic

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dsa_pettingzoo", "pruning_callbacks", "rllib_experiments")

FIGURE_HELPER = "rllib_experiments/studies/common/figures.py"
WRITER = "dsa_pettingzoo/files.py"
#: The JSON and CSV writers, built on write_atomic (their ``json.dump`` writes its temporary).
WRITER_FORMS = "rllib_experiments/run/outputs.py"

FIGURE_CALLS = re.compile(
    r"\.savefig\(|\bdpi\s*=|\bDPI\s*=|matplotlib\.use\(|rcParams\[[^]]*\]\s*="
)
WRITE_CALLS = re.compile(
    r"""open\([^)]*,\s*["'](?:w|wb|x|xb|w\+|wb\+)["']|\.write_text\(|\.write_bytes\("""
    r"""|json\.dump\(|np\.save\(|np\.savez|pickle\.dump\([^)]*,\s*f\)"""
)


def _sources():
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            yield path.relative_to(REPO).as_posix(), path.read_text()


def _hits(pattern, allowed):
    """Lines matching ``pattern`` outside the ``allowed`` files (a comment, or a write handed to
    ``write_atomic`` on the same line, is not one)."""
    return [
        f"{rel}:{i}: {line.strip()}"
        for rel, text in _sources()
        if rel not in allowed
        for i, line in enumerate(text.splitlines(), 1)
        if pattern.search(line)
        and not line.lstrip().startswith("#")
        and "write_atomic(" not in line
    ]


def test_only_the_figure_helper_saves_figures_and_sets_a_dpi():
    assert _hits(FIGURE_CALLS, {FIGURE_HELPER}) == []
    text = (REPO / FIGURE_HELPER).read_text()
    assert text.count(".savefig(") == 1 and text.count("DPI = ") == 1


def test_only_the_atomic_writer_writes_whole_files():
    assert _hits(WRITE_CALLS, {WRITER, WRITER_FORMS}) == []


def test_the_experiments_use_the_same_writer():
    from rllib_experiments.run import outputs

    assert outputs.write_atomic is write_atomic and outputs.write_text_atomic is write_text_atomic


def test_write_atomic_replaces_whole_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "sub" / "report.md"
    write_text_atomic(path, "old\n")
    write_text_atomic(path, "new ± –\n")
    assert path.read_text() == "new ± –\n"
    write_bytes_atomic(tmp_path / "a.bin", b"\x00\x01")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"

    def fails(f):
        f.write("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_atomic(path, fails)
    assert path.read_text() == "new ± –\n"  # the old file, whole
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.md"]  # no temporary left
