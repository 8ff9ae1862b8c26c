"""Execute Cosmos 3 DROID model-space chunks on ``SimDroid-v0``: the one place where chunks become env actions.

A DROID chunk describes where the flange should *be* at the next 16 frames (framewise pose deltas of the measured
``cartesian_position``). The env's action is a delta applied to the *measured* flange pose, so each step we aim at
the next target pose from wherever the flange really is; tracking errors do not accumulate over a chunk.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.sim.env import ACTION_HIGH, ACTION_LOW, EE_POSE


def chunk_targets(model_actions: np.ndarray, cartesian: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model-space chunk ``[T, 10]`` + current flange ``[6]`` -> target poses ``[T, 4, 4]`` and gripper ``[T]``."""
    command = get_adapter("droid").decode_from_cartesian(model_actions, cartesian)
    return command.poses[1:], command.gripper


def action_toward(cartesian: np.ndarray, target_pose: np.ndarray, gripper: float) -> np.ndarray:
    """Env action moving the measured flange ``cartesian [6]`` to ``target_pose [4, 4]`` (base frame).

    The step is limited to the env's action box (0.05 m, 0.144 rad per axis): that is the controller's rate
    limit, the same one the scripted expert applies to its own commands.
    """
    current = Rotation.from_euler("xyz", cartesian[3:6])
    rotation = (Rotation.from_matrix(target_pose[:3, :3]) * current.inv()).as_rotvec()
    action = np.concatenate([target_pose[:3, 3] - cartesian[:3], rotation, [gripper]])
    return np.clip(action, ACTION_LOW, ACTION_HIGH).astype(np.float32)


def execute_chunk(env, observation: dict, model_actions: np.ndarray, steps: int | None = None):
    """Run the first ``steps`` rows of a chunk in ``env``; returns ``(observation, info, observations, infos)``."""
    targets, gripper = chunk_targets(model_actions, observation["observation.state"][EE_POSE])
    observations, infos, info = [], [], None
    for target, grip in zip(targets[:steps], gripper[:steps], strict=False):
        action = action_toward(observation["observation.state"][EE_POSE].astype(np.float64), target, float(grip))
        observation, _, _, _, info = env.step(action)
        observations.append(observation)
        infos.append(info)
    return observation, info, observations, infos
