"""The studies write where the user runs them, never into the installed package.

The wheel is built from a copy of the sources (the checkout gets no build/ or egg-info) and
installed with ``pip install --target`` into a temporary folder; the studies run from another
temporary folder as the current directory with only that folder on PYTHONPATH. Their records
and reports land under the current directory, Ray's workers import the package from the
installed copy (no PYTHONPATH of a checkout handed to them), and the installed files are left
as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "dsa_pettingzoo",
    "pruning_callbacks",
    "rllib_experiments",
)

pytestmark = [pytest.mark.rllib]


def _files(folder: Path) -> set:
    """Every file below ``folder`` (bytecode caches aside: the interpreter may add those)."""
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    pytest.importorskip("ray")
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        path = REPO / name
        (
            shutil.copytree(path, src / name, ignore=skip)
            if path.is_dir()
            else shutil.copy(path, src / name)
        )
    wheels = root / "wheels"
    # no build isolation: this interpreter's setuptools, nothing downloaded
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("*.whl")
    site = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return site


def _run(site: Path, cwd: Path, *argv: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    env.update(PYTHONPATH=str(site), OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_ray_workers_import_the_installed_package(installed, tmp_path):
    code = (
        "import ray\nray.init(num_cpus=1, include_dashboard=False)\n"
        "where = ray.get(ray.remote(lambda: __import__('rllib_experiments').__file__).remote())\n"
        "import rllib_experiments\nprint(rllib_experiments.__file__)\nprint(where)\nray.shutdown()"
    )
    driver, worker = _run(installed, tmp_path, "-c", code).stdout.strip().splitlines()[-2:]
    assert Path(driver).is_relative_to(installed) and Path(worker).is_relative_to(installed)


@pytest.mark.slow
def test_studies_write_under_the_current_directory(installed, tmp_path):
    before = _files(installed)
    _run(
        installed,
        tmp_path,
        "-m",
        "rllib_experiments",
        "reproduce",
        "--budget",
        "smoke",
        "--rows",
        "aloha",
        "--setups",
        "A",
        "--output",
        "out",
        "--num-cpus",
        "1",
    )
    record = json.loads((tmp_path / "out" / "trials" / "A__aloha__s0.json").read_text())
    assert record["budget"] == "smoke" and record["kind"] == "baseline"
    for name in ("table1.md", "trials.csv", "runs.jsonl", "sparsity_schedules.png"):
        assert (tmp_path / "out" / name).is_file(), name
    assert any((tmp_path / "runs" / "tune").iterdir())  # Tune's folder: under the current one
    _run(
        installed,
        tmp_path,
        "-m",
        "rllib_experiments",
        "scale",
        "--budget",
        "smoke",
        "--sizes",
        "4",
        "--setups",
        "A",
        "--seeds",
        "0",
        "--output",
        "out2",
        # installed from a wheel, the records know no commit: their report pools them only so
        "--allow-mixed-commits",
        "--num-cpus",
        "1",
    )
    ours = json.loads((tmp_path / "out2" / "N4" / "trials" / "A__ours__s0.json").read_text())
    # stored relative to the record's results folder (out2/N4)
    assert ours["run_folder"] == "../../runs/scale/N4/A__ours__s0"
    for name in ("scale.md", "scale.csv", "scale_runs.jsonl", "scale_ratio.png"):
        assert (tmp_path / "out2" / name).is_file(), name
    assert _files(installed) == before
    assert not (tmp_path / "docs").exists()
