"""UMI hand-held gripper (``umi``, 10D): camera TCP trajectory + gripper width in meters.

The model sees end-effector poses ``T_cam @ T_eef_in_cam`` and the *next* frame's width as the gripper action,
quantile-normalized with the first 10 dims (right arm) of the released bimanual stats, without clamp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosmos_robotics import geometry
from cosmos_robotics.embodiments.base import PoseAdapter, Preset
from cosmos_robotics.embodiments.domains import domain_stats_file
from cosmos_robotics.embodiments.normalization import QuantileNormalizer, load_stats
from cosmos_robotics.errors import ActionContractError

# Standard UMI rig: end effector 8.6 cm below (y) and 9 cm ahead (z) of the camera; touch-in-the-wild/FastUMI: z=0.056.
UMI_EEF_IN_CAMERA = geometry.pose_matrix(np.eye(3), np.array([0.0, 0.086, 0.09]))
UMI_MAX_WIDTH_M = 0.2


@dataclass(frozen=True)
class UmiAdapter(PoseAdapter):
    eef_in_camera: np.ndarray | None = None

    def to_model_frame(self, poses: np.ndarray) -> np.ndarray:
        return self.as_array(poses, "poses", (None, 4, 4)) @ self.eef_in_camera

    def from_model_frame(self, poses: np.ndarray) -> np.ndarray:
        return self.as_array(poses, "poses", (None, 4, 4)) @ geometry.invert_pose(self.eef_in_camera)

    def gripper_to_model(self, gripper: np.ndarray) -> np.ndarray:
        return self.check_range(gripper, "gripper width (m)", 0.0, UMI_MAX_WIDTH_M)

    def gripper_from_model(self, gripper: np.ndarray) -> np.ndarray:
        return self.check_range(gripper, "decoded gripper width (m)", 0.0, UMI_MAX_WIDTH_M, tol=0.01)

    def encode_trajectory(self, camera_xyz_wxyz, gripper_width) -> np.ndarray:
        """``[T+1, 7]`` camera poses (xyz, quat wxyz) + ``[T+1]`` widths -> ``[T, 10]`` model space."""
        traj = self.as_array(camera_xyz_wxyz, "camera trajectory xyz+wxyz", (None, 7))
        width = self.as_array(gripper_width, "gripper width", (len(traj),))
        norms = np.linalg.norm(traj[:, 3:], axis=1)
        if (norms < 1e-6).any():
            raise ActionContractError(self.name, "camera trajectory quaternion", "non-zero quaternions (wxyz)",
                                      f"norm {norms.min():.3g} at row {int(norms.argmin())}")
        poses = geometry.pose_matrix(geometry.quat_wxyz_to_matrix(traj[:, 3:]), traj[:, :3])
        return self.encode_poses(poses, width[1:])

    def encode_columns(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        return self.encode_trajectory(*self.check_columns(columns).values())


def make_umi_adapter(eef_in_camera: np.ndarray = UMI_EEF_IN_CAMERA) -> UmiAdapter:
    q01, q99 = load_stats(domain_stats_file("umi"), slice(0, 10))
    return UmiAdapter(
        name="umi",
        domain_name="umi",
        action_dim=10,
        preset=Preset(chunk_size=16, fps=20, resolution_tier=256, view_point="ego_view", prompt="mouse arrangement"),
        normalizer=QuantileNormalizer(q01, q99, clamp=False),
        frame="UMI camera (TCP) poses, meters",
        lerobot_columns=(
            "observation.state.right_main_camera_trajectory_xyz_wxyz", "observation.state.right_gripper_width_m",
        ),
        description="hand-held gripper camera [dt, rot6d, width(m)] of the end effector, quantile-normalized",
        eef_in_camera=eef_in_camera,
    )
