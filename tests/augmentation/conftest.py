"""A small source dataset: one expert episode of 17 frames, recorded by ``sim record``."""

from __future__ import annotations

import pytest
from augment_helpers import STEPS


@pytest.fixture(scope="session")
def source(tmp_path_factory):
    from cosmos_robotics.rollout.record import record_dataset

    root = tmp_path_factory.mktemp("augment") / "source"
    record_dataset(root, episodes=1, policy="expert:contract=1", workers=1, seed=7, steps=STEPS + 1)
    return root
