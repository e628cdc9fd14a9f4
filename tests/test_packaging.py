"""The sdist and the wheel are complete: the installed wheel trains, exports and evaluates.

The sources are copied first, so the build never writes into the checkout (egg-info,
build/). The wheel is built from the sdist, as ``python -m build`` does, so a file
missing from the sdist also breaks the wheel. It is installed (not editable) into a
fresh virtual environment that sees this interpreter's packages through a ``.pth`` file
*after* its own site-packages: torch and ray are not downloaded again, and
``dsa_pettingzoo`` must come from the fresh environment. The commands run from a folder
outside the source tree, without PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dsa_pettingzoo", "pruning_callbacks", "rllib_experiments")
SKIP = shutil.ignore_patterns(
    ".git",
    "__pycache__",
    "*.pyc",
    "*.egg-info",
    "build",
    "dist",
    "runs",
    ".pytest_cache",
    ".hypothesis",
)

pytestmark = [pytest.mark.slow, pytest.mark.rllib]


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def package_data() -> set:
    """The data files pyproject.toml ships, as the wheel must hold them."""
    patterns = [
        "rllib_experiments/presets/*.json",
        "dsa_pettingzoo/pretrained/*/*.dsaactor",
        "dsa_pettingzoo/pretrained/*/manifest.json",
    ] + [
        f"dsa_pettingzoo/deploy/{d}/*.{e}"
        for d, e in (("native", "c"), ("native", "h"), ("mcu", "c"), ("mcu", "h"), ("mcu", "ld"))
    ]
    return {p.relative_to(REPO).as_posix() for pattern in patterns for p in REPO.glob(pattern)}


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    pytest.importorskip("build", reason="the [dev] extra: python -m build")
    pytest.importorskip("twine", reason="the [dev] extra: twine check")
    root = tmp_path_factory.mktemp("pkg")
    src = root / "src"
    shutil.copytree(REPO, src, ignore=SKIP)
    out = root / "dist"
    # no isolation: the build backend (setuptools) of this interpreter, nothing downloaded
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, src])
    (sdist,), (wheel,) = list(out.glob("*.tar.gz")), list(out.glob("*.whl"))
    return root, sdist, wheel


def test_sdist_and_wheel_hold_the_sources_and_data(dists):
    _, sdist, wheel = dists
    assert wheel.name == "dsa_pettingzoo-0.3.0-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    data = package_data()
    assert any(n.startswith("rllib_experiments/presets/") for n in data)
    assert any(n.endswith(".c") for n in data) and any(n.endswith(".h") for n in data)
    assert data <= names, sorted(data - names)
    sources = {
        p.relative_to(REPO).as_posix() for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")
    }
    assert sources <= names, sorted(sources - names)
    assert not any(n.startswith("tests/") for n in names)
    entry_points = (
        zipfile.ZipFile(wheel).read("dsa_pettingzoo-0.3.0.dist-info/entry_points.txt").decode()
    )
    for script in ("dsa-evaluate", "dsa-train", "dsa-tune", "dsa-reproduce", "dsa-export"):
        assert f"{script} = " in entry_points
    with tarfile.open(sdist) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md"} | data <= in_sdist


def test_sdist_holds_the_tests_docs_and_project_files(dists):
    """MANIFEST.in: the sdist is the whole source, tests/ and docs/ (with the records under
    docs/results/raw) included; the wheel stays the packages alone."""
    root, sdist, wheel = dists
    src = root / "src"  # the copy the dists were built from
    with tarfile.open(sdist) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for folder in ("tests", "docs"):
        files = {
            p.relative_to(src).as_posix()
            for p in (src / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert files, folder
        assert files <= in_sdist, sorted(files - in_sdist)[:10]
    for name in (
        "tests/test_golden.py",
        "tests/conftest.py",
        "docs/deployment.md",
        "docs/figures.toml",
        "CHANGELOG.md",
        "CITATION.cff",
        "LICENSE",
        ".ci/run",
    ):
        assert name in in_sdist, name
    assert any(n.startswith("tests/golden/") for n in in_sdist)
    assert any(n.startswith("docs/results/raw/") for n in in_sdist)
    assert not any(n.endswith(".pyc") for n in in_sdist)
    names = zipfile.ZipFile(wheel).namelist()
    assert not any(n.startswith(("docs/", "tests/")) for n in names)


def test_metadata_passes_twine_check(dists):
    _, sdist, wheel = dists
    proc = run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel])
    assert proc.stdout.count("PASSED") == 2, proc.stdout
    meta = zipfile.ZipFile(wheel).read("dsa_pettingzoo-0.3.0.dist-info/METADATA").decode()
    for line in (
        "Project-URL: Homepage, https://github.com/dsa-pettingzoo/dsa-pettingzoo",
        "Classifier: Programming Language :: Python :: 3.11",
        "Requires-Python: >=3.10",
        "License-Expression: MIT",
        "License-File: LICENSE",
        "Classifier: Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Keywords: pettingzoo,multi-agent reinforcement learning,dynamic spectrum access",
    ):
        assert line in meta, line
    # the classifiers name only the Python that CI tests (.ci/run: 3.11)
    versions = [
        line.rsplit(":: ", 1)[1]
        for line in meta.splitlines()
        if line.startswith("Classifier: Programming Language :: Python :: 3.")
    ]
    assert versions == ["3.11"], versions
    assert "Provides-Extra: onnx" in meta
    # PEP 639: license-files = ["LICENSE"] ships the file in the wheel's .dist-info/licenses/
    assert "dsa_pettingzoo-0.3.0.dist-info/licenses/LICENSE" in zipfile.ZipFile(wheel).namelist()


def test_installed_wheel_trains_exports_and_evaluates(dists):
    root, _, wheel = dists
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    )
    # this interpreter's packages (torch, ray, ...) after the fresh environment's own
    (site / "zz_parent_site.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-deps",
            "--ignore-installed",
            "--no-index",
            "--quiet",
            wheel,
        ]
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS", "VIRTUAL_ENV")
    }
    env.update(PATH=os.pathsep.join([str(venv / "bin"), env.get("PATH", "")]), OMP_NUM_THREADS="1")
    work = root / "elsewhere"
    work.mkdir()
    kw = dict(cwd=work, env=env, timeout=300)

    where = run(
        [
            python,
            "-c",
            "import json, dsa_pettingzoo, pruning_callbacks, rllib_experiments as r; "
            "print(json.dumps([m.__file__ for m in (dsa_pettingzoo, pruning_callbacks, r)]))",
        ],
        **kw,
    )
    for path in json.loads(where.stdout):
        assert Path(path).resolve().is_relative_to(site.resolve()), path

    run([venv / "bin" / "dsa-train", "--preset", "tiny", "--output", work / "run"], **kw)
    result = json.loads((work / "run" / "result.json").read_text())
    assert result["budget"]["iterations"] == 3
    run(
        [venv / "bin" / "dsa-export", "--checkpoint", work / "run", "--output", work / "actors"],
        **kw,
    )
    assert sorted(p.name for p in (work / "actors").glob("*.dsaactor")) == [
        "user_0.dsaactor",
        "user_1.dsaactor",
        "user_2.dsaactor",
    ]
    proc = run(
        [
            venv / "bin" / "dsa-evaluate",
            "--policy",
            f"exported:{work / 'actors'}",
            "--num-users",
            "3",
            "--num-channels",
            "2",
            "--horizon",
            "20",
            "--episodes",
            "4",
            "--json",
            "--quiet",
        ],
        **kw,
    )
    evaluation = json.loads(proc.stdout)
    assert evaluation["episodes"] == 4 and evaluation["env"]["num_users"] == 3
    # a reward is a sum of non-negative rates over 20 slots, each at most log2(1 + 40) per channel
    assert 0 <= evaluation["mean_reward"] <= 20 * 2 * 5.36


def test_the_wheel_alone_plays_the_shipped_actors_without_torch_or_ray(dists):
    """``pip install <wheel>`` in a fresh environment (its dependencies from the package
    index: numpy, gymnasium, pettingzoo; no torch, no ray) evaluates every shipped set on
    the standard episodes and gets its manifest's numbers to the last digit."""
    root, _, wheel = dists
    venv = root / "venv-base"
    run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", wheel], timeout=600)
    for heavy in ("torch", "ray"):
        absent = subprocess.run([python, "-c", f"import {heavy}"], capture_output=True)
        assert absent.returncode != 0, f"{heavy} is installed in the base environment"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    kw = dict(cwd=root, env=env, timeout=300)
    listed = run([venv / "bin" / "dsa-evaluate", "--list-pretrained"], **kw).stdout
    names = [line.split()[0].split(":", 1)[1] for line in listed.splitlines()[1:]]
    assert names and names == sorted(
        p.parent.name for p in (REPO / "dsa_pettingzoo/pretrained").glob("*/manifest.json")
    )
    for name in names:
        manifest = json.loads(
            (REPO / f"dsa_pettingzoo/pretrained/{name}/manifest.json").read_text()
        )
        ev = manifest["evaluation"]
        for mode, flags in (("greedy", []), ("sampled", ["--exported-sample"])):
            cmd = [venv / "bin" / "dsa-evaluate", "--policy", f"pretrained:{name}", "--json"]
            cmd += ["--episodes", str(ev["episodes"]), "--quiet", *flags]
            result = json.loads(run(cmd, **kw).stdout)
            assert result["mean_reward"] == ev[mode]["mean_reward"], (name, mode)
            assert result["oracle_ratio"] == ev[mode]["oracle_ratio"], (name, mode)
