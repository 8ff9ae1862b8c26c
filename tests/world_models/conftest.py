"""A tiny, complete Cosmos 3 diffusers checkpoint written once per session (offline, random vision weights)."""

from pathlib import Path

import pytest

from cosmos_robotics.world_models.cosmos3.tiny_checkpoint import write_tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_checkpoint_dir(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("cosmos3_tiny") / "Cosmos3-Tiny")
