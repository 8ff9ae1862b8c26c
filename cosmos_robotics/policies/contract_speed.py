"""A policy wrapper that keeps each frame's motion inside the Cosmos 3 DROID contract's range.

The DROID normalization spans about +-1.4 cm and +-0.04 rad per frame (q01..q99 of framewise flange deltas); the raw
scripted expert moves up to 3 cm, so ~9 % of its translations would be clamped by the adapter and the encoded
chunks would no longer describe the motion. The limits come from the shipped stats
(``embodiments.droid.droid_contract_box``) and apply where the stats were taken: in the model frame, the flange
rotated to OpenCV at the current pose. The env's delta (base frame) is turned into that frame, limited per axis,
and turned back, so every action encodes without clamping whatever the hand's orientation.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics.embodiments.droid import DROID_TO_OPENCV, droid_contract_box
from cosmos_robotics.policies.wrappers import with_parameter
from cosmos_robotics.sim.env import EE_POSE


class ContractSpeedPolicy:
    """Wraps a SimDroid policy; its name is the wrapped spec plus ``contract=1``."""

    def __init__(self, policy):
        self.policy = policy
        self.name = with_parameter(policy.name, "contract=1")
        self.low, self.high = droid_contract_box()

    def reset(self, seed: int | None = None) -> None:
        self.policy.reset(seed)

    def act(self, observation: dict, info: dict) -> np.ndarray:
        action = np.array(self.policy.act(observation, info), dtype=np.float64)
        euler = np.asarray(observation["observation.state"][EE_POSE], np.float64)[3:6]
        model = Rotation.from_euler("xyz", euler).as_matrix() @ DROID_TO_OPENCV  # model frame in the base frame
        delta = np.concatenate([model.T @ action[:3], model.T @ action[3:6]])
        delta = np.clip(delta, self.low, self.high)
        action[:3], action[3:6] = model @ delta[:3], model @ delta[3:6]
        return action.astype(np.float32)
