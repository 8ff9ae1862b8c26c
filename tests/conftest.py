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
