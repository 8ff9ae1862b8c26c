"""Shared test setup: offline hub, headless rendering, and the bundled real data."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")

REPO = Path(__file__).resolve().parents[1]
COOKBOOK = REPO / "datasets" / "cosmos3_cookbook"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cookbook() -> Path:
    return COOKBOOK


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster for every Ray test (starting one costs seconds): 2 CPUs, and 4 GPUs that exist only in
    Ray's books, so the multi-GPU placement logic runs on this CPU machine (CPU-only pools ask for ``gpus=0``).
    CI installs the ``ray`` extra and sets ``COSMOS_REQUIRE_RAY=1``: there a missing ray fails instead of skipping."""
    try:
        import ray
    except ImportError:
        if os.environ.get("COSMOS_REQUIRE_RAY"):
            pytest.fail("ray is required (COSMOS_REQUIRE_RAY=1): pip install -e '.[dev,ray]'")
        pytest.skip("ray not installed (the optional extra: pip install -e '.[dev,ray]')")
    ray.init(num_cpus=2, num_gpus=4, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
