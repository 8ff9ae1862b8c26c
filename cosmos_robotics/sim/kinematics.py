"""Forward and inverse kinematics of the simulator's Franka arm (flange = panda_link8, in the robot base frame).

What turns a joint-space robot state into the 14-D ``observation.state`` that pose-space policies read
(``cartesian``), and a chunk of flange targets into the absolute joint targets of the Cosmos3-Nano-Policy-DROID
contract (``solve``): damped least squares on MuJoCo's site Jacobian of the same model ``SimDroid-v0`` runs,
each target started from the previous solution so that a chunk stays on one continuous IK branch.
"""

from __future__ import annotations

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics import geometry
from cosmos_robotics.embodiments.droid_joint import PANDA_JOINT_LOWER, PANDA_JOINT_UPPER
from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.sim.env import ARM_JOINTS, SCENE_XML

DAMPING = 1e-2  # rad: keeps steps bounded near singularities
TOLERANCE = 1e-5  # m / rad: a converged target
MAX_ITERATIONS = 100
MAX_RESIDUAL = 2e-3  # a target the arm cannot reach within 2 mm / 2 mrad is refused, not approximated


class ArmKinematics:
    """FK / IK on a private ``MjData`` of the simulator's model (no contact, no dynamics)."""

    def __init__(self):
        self.model = mujoco.MjModel.from_xml_path(str(SCENE_XML))
        self.data = mujoco.MjData(self.model)
        self._qpos = np.array([self.model.joint(j).qposadr[0] for j in ARM_JOINTS])
        self._dofs = np.array([self.model.joint(j).dofadr[0] for j in ARM_JOINTS])
        self._flange = self.model.site("flange").id
        self._base = self.model.body("link0").id
        self._jac = np.zeros((6, self.model.nv))

    def flange_pose(self, joints: np.ndarray) -> np.ndarray:
        """``[7]`` joint angles -> flange pose ``[4, 4]`` in the robot base frame."""
        d = self.data
        d.qpos[self._qpos] = joints
        mujoco.mj_kinematics(self.model, d)
        base = d.xmat[self._base].reshape(3, 3)
        rotation = base.T @ d.site_xmat[self._flange].reshape(3, 3)
        return geometry.pose_matrix(rotation, base.T @ (d.site_xpos[self._flange] - d.xpos[self._base]))

    def cartesian(self, joints: np.ndarray) -> np.ndarray:
        """``[7]`` joints -> ``[6]`` xyz + extrinsic xyz Euler, ``observation.state``'s layout (``SimDroidEnv.ee_pose``)."""
        pose = self.flange_pose(joints)
        return np.concatenate([pose[:3, 3], Rotation.from_matrix(pose[:3, :3]).as_euler("xyz")])

    def solve(self, targets: np.ndarray, start_joints: np.ndarray) -> np.ndarray:
        """Flange targets ``[T, 4, 4]`` -> joint targets ``[T, 7]`` within the Panda's limits."""
        joints = np.clip(np.asarray(start_joints, np.float64), PANDA_JOINT_LOWER, PANDA_JOINT_UPPER)
        out = []
        for row, target in enumerate(np.asarray(targets, np.float64)):
            joints, residual = self._solve_one(target, joints)
            if residual > MAX_RESIDUAL:
                raise ActionContractError("droid_joint", f"flange target {row} (inverse kinematics)",
                                          f"a pose the Franka reaches within {MAX_RESIDUAL * 1e3:.0f} mm/mrad",
                                          f"residual {residual * 1e3:.1f} mm/mrad")
            out.append(joints)
        return np.asarray(out)

    def _solve_one(self, target: np.ndarray, joints: np.ndarray) -> tuple[np.ndarray, float]:
        d, m = self.data, self.model
        residual = np.inf
        for _ in range(MAX_ITERATIONS):
            pose = self.flange_pose(joints)
            base = d.xmat[self._base].reshape(3, 3)
            error = np.concatenate([target[:3, 3] - pose[:3, 3],
                                    Rotation.from_matrix(target[:3, :3] @ pose[:3, :3].T).as_rotvec()])
            residual = float(np.abs(error).max())
            if residual < TOLERANCE:
                break
            mujoco.mj_comPos(m, d)
            mujoco.mj_jacSite(m, d, self._jac[:3], self._jac[3:], self._flange)
            jac = np.concatenate([base.T @ self._jac[:3, self._dofs], base.T @ self._jac[3:, self._dofs]])
            step = jac.T @ np.linalg.solve(jac @ jac.T + DAMPING**2 * np.eye(6), error)
            joints = np.clip(joints + step, PANDA_JOINT_LOWER, PANDA_JOINT_UPPER)
        return joints, residual
