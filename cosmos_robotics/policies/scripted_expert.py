"""Waypoint expert for ``SimDroid-v0`` with tunable flaws, so one script yields a ladder of policy qualities.

The expert is closed-loop on *privileged* simulator state: every step it reads ``info["privileged"]`` (cube pose,
plate position, tool-centre-point pose; see ``SimDroidEnv.privileged_state``) and moves the tool centre point
(the 2F-85 pinch point) toward the current waypoint of the phase sequence

    align (hover over the cube, fingers square to its faces) -> descend -> grasp -> lift -> carry (hover over the
    plate) -> lower -> release -> retreat -> hold.

Flaws that grade its quality:

* ``noise`` -- std (m) of Gaussian noise added to each position-delta component, and (rad) to each rotation-delta
  component, every step; the noisy action is then clipped to the env's action bounds by the policy itself.
* ``slip`` -- probability per episode that the grasp slips: a few steps into the lift the gripper opens for three
  steps, the cube drops, and the expert carries on with its script without noticing.
* ``miss`` -- probability per episode that the grasp is aimed beside the cube: the whole approach and grasp target
  a point ``MISS_OFFSET`` (1.5-4.5 cm, random horizontal direction) off the cube centre, so the fingers close on
  its edge or on nothing, and the expert carries on without noticing. These near-misses are the failures learned
  policies make (the other flaws never close the gripper beside the cube), so a world model trained without them
  imagines every grasp as held.

Step sizes stay inside DROID's per-step motion range (~1.5 cm, ~0.05 rad at 15 Hz) so recorded windows fall inside
the Cosmos 3 DROID normalization statistics.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics.sim.env import ACTION_HIGH, ACTION_LOW, CUBE_HALF, PLATE_TOP

HOVER_Z = 0.10  # tool-centre-point height (m) above the table for free-space moves
GRASP_DEPTH = 0.005  # tool centre this far below the cube centre when closing
PLACE_CLEARANCE = 0.006  # cube bottom this far above the plate when releasing
FREE_STEP = 0.025  # max commanded translation per step (m) in free space
FINE_STEP = 0.015  # ... near the cube or plate
ROT_STEP = 0.06  # max commanded rotation per step (rad)
REACHED = 0.015  # position tolerance (m) to leave a move phase
ALIGNED = 0.08  # yaw tolerance (rad) to start descending
CENTRED = 0.01  # horizontal tolerance (m) over the cube while descending
GRASP_STEPS = 6
RELEASE_STEPS = 5
SLIP_OPEN_STEPS = 3
MISS_OFFSET = (0.015, 0.045)  # range (m) of the grasp aim's horizontal offset in a missed grasp


class Phase(IntEnum):
    ALIGN = 0
    DESCEND = 1
    GRASP = 2
    LIFT = 3
    CARRY = 4
    LOWER = 5
    RELEASE = 6
    RETREAT = 7
    HOLD = 8


def _toward(current: np.ndarray, target: np.ndarray, max_step: float) -> np.ndarray:
    delta = target - current
    norm = np.linalg.norm(delta)
    return delta if norm <= max_step else delta * (max_step / norm)


def _wrap_quarter_turn(angle: float) -> float:
    """Map an angle to [-pi/4, pi/4): a cube looks the same after every quarter turn about its vertical axis."""
    return (angle + np.pi / 4) % (np.pi / 2) - np.pi / 4


class ScriptedExpert:
    """Pick-and-place waypoint expert; ``act`` needs the env's ``info`` (privileged state)."""

    def __init__(self, noise: float = 0.0, slip: float = 0.0, miss: float = 0.0, seed: int | None = None):
        if noise < 0:
            raise ValueError(f"noise must be >= 0, got {noise}")
        for name, value in (("slip", slip), ("miss", miss)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.noise, self.slip, self.miss = float(noise), float(slip), float(miss)
        params = [f"{k}={v:g}" for k, v in (("noise", self.noise), ("slip", self.slip), ("miss", self.miss)) if v]
        self.name = "expert" + (":" + ",".join(params) if params else "")
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        self._phase = Phase.ALIGN
        self._phase_steps = 0
        self._carried = 0  # steps spent lifting and carrying, for timing the slip
        self._slip_at = int(self._rng.integers(2, 5)) if self._rng.random() < self.slip else None
        self._aim = np.zeros(3)  # offset of the grasp aim from the cube centre
        if self.miss and self._rng.random() < self.miss:
            angle, distance = self._rng.uniform(0.0, 2 * np.pi), self._rng.uniform(*MISS_OFFSET)
            self._aim[:2] = distance * np.cos(angle), distance * np.sin(angle)

    @property
    def phase(self) -> Phase:
        return self._phase

    def act(self, observation: dict, info: dict) -> np.ndarray:
        p = info["privileged"]
        tcp, cube, plate = p["tcp_pos"], p["cube_pos"], p["plate_pos"]
        aim = cube + self._aim if self._phase <= Phase.GRASP else cube
        cube_x = Rotation.from_quat(p["cube_quat"], scalar_first=True).as_matrix()[:, 0]
        cube_yaw = np.arctan2(cube_x[1], cube_x[0])
        finger = p["tcp_mat"][:, 1]
        yaw_error = _wrap_quarter_turn(cube_yaw - np.arctan2(finger[1], finger[0]))

        target, step, gripper = tcp, FREE_STEP, 0.0
        if self._phase == Phase.ALIGN:
            target = np.array([aim[0], aim[1], HOVER_Z])
            if np.linalg.norm((target - tcp)[:2]) < REACHED and abs(target[2] - tcp[2]) < 2 * REACHED \
                    and abs(yaw_error) < ALIGNED:
                self._advance(Phase.DESCEND)
        if self._phase == Phase.DESCEND:
            # Go down only while centred over the cube; otherwise re-centre at the current height first.
            centred = np.linalg.norm((aim - tcp)[:2]) < CENTRED
            target = np.array([aim[0], aim[1], aim[2] - GRASP_DEPTH if centred else tcp[2]])
            step = FINE_STEP
            if centred and tcp[2] - target[2] < REACHED / 2:
                self._advance(Phase.GRASP)
        if self._phase == Phase.GRASP:
            target, step, gripper = np.array([aim[0], aim[1], aim[2] - GRASP_DEPTH]), FINE_STEP, 1.0
            if self._phase_steps >= GRASP_STEPS:
                self._advance(Phase.LIFT)
        if self._phase == Phase.LIFT:
            target, step, gripper = np.array([tcp[0], tcp[1], HOVER_Z]), FINE_STEP, 1.0
            if tcp[2] > HOVER_Z - REACHED:
                self._advance(Phase.CARRY)
        if self._phase == Phase.CARRY:
            target, gripper = np.array([plate[0], plate[1], HOVER_Z]), 1.0
            if np.linalg.norm((target - tcp)[:2]) < REACHED:
                self._advance(Phase.LOWER)
        if self._phase == Phase.LOWER:
            # The cube hangs where the fingers hold it: lower the tool by how far the cube is above its goal.
            cube_goal = PLATE_TOP + CUBE_HALF + PLACE_CLEARANCE
            target, step, gripper = np.array([plate[0], plate[1], tcp[2] - (cube[2] - cube_goal)]), FINE_STEP, 1.0
            if cube[2] - cube_goal < REACHED / 2:
                self._advance(Phase.RELEASE)
        if self._phase == Phase.RELEASE:
            if self._phase_steps >= RELEASE_STEPS:
                self._advance(Phase.RETREAT)
        if self._phase == Phase.RETREAT:
            target = np.array([tcp[0], tcp[1], HOVER_Z])
            if tcp[2] > HOVER_Z - REACHED:
                self._advance(Phase.HOLD)

        if self._phase in (Phase.LIFT, Phase.CARRY):
            self._carried += 1
            if self._slip_at is not None and self._slip_at <= self._carried < self._slip_at + SLIP_OPEN_STEPS:
                gripper = 0.0
        self._phase_steps += 1

        # Keep the hand pointing straight down; turn it to the cube's faces until the fingers close.
        finger_yaw = np.arctan2(finger[1], finger[0]) + (yaw_error if self._phase <= Phase.GRASP else 0.0)
        wanted = np.array([[-np.sin(finger_yaw), np.cos(finger_yaw), 0.0],
                           [np.cos(finger_yaw), np.sin(finger_yaw), 0.0],
                           [0.0, 0.0, -1.0]]).T  # columns: x, y (finger axis), z (approach)
        rotation = Rotation.from_matrix(wanted @ p["tcp_mat"].T).as_rotvec()
        rotation = _toward(np.zeros(3), rotation, ROT_STEP)
        action = np.concatenate([_toward(tcp, target, step), rotation, [gripper]])
        if self.noise:
            action[:6] += self._rng.normal(0.0, self.noise, 6)
        return np.clip(action, ACTION_LOW, ACTION_HIGH).astype(np.float32)

    def _advance(self, phase: Phase) -> None:
        self._phase, self._phase_steps = phase, 0
