"""Autonomous vehicle (``av``): ego camera-to-world poses in the OpenCV convention, 9D, no gripper.

AV has no quantile stats: Cosmos 3 was trained on framewise deltas whose translation is multiplied by 1.35.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosmos_robotics import geometry
from cosmos_robotics.embodiments.base import PoseAdapter, Preset

AV_TRANSLATION_SCALE = 1.35
AV_PROMPT = "You are an autonomous vehicle planning system."
# Car frame (x forward, y left, z up) -> OpenCV camera frame (x right, y down, z forward).
CAR_TO_OPENCV = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


@dataclass(frozen=True)
class AvAdapter(PoseAdapter):
    def poses_from_car_frame(self, car_poses) -> np.ndarray:
        """Ego poses given in the car convention -> OpenCV camera-to-world poses the model expects."""
        return geometry.right_multiply_rotation(self.validate_poses(car_poses), CAR_TO_OPENCV.T)


def make_av_adapter() -> AvAdapter:
    return AvAdapter(
        name="av",
        domain_name="av",
        action_dim=9,
        preset=Preset(chunk_size=60, fps=10, resolution_tier=480, view_point="ego_view", prompt=AV_PROMPT),
        translation_scale=AV_TRANSLATION_SCALE,
        has_gripper=False,
        frame="OpenCV camera-to-world (x right, y down, z forward), meters",
        plot_axes=(0, 2, 1),
        description="ego camera poses [dt*1.35, rot6d], 10 Hz, 61 frames <-> 60 actions",
    )
