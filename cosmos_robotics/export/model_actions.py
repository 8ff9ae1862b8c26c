"""Per-frame Cosmos 3 model-space actions stored beside the robot's actions (feature ``action.cosmos3``).

Storage decision: row ``t`` of ``action.cosmos3`` is the model-space encoding of the transition from frame ``t``
to frame ``t+1`` (pose delta of the end effector + the gripper command of step ``t``), so any 16-row slice starting
anywhere is exactly the chunk ``encode_window`` gives for those 17 states: DROID's delta convention is framewise
(each row depends only on poses ``t``, ``t+1`` and gripper ``t``). The episode is still encoded window by window,
16 steps at a time, to use the adapter exactly as a model call would.

Values are stored *unclamped*: the cookbook clamps normalized DROID actions to [-1, 1] before feeding the model,
but clamping is lossy and would hide how far a policy strays outside the training distribution. Consumers that
feed the model clamp themselves (``get_adapter("droid")`` does).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from cosmos_robotics.embodiments.droid import make_droid_adapter
from cosmos_robotics.errors import EpisodeRecordError

DROID_MODEL_ACTION_NAMES = ("dx", "dy", "dz", "r00", "r10", "r20", "r01", "r11", "r21", "gripper_open")


@cache
def _droid():
    return make_droid_adapter(clamp=False)


def droid_model_actions(cartesian: np.ndarray, gripper: np.ndarray) -> np.ndarray:
    """``[T+1, 6]`` flange xyz + Euler xyz states (the last one after the final action) and ``[T]`` gripper
    commands (0 open .. 1 closed) -> ``[T, 10]`` float32 normalized DROID actions."""
    if cartesian.ndim != 2 or gripper.ndim != 1 or len(cartesian) != len(gripper) + 1:
        raise EpisodeRecordError(
            "DROID model-action inputs", "cartesian [T+1, 6] and gripper [T]",
            f"cartesian {list(cartesian.shape)}, gripper {list(gripper.shape)}",
        )
    adapter = _droid()
    chunk = adapter.preset.chunk_size
    rows = [
        adapter.encode_window(cartesian[start:start + chunk + 1], gripper[start:start + chunk])
        for start in range(0, len(gripper), chunk)
    ]
    return np.concatenate(rows).astype(np.float32)
