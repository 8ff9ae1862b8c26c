"""Operational-space torque controller: the layer that turns 15 Hz pose targets into 510 Hz joint torques.

Why torque control instead of MuJoCo position actuators: DROID's Franka tracks Cartesian targets with an impedance
controller, so the end effector moves smoothly, yields on contact and never "teleports"; a critically damped
task-space PD in the dynamically consistent (mass-weighted) frame reproduces that behaviour, and a nullspace term
holds the redundant 7th degree of freedom near a home posture so the elbow does not drift.
"""

from __future__ import annotations

import mujoco
import numpy as np


class OperationalSpaceController:
    """Joint torques that drive a site to a world-frame pose target (position + wxyz quaternion).

    ``kp_*`` are stiffnesses of a unit-mass task-space system (natural frequency ``sqrt(kp)`` rad/s); the damping is
    critical. Gravity, Coriolis and centrifugal forces of the arm are compensated with MuJoCo's ``qfrc_bias``.
    """

    def __init__(self, model: mujoco.MjModel, site: str, joints: tuple[str, ...], home_qpos: np.ndarray,
                 kp_pos: float = 900.0, kp_rot: float = 600.0, kp_null: float = 20.0):
        self.model = model
        self.site_id = model.site(site).id
        self.dofs = np.array([model.joint(j).dofadr[0] for j in joints])
        self.qpos_ids = np.array([model.joint(j).qposadr[0] for j in joints])
        self.home_qpos = np.asarray(home_qpos, dtype=np.float64)
        self.kp = np.array([kp_pos] * 3 + [kp_rot] * 3)
        self.kd = 2.0 * np.sqrt(self.kp)
        self.kp_null, self.kd_null = kp_null, 2.0 * np.sqrt(kp_null)
        self.torque_limit = model.actuator_ctrlrange[: len(joints), 1].copy()
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))
        self._mass = np.zeros((model.nv, model.nv))
        self._quat = np.zeros(4)
        self._err_rot = np.zeros(3)

    def torques(self, data: mujoco.MjData, target_pos: np.ndarray, target_quat: np.ndarray) -> np.ndarray:
        m, dofs = self.model, self.dofs
        mujoco.mj_jacSite(m, data, self._jacp, self._jacr, self.site_id)
        jac = np.vstack([self._jacp[:, dofs], self._jacr[:, dofs]])
        mujoco.mj_fullM(m, self._mass, data.qM)
        mass = self._mass[np.ix_(dofs, dofs)]
        mass_inv = np.linalg.inv(mass)
        task_mass = np.linalg.inv(jac @ mass_inv @ jac.T + 1e-6 * np.eye(6))

        mujoco.mju_mat2Quat(self._quat, data.site_xmat[self.site_id])
        mujoco.mju_subQuat(self._err_rot, target_quat, self._quat)  # in the site frame
        err = np.concatenate([target_pos - data.site_xpos[self.site_id],
                              data.site_xmat[self.site_id].reshape(3, 3) @ self._err_rot])
        qvel = data.qvel[dofs]
        wrench = task_mass @ (self.kp * err - self.kd * (jac @ qvel))
        tau = jac.T @ wrench

        # Nullspace posture term, projected so it cannot disturb the end effector (dynamically consistent).
        jac_bar = mass_inv @ jac.T @ task_mass
        null = np.eye(len(dofs)) - jac.T @ jac_bar.T
        posture = self.kp_null * (self.home_qpos - data.qpos[self.qpos_ids]) - self.kd_null * qvel
        tau += null @ (mass @ posture)
        tau += data.qfrc_bias[dofs]
        return np.clip(tau, -self.torque_limit, self.torque_limit)
