"""Flange targets <-> ``SimDroid-v0`` delta-pose actions: the one place where absolute targets become env actions.

The env's action is a delta applied to the *measured* flange pose (position in the base frame, rotation as a
base-frame axis-angle pre-multiplying the measured orientation). Chunk-level policies give absolute target poses,
so each step we aim at the next target from wherever the flange really is; tracking errors do not accumulate.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics import geometry
from cosmos_robotics.sim.env import ACTION_HIGH, ACTION_LOW


def action_toward(cartesian: np.ndarray, target_pose: np.ndarray, gripper: float) -> np.ndarray:
    """Env action moving the measured flange ``cartesian [6]`` to ``target_pose [4, 4]`` (base frame).

    The step is limited to the env's action box (0.05 m, 0.144 rad per axis): that is the controller's rate
    limit, the same one the scripted expert applies to its own commands.
    """
    current = Rotation.from_euler("xyz", cartesian[3:6])
    rotation = (Rotation.from_matrix(target_pose[:3, :3]) * current.inv()).as_rotvec()
    action = np.concatenate([target_pose[:3, 3] - cartesian[:3], rotation, [gripper]])
    return np.clip(action, ACTION_LOW, ACTION_HIGH).astype(np.float32)


def target_from_action(cartesian: np.ndarray, action: np.ndarray) -> np.ndarray:
    """The absolute flange target ``[4, 4]`` that a delta-pose ``action [7]`` means at the measured ``cartesian``;
    ``action_toward`` maps it back to the same action (exactly, for actions inside the box)."""
    action = np.asarray(action, np.float64)
    rotation = Rotation.from_rotvec(action[3:6]) * Rotation.from_euler("xyz", cartesian[3:6])
    return geometry.pose_matrix(rotation.as_matrix(), cartesian[:3] + action[:3])
