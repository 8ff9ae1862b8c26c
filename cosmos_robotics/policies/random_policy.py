"""The floor of the graded ladder: model-space chunks drawn uniformly, observation ignored except the flange pose.

Translation and gripper rows are uniform in the contract's [-1, 1]; rotation rows are the hold-still rotation
(``planner.PERTURBED`` names the dimensions that may be drawn freely). Seeded by ``reset``, so the same seed
gives the same chunks in the simulator and in a world model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.policies.planner import PERTURBED, _hold_still


class RandomPolicy:
    """Uniform random chunks in the DROID contract: no task skill, an expected simulator success of ~0."""

    needs_privileged_state = False

    def __init__(self, seed: int | None = None):
        self.name = "random"
        self.adapter = get_adapter("droid")
        self._still = _hold_still(self.adapter)
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        from cosmos_robotics.sim.env import EE_POSE

        rows = self._still.copy()
        rows[:, PERTURBED] = self._rng.uniform(-1.0, 1.0, (len(rows), len(PERTURBED)))
        command = self.adapter.decode_from_cartesian(rows, np.asarray(observation["observation.state"][EE_POSE]))
        return ActionChunk("droid", self.adapter.preset.fps, command.gripper, poses=command.poses[1:],
                           model_actions=rows, metadata={"policy": self.name})
