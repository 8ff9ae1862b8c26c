"""A policy wrapper that keeps each frame's motion inside the Cosmos 3 DROID contract's range.

The DROID normalization spans about +-1.4 cm and +-0.04 rad per frame (q01..q99 of framewise flange deltas); the raw
scripted expert moves up to 3 cm, so ~9 % of its translations would be clamped by the adapter and the encoded
chunks would no longer describe the motion. Limited per axis, every action encodes without clamping.
"""

from __future__ import annotations

import numpy as np

from cosmos_robotics.policies.wrappers import with_parameter

# Per-axis limits (m, rad) of the position / axis-angle delta, inside the DROID q01..q99 range.
CONTRACT_LOW = np.array([-0.0125, -0.012, -0.0135, -0.04, -0.04, -0.04])
CONTRACT_HIGH = np.array([0.0135, 0.0105, 0.0135, 0.04, 0.04, 0.04])


class ContractSpeedPolicy:
    """Wraps a SimDroid policy; its name is the wrapped spec plus ``contract=1``."""

    def __init__(self, policy):
        self.policy = policy
        self.name = with_parameter(policy.name, "contract=1")

    def reset(self, seed: int | None = None) -> None:
        self.policy.reset(seed)

    def act(self, observation: dict, info: dict) -> np.ndarray:
        action = np.array(self.policy.act(observation, info), copy=True)
        action[:6] = np.clip(action[:6], CONTRACT_LOW, CONTRACT_HIGH)
        return action
