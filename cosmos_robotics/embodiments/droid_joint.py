"""Cosmos3-Nano-Policy-DROID contract (``droid_lerobot``, 8D absolute joints): a policy, not a pose-delta model.

Row 0 of the chunk is the robot state ``[q1..q7, 1 - gripper]`` (clean, conditioning); the model returns 32 rows of
absolute joint targets (rad) + gripper in the flipped convention, which we flip back to DROID's 0 = open .. 1 = closed.
No normalization (raw radians). Diffusers 0.42.1 cannot run this contract (no state row); servers can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosmos_robotics.embodiments.base import ActionMode, EmbodimentAdapter, Preset, RobotCommand
from cosmos_robotics.errors import ActionContractError

# Franka Panda joint limits (rad), from the robot's datasheet.
PANDA_JOINT_LOWER = np.array([-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973])
PANDA_JOINT_UPPER = np.array([2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973])
JOINT_LIMIT_TOLERANCE = 0.05


@dataclass(frozen=True)
class DroidJointAdapter(EmbodimentAdapter):
    def check_joints(self, joints, what: str) -> np.ndarray:
        """``[7]`` or ``[N, 7]`` joint angles within the Panda limits (+ tolerance); the error names joint, row, value."""
        joints = self.as_array(joints, what, None)
        if joints.ndim not in (1, 2) or joints.shape[-1] != 7:
            raise ActionContractError(self.name, what, "shape [7] or [N, 7]", f"shape {list(joints.shape)}")
        low, high = PANDA_JOINT_LOWER - JOINT_LIMIT_TOLERANCE, PANDA_JOINT_UPPER + JOINT_LIMIT_TOLERANCE
        flat = joints.reshape(-1, 7)
        bad = (flat < low) | (flat > high)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            where = f" (row {row})" if joints.ndim == 2 else ""
            raise ActionContractError(
                self.name, what, f"Franka joint {col + 1} within [{low[col]:.3f}, {high[col]:.3f}] rad",
                f"{flat[row, col]:.4f}{where}",
            )
        return joints

    def encode_state(self, joint_position, gripper_position) -> np.ndarray:
        """Robot state -> the ``[8]`` conditioning row ``[q(7), 1 - gripper]``."""
        q = self.check_joints(self.as_array(joint_position, "joint_position", (7,)), "joint_position")
        g = self.as_array(gripper_position, "gripper_position", None)
        if g.size != 1:
            raise ActionContractError(self.name, "gripper_position", "one value", f"shape {list(g.shape)}")
        g = self.check_range(g.reshape(1), "gripper_position (0 open .. 1 closed)", 0.0, 1.0)
        return np.concatenate([q, 1.0 - g])

    def decode(self, model_actions, initial_pose=None) -> RobotCommand:
        """``[T, 8]`` (``T`` <= the preset chunk) -> joint targets ``[T, 7]`` + gripper ``[T]`` (0 open .. 1 closed)."""
        if initial_pose is not None:
            raise ActionContractError(self.name, "initial_pose", "None (targets are absolute joints)", "a pose")
        actions = self.validate_chunk(model_actions)
        joints = self.check_joints(actions[:, :7], "decoded joint targets")
        gripper = 1.0 - self.check_range(actions[:, 7], "decoded gripper (model: 1 open)", 0.0, 1.0, tol=0.05)
        return RobotCommand(self.name, "Franka joint space (rad)", gripper=gripper, joint_positions=joints)


def make_droid_joint_adapter() -> DroidJointAdapter:
    return DroidJointAdapter(
        name="droid_joint",
        domain_name="droid_lerobot",
        action_dim=8,
        modes=(ActionMode.POLICY,),
        preset=Preset(
            chunk_size=32, fps=15, resolution_tier=480, view_point="concat_view", prompt="",
            num_inference_steps=4, guidance_scale=3.0, flow_shift=5.0,
        ),
        description="Nano-Policy-DROID: state row + 32 absolute joint targets [q(7), gripper], raw radians",
    )
