"""Shared fixtures and helpers."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def doc_block(doc: str, containing: str, language: str = "python") -> str:
    """The one fenced ``language`` block of ``doc`` (a path from the repository root) that
    contains ``containing``: a documented example, to run as written."""
    blocks = re.findall(rf"```{language}\n(.*?)```", (REPO / doc).read_text(), flags=re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray instance on 2 CPUs for the module's tests (reused if one is running)."""
    ray = pytest.importorskip("ray")
    torch = pytest.importorskip("torch")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    started = not ray.is_initialized()
    if started:
        path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}},
        )
    yield
    if started:
        ray.shutdown()


@pytest.fixture
def plotted(monkeypatch):
    """What each figure saved during the test draws: ``{file name: [axes]}``, each axes a dict
    ``{line label: (x, y)}`` of its labelled lines (matplotlib's own "_..." labels left out)."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    saved = {}
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        saved[Path(fname).name] = [
            {
                line.get_label(): (
                    np.asarray(line.get_xdata(), float),
                    np.asarray(line.get_ydata(), float),
                )
                for line in ax.get_lines()
                if not line.get_label().startswith("_")
            }
            for ax in self.axes
        ]
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved


def check_png(path, width: int, height: int):
    """Assert ``path`` is a ``width`` x ``height`` PNG with a drawing on it; return its RGB pixels.

    Not blank: at least 8 distinct colours (axes, text, several lines), and between 2 % and
    60 % of the pixels not white (a white canvas has 0 %, a filled one ~100 %).
    """
    from matplotlib import image

    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", path
    rgb = image.imread(str(path))[..., :3]
    assert rgb.shape[:2] == (height, width), rgb.shape
    pixels = np.round(rgb * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) >= 8
    inked = float(np.mean(np.any(pixels < 250, axis=1)))
    assert 0.02 < inked < 0.6, inked
    return rgb


@pytest.fixture(name="check_png")
def check_png_fixture():
    """:func:`check_png` for tests (conftest helpers are reached through fixtures)."""
    pytest.importorskip("matplotlib")
    return check_png
