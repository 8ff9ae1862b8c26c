"""Chunk action spaces shared by the simulator's and the world model's chunk-level envs.

Gymnasium needs arrays; policies give ``ActionChunk``s. Both envs accept either: an array of the env's
``action_type`` (``poses`` ``[T, 7]`` xyz + rotation vector + gripper, ``joints`` ``[T, 8]``, ``model`` ``[T, 10]``
DROID model space) with ``1 <= T <= chunk_size`` rows, or an ``ActionChunk``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from gymnasium import spaces
from scipy.spatial.transform import Rotation

from cosmos_robotics import geometry
from cosmos_robotics.embodiments.droid_joint import PANDA_JOINT_LOWER, PANDA_JOINT_UPPER
from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.policies.base import ActionChunk

ACTION_TYPES = ("poses", "joints", "model")


@dataclass(frozen=True)
class StepTiming:
    """``info["timing"]`` of a chunk step. Measurements, not state: two timings compare equal (``compare=False``),
    so an env stays deterministic for gymnasium's checker while still reporting how long a step took."""

    latency_s: float = field(compare=False)
    real_time_factor: float = field(compare=False)  # simulated seconds / wall seconds; > 1 is faster than real time

    @staticmethod
    def of(steps: int, fps: float, seconds: float) -> StepTiming:
        return StepTiming(seconds, steps / fps / seconds)
WORKSPACE = 2.0  # m: flange targets beyond this distance from the base on any axis are not a pick-and-place


def chunk_space(action_type: str, chunk_size: int) -> spaces.Box:
    if action_type == "poses":
        low = np.array([-WORKSPACE] * 3 + [-np.pi] * 3 + [0.0])
        high = np.array([WORKSPACE] * 3 + [np.pi] * 3 + [1.0])
    elif action_type == "joints":
        low, high = np.append(PANDA_JOINT_LOWER, 0.0), np.append(PANDA_JOINT_UPPER, 1.0)
    else:
        low, high = -np.ones(10), np.ones(10)
    return spaces.Box(np.tile(low, (chunk_size, 1)).astype(np.float32),
                      np.tile(high, (chunk_size, 1)).astype(np.float32), dtype=np.float32)


def pose_rows_to_chunk(rows: np.ndarray, embodiment: str, fps: float) -> ActionChunk:
    """``[T, 7]`` xyz + rotation vector + gripper -> an ``ActionChunk`` of ``[T, 4, 4]`` poses."""
    poses = geometry.pose_matrix(Rotation.from_rotvec(rows[:, 3:6]).as_matrix(), rows[:, :3])
    return ActionChunk(embodiment, fps, rows[:, 6].copy(), poses=poses)


def as_action_chunk(action, action_type: str, chunk_size: int, embodiment: str, fps: float,
                    decode_model: Callable[[np.ndarray], ActionChunk]) -> ActionChunk:
    """Validate an env action and return it as an ``ActionChunk`` (``decode_model`` reads model-space chunks).

    An ``ActionChunk`` is executed by its targets, except in a ``model`` env when it carries its model-space
    chunk: then that chunk is decoded from the env's current pose, as a raw model-space array would be.
    """
    if isinstance(action, ActionChunk):
        if not 1 <= len(action) <= chunk_size:
            raise ActionContractError(embodiment, "action chunk", f"1..{chunk_size} rows", str(len(action)))
        if action_type == "model" and action.model_actions is not None:
            return decode_model(np.asarray(action.model_actions, np.float64))
        return action
    space = chunk_space(action_type, chunk_size)
    rows = np.asarray(action)
    width = space.shape[1]
    if rows.dtype.kind not in "fiu" or rows.ndim != 2 or rows.shape[1] != width or not 1 <= len(rows) <= chunk_size:
        raise ActionContractError(embodiment, f"{action_type} chunk", f"a real array [T, {width}], 1 <= T <= "
                                  f"{chunk_size}", f"{rows.dtype} {rows.shape}")
    rows = rows.astype(np.float64)
    if not np.isfinite(rows).all():
        raise ActionContractError(embodiment, f"{action_type} chunk", "finite values", "NaN/inf")
    low, high = space.low[: len(rows)], space.high[: len(rows)]
    bad = np.argwhere((rows < low - 1e-6) | (rows > high + 1e-6))
    if len(bad):
        row, col = bad[0]
        raise ActionContractError(embodiment, f"{action_type} chunk [{row}, {col}]",
                                  f"[{low[row, col]:.4f}, {high[row, col]:.4f}]", f"{rows[row, col]:.4f}")
    if action_type == "poses":
        return pose_rows_to_chunk(rows, embodiment, fps)
    if action_type == "joints":
        return ActionChunk(embodiment, fps, rows[:, 7].copy(), joint_positions=rows[:, :7].copy())
    return decode_model(rows)
