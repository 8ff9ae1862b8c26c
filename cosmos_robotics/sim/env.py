"""``SimDroidEnv``: a DROID-like pick-and-place task in MuJoCo that gives ground truth on a CPU.

A Franka Panda with a Robotiq 2F-85 picks a cube (random position, yaw within +-45 deg) and places it on a plate
(random position). It runs at DROID's 15 Hz, renders DROID's three cameras and reports the end-effector pose the
way DROID stores ``observation.state.cartesian_position``, so windows of its states encode straight into the
Cosmos 3 DROID 10D action contract (``get_adapter("droid").encode_window``).

Conventions (LeRobot style):

* observation: ``observation.state`` (float32, layout ``STATE_NAMES``) and, per enabled camera,
  ``observation.images.<camera>`` (uint8 HxWx3). ``cameras=()`` gives a render-free, state-only env.
* action (float32, layout ``ACTION_NAMES``): position delta (m) and axis-angle rotation delta (rad) of the
  flange, both in the robot base frame, applied to the *measured* flange pose (no integrator wind-up, the action
  means the same thing in every state), plus the absolute gripper command (0 open .. 1 closed, DROID convention).
  The impedance lags: within one 15 Hz step the flange covers about two thirds of a commanded delta.
  Each of the three rotation components is limited to ``0.25/sqrt(3)`` so that every action inside the Box has a
  rotation norm <= 0.25 rad; ``action_space`` describes exactly the valid actions. Anything outside (or
  non-finite, or of the wrong shape) raises ``ActionContractError``: the env never clamps silently.
* ``control_mode="joint"``: the action (layout ``JOINT_ACTION_NAMES``) is instead 7 absolute Franka joint targets
  (rad, within the Panda joint limits) + the same gripper command: the Cosmos3-Nano-Policy-DROID contract, whose
  32 x 8 chunks (``get_adapter("droid_joint").decode``) are streamed one row per step. A joint impedance controller
  (``JointImpedanceController``) interpolates from the previous target within the step; the same validation rules.
* ``info["is_success"]`` every step: cube resting inside the plate radius and the gripper open.
  ``info["privileged"]`` holds simulator ground truth (cube pose, plate position, tool-centre-point pose) for
  scripted experts and evaluation only; policies that should transfer must not read it.
* episodes truncate after ``episode_length`` steps (100); ``terminate_on_success=False`` by default so recordings
  have a fixed length (set it to True for RL-style early termination).

Deterministic for a seed: same seed -> same states and, on the same Mesa build, the same images.
"""

from __future__ import annotations

import atexit
import os

os.environ.setdefault("MUJOCO_GL", "egl")  # headless CPU/GPU rendering; must precede the mujoco import

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium import spaces  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from cosmos_robotics.embodiments.droid_joint import PANDA_JOINT_LOWER, PANDA_JOINT_UPPER  # noqa: E402
from cosmos_robotics.errors import ActionContractError, SimulatorError  # noqa: E402
from cosmos_robotics.sim.controller import JointImpedanceController, OperationalSpaceController  # noqa: E402

SCENE_XML = Path(__file__).parent / "assets" / "scene.xml"
ENV_NAME = "SimDroid-v0"
FPS = 15
SUBSTEPS = 34  # 15 Hz x 34 = 510 Hz torque control; scene.xml sets timestep = 1/510 s
CAMERAS = ("exterior_1", "exterior_2", "wrist")
ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 8))
HOME_QPOS = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785])

STATE_NAMES = ("ee_x", "ee_y", "ee_z", "ee_rx", "ee_ry", "ee_rz", "gripper",
               *(f"joint_{i}" for i in range(1, 8)))
"""``observation.state`` layout: flange (panda_link8) position in the base frame (m), its orientation as scipy
extrinsic ``"xyz"`` Euler angles (rad) -- DROID's ``cartesian_position`` -- then the gripper position (0 open ..
1 closed) and the 7 arm joint angles (rad)."""
EE_POSE = slice(0, 6)
GRIPPER = 6
JOINTS = slice(7, 14)

ACTION_NAMES = ("dx", "dy", "dz", "drx", "dry", "drz", "gripper")
MAX_POS_DELTA = 0.05
MAX_ROT_NORM = 0.25
ACTION_LOW = np.array([-MAX_POS_DELTA] * 3 + [-MAX_ROT_NORM / np.sqrt(3)] * 3 + [0.0], dtype=np.float32)
ACTION_HIGH = np.array([MAX_POS_DELTA] * 3 + [MAX_ROT_NORM / np.sqrt(3)] * 3 + [1.0], dtype=np.float32)
JOINT_ACTION_NAMES = (*(f"joint_{i}" for i in range(1, 8)), "gripper")
JOINT_ACTION_LOW = np.array([*PANDA_JOINT_LOWER, 0.0], dtype=np.float32)
JOINT_ACTION_HIGH = np.array([*PANDA_JOINT_UPPER, 1.0], dtype=np.float32)
CONTROL_MODES = {"pose": (ACTION_NAMES, ACTION_LOW, ACTION_HIGH),
                 "joint": (JOINT_ACTION_NAMES, JOINT_ACTION_LOW, JOINT_ACTION_HIGH)}

CUBE_HALF = 0.02
PLATE_RADIUS = 0.07
PLATE_TOP = 0.01
DRIVER_CLOSED = 0.8  # 2F-85 driver joint angle (rad) when fully closed
TASK = "Pick up the red cube and place it on the plate."


class SimDroidEnv(gym.Env):
    """Pick a cube, place it on a plate; DROID cameras, DROID end-effector state, 15 Hz delta-pose or joint actions."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": FPS}

    def __init__(self, cameras: tuple[str, ...] | list[str] = CAMERAS, image_size: tuple[int, int] = (128, 128),
                 episode_length: int = 100, terminate_on_success: bool = False, render_mode: str | None = None,
                 control_mode: str = "pose"):
        unknown = sorted(set(cameras) - set(CAMERAS))
        if unknown:
            raise ValueError(f"unknown cameras {unknown}; available: {', '.join(CAMERAS)}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if control_mode not in CONTROL_MODES:
            raise ValueError(f"control_mode must be one of {', '.join(CONTROL_MODES)}, got {control_mode!r}")
        self.control_mode = control_mode
        self.action_names, self._action_low, self._action_high = CONTROL_MODES[control_mode]
        self.cameras = tuple(cameras)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.episode_length = int(episode_length)
        self.terminate_on_success = bool(terminate_on_success)
        self.render_mode = render_mode
        self.task = TASK

        self.model = mujoco.MjModel.from_xml_path(str(SCENE_XML))
        height, width = self.image_size
        self.model.vis.global_.offheight = max(self.model.vis.global_.offheight, height)
        self.model.vis.global_.offwidth = max(self.model.vis.global_.offwidth, width)
        self.data = mujoco.MjData(self.model)
        self.controller = (JointImpedanceController(self.model, ARM_JOINTS) if control_mode == "joint"
                           else OperationalSpaceController(self.model, "flange", ARM_JOINTS, HOME_QPOS))
        self._arm_qpos = np.array([self.model.joint(j).qposadr[0] for j in ARM_JOINTS])
        self._driver_qpos = self.model.joint("right_driver_joint").qposadr[0]
        self._cube_qpos = self.model.joint("cube").qposadr[0]
        self._cube_qvel = self.model.joint("cube").dofadr[0]
        self._plate_mocap = self.model.body("plate").mocapid[0]
        self._base_body = self.model.body("link0").id
        self._flange = self.model.site("flange").id
        self._pinch = self.model.site("pinch").id
        self._gripper_actuator = self.model.actuator("fingers_actuator").id
        self._renderer: mujoco.Renderer | None = None
        self._steps = 0

        self.action_space = spaces.Box(self._action_low, self._action_high, dtype=np.float32)
        joint_range = self.model.jnt_range[[self.model.joint(j).id for j in ARM_JOINTS]]
        state_low = np.concatenate([[-2.0] * 3, [-np.pi] * 3, [0.0], joint_range[:, 0] - 0.1])  # soft limits
        state_high = np.concatenate([[2.0] * 3, [np.pi] * 3, [1.0], joint_range[:, 1] + 0.1])
        obs = {"observation.state": spaces.Box(state_low.astype(np.float32), state_high.astype(np.float32))}
        for cam in self.cameras:
            obs[f"observation.images.{cam}"] = spaces.Box(0, 255, (height, width, 3), np.uint8)
        self.observation_space = spaces.Dict(obs)

    # ----------------------------------------------------------------- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        m, d, rng = self.model, self.data, self.np_random
        mujoco.mj_resetData(m, d)
        d.qpos[self._arm_qpos] = HOME_QPOS
        cube_xy = rng.uniform([0.42, -0.2], [0.62, 0.2])
        while True:  # plate far enough from the cube that the cube never starts on it
            plate_xy = rng.uniform([0.4, -0.25], [0.64, 0.25])
            if np.linalg.norm(plate_xy - cube_xy) > 0.17:
                break
        yaw = rng.uniform(-np.pi / 4, np.pi / 4)
        d.qpos[self._cube_qpos:self._cube_qpos + 3] = [*cube_xy, CUBE_HALF]
        d.qpos[self._cube_qpos + 3:self._cube_qpos + 7] = Rotation.from_euler("z", yaw).as_quat(scalar_first=True)
        d.mocap_pos[self._plate_mocap] = [*plate_xy, PLATE_TOP / 2]
        mujoco.mj_forward(m, d)
        if self.control_mode == "joint":
            self.controller.reset(d.qpos[self._arm_qpos])
        self._steps = 0
        return self._observation(), self._info()

    def step(self, action):
        action = self._validate(action)
        d = self.data
        d.ctrl[self._gripper_actuator] = 255.0 * float(action[-1])
        if self.control_mode == "joint":
            self.controller.set_target(action[:7], SUBSTEPS)
            for k in range(SUBSTEPS):
                d.ctrl[:7] = self.controller.torques(d, k)
                mujoco.mj_step(self.model, d)
        else:
            flange_pos = d.site_xpos[self._flange].copy()
            flange_rot = Rotation.from_matrix(d.site_xmat[self._flange].reshape(3, 3))
            base_rot = Rotation.from_matrix(d.xmat[self._base_body].reshape(3, 3))
            target_pos = flange_pos + base_rot.apply(action[:3])
            target_quat = (base_rot * Rotation.from_rotvec(action[3:6]) * base_rot.inv() * flange_rot).as_quat(
                scalar_first=True)
            for _ in range(SUBSTEPS):
                d.ctrl[:7] = self.controller.torques(d, target_pos, target_quat)
                mujoco.mj_step(self.model, d)
        self._steps += 1
        info = self._info()
        terminated = bool(self.terminate_on_success and info["is_success"])
        truncated = self._steps >= self.episode_length
        return self._observation(), float(info["is_success"]), terminated, truncated, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self._render_camera("exterior_1")

    def close(self):
        if self._renderer is not None:
            atexit.unregister(self._renderer.close)
            self._renderer.close()
            self._renderer = None

    # ----------------------------------------------------------------- state
    def ee_pose(self) -> np.ndarray:
        """Flange (panda_link8) pose in the robot base frame: xyz (m) + scipy extrinsic "xyz" Euler (rad)."""
        d = self.data
        base_rot = d.xmat[self._base_body].reshape(3, 3)
        pos = base_rot.T @ (d.site_xpos[self._flange] - d.xpos[self._base_body])
        rot = base_rot.T @ d.site_xmat[self._flange].reshape(3, 3)
        return np.concatenate([pos, Rotation.from_matrix(rot).as_euler("xyz")])

    def gripper_position(self) -> float:
        """Measured gripper closure, DROID convention: 0 open .. 1 closed."""
        return float(np.clip(self.data.qpos[self._driver_qpos] / DRIVER_CLOSED, 0.0, 1.0))

    def privileged_state(self) -> dict[str, np.ndarray]:
        """Simulator ground truth for scripted experts and evaluation (world frame = robot base frame)."""
        d = self.data
        return {
            "cube_pos": d.qpos[self._cube_qpos:self._cube_qpos + 3].copy(),
            "cube_quat": d.qpos[self._cube_qpos + 3:self._cube_qpos + 7].copy(),  # wxyz
            "plate_pos": d.mocap_pos[self._plate_mocap].copy(),
            "tcp_pos": d.site_xpos[self._pinch].copy(),
            "tcp_mat": d.site_xmat[self._pinch].reshape(3, 3).copy(),  # columns: x, y (finger axis), z (approach)
        }

    def is_success(self) -> bool:
        d = self.data
        cube = d.qpos[self._cube_qpos:self._cube_qpos + 3]
        on_plate = np.linalg.norm(cube[:2] - d.mocap_pos[self._plate_mocap, :2]) < PLATE_RADIUS
        resting = abs(cube[2] - (PLATE_TOP + CUBE_HALF)) < 0.01
        still = np.linalg.norm(d.qvel[self._cube_qvel:self._cube_qvel + 3]) < 0.05
        return bool(on_plate and resting and still and self.gripper_position() < 0.25)

    # ----------------------------------------------------------------- helpers
    def _validate(self, action) -> np.ndarray:
        got = np.asarray(action)
        size = len(self.action_names)
        if got.shape != (size,):
            raise ActionContractError(ENV_NAME, f"action shape ({self.control_mode} control)", f"({size},)",
                                      str(got.shape))
        if not np.issubdtype(got.dtype, np.floating) and not np.issubdtype(got.dtype, np.integer):
            raise ActionContractError(ENV_NAME, "action dtype", "a real number dtype", str(got.dtype))
        got = got.astype(np.float64)
        if not np.all(np.isfinite(got)):
            raise ActionContractError(ENV_NAME, "action", "finite values", np.array2string(got, precision=4))
        tol = 1e-6  # float32 rounding of the Box bounds
        low, high = self._action_low, self._action_high
        bad = np.flatnonzero((got < low - tol) | (got > high + tol))
        if bad.size:
            i = int(bad[0])
            unit = " rad (Franka joint limits)" if self.action_names[i].startswith("joint") else ""
            raise ActionContractError(ENV_NAME, f"action[{i}] ({self.action_names[i]})",
                                      f"[{low[i]:.4f}, {high[i]:.4f}]{unit}", f"{got[i]:.4f}")
        return got

    def _observation(self) -> dict[str, np.ndarray]:
        state = np.concatenate([self.ee_pose(), [self.gripper_position()], self.data.qpos[self._arm_qpos]])
        obs = {"observation.state": state.astype(np.float32)}
        for cam in self.cameras:
            obs[f"observation.images.{cam}"] = self._render_camera(cam)
        return obs

    def _info(self) -> dict[str, Any]:
        return {"is_success": self.is_success(), "privileged": self.privileged_state()}

    def _render_camera(self, camera: str) -> np.ndarray:
        if self._renderer is None:
            height, width = self.image_size
            try:
                self._renderer = mujoco.Renderer(self.model, height, width)  # quality set in scene.xml
            except mujoco.FatalError as exc:
                raise SimulatorError(
                    f"MuJoCo could not create an OpenGL context (MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}): {exc}. "
                    "Headless rendering needs MUJOCO_GL=egl (or osmesa) set before mujoco is first imported; "
                    "or pass cameras=() for a state-only env"
                ) from None
            # Envs kept alive until interpreter exit (worker caches) must free the EGL context before mujoco's
            # own atexit hook tears EGL down (registered when the first context is made, so ours runs first).
            atexit.register(self._renderer.close)
        self._renderer.update_scene(self.data, camera=camera)
        flags = self._renderer.scene.flags
        flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        return self._renderer.render().copy()
