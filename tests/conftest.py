"""Shared fixtures."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}})
    yield
    if started:
        ray.shutdown()
