"""A robot behind ROS 2: SimDroid-v0's physics, clocked in real time, on the same topics as a real arm.

Each control tick (15 Hz, SimDroid's rate) first publishes what the last tick produced -- the three camera frames,
joint state, flange pose and an episode status (seed, step, success), all stamped with the tick's time, which is
the time they depict -- then executes the trajectory point due in the coming period: the first point whose time
(``header.stamp``, zero = receipt, + ``time_from_start``) lies after the tick. Points already in the past are
skipped and a finished trajectory holds its last point, as a JointTrajectoryController does. Joint chunks run
through SimDroid's joint mode (``control="joints"``), pose chunks through its pose mode (``control="poses"``);
a trajectory of the other kind is refused (counted in ``refused``). Joint states are also published at 100 Hz
(sample-and-hold between physics steps). A reset request (seed) starts a new episode; after
``episode_length`` steps the arm holds still until the next reset.

``synchronous=True`` makes it a simulator in lockstep with its controller: physics advances only while a
trajectory has points left, one point per tick, none skipped, so the time a policy takes to compute does not pass
for the robot. That isolates the bridge from the machine's speed when its success is compared with driving
the simulator directly; the default (real time) is what a robot does.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics.envs.sim_chunk import SimChunkEnv
from cosmos_robotics.geometry import pose_matrix
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.ros2 import messages as m
from cosmos_robotics.ros2.config import BridgeConfig
from cosmos_robotics.ros2.transport import Transport, now_ns

JOINT_STATE_HZ = 100.0
CONTROLS = {"joints": m.JOINT_TRAJECTORY, "poses": m.MULTI_DOF_TRAJECTORY}


@dataclass
class _Trajectory:
    start_ns: int
    times_ns: np.ndarray  # absolute time of each point
    chunk: ActionChunk


class RobotEmulator:
    """SimDroid-v0 behind ``transport``; call ``start()`` for the real-time clocks or ``tick(now)`` by hand."""

    def __init__(self, transport: Transport, config: BridgeConfig, control: str = "poses", image_size: int = 128,
                 episode_length: int | None = None, synchronous: bool = False):
        if control not in CONTROLS:
            raise ValueError(f"control must be one of {sorted(CONTROLS)}, got {control!r}")
        self.transport, self.config, self.control = transport, config, control
        m.typestore()
        self.env = SimChunkEnv(chunk_size=1, action_type=control, image_size=(image_size, image_size),
                               episode_length=episode_length or config.episode_length)
        self.fps = float(self.env.metadata["render_fps"])
        self._period_ns = round(1e9 / self.fps)
        self.synchronous = synchronous
        self._next = 0
        self.refused = 0
        self.ticks = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        t, cmd, sensors = config.topics, config.command_qos, config.sensor_qos
        image_type = m.IMAGE if config.image_transport == "raw" else m.COMPRESSED_IMAGE
        self._send_images = {v: transport.publisher(topic, image_type, sensors) for v, topic in t.images.items()}
        self._send_joints = transport.publisher(t.joint_states, m.JOINT_STATE, cmd)
        self._send_ee = transport.publisher(t.ee_pose, m.POSE_STAMPED, cmd)
        self._send_status = transport.publisher(t.episode, m.STRING, cmd)
        transport.subscribe(t.joint_trajectory, m.JOINT_TRAJECTORY, cmd, lambda d: self._on_trajectory(d, "joints"))
        transport.subscribe(t.pose_trajectory, m.MULTI_DOF_TRAJECTORY, cmd, lambda d: self._on_trajectory(d, "poses"))
        transport.subscribe(t.reset, m.STRING, cmd, self._on_reset)
        self._reset_to: int | None = 0
        self._obs: dict | None = None

    # -- episode -----------------------------------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        """Start a new episode at the next tick (MuJoCo's GL context belongs to the clock's thread)."""
        with self._lock:
            self._reset_to = int(seed)

    def _apply_reset(self) -> None:
        self._obs, info = self.env.reset(seed=self._reset_to)
        self.seed, self.step, self.success = self._reset_to, 0, bool(info["is_success"])
        self._reset_to = None
        self._trajectory: _Trajectory | None = None
        self._hold = self._hold_chunk(self._obs["observation.state"].astype(np.float64))

    def _hold_chunk(self, state: np.ndarray) -> ActionChunk:
        """Where the arm stays without a trajectory: the measured joints or flange pose."""
        if self.control == "joints":
            return ActionChunk("droid", self.fps, state[6:7], joint_positions=state[None, 7:14])
        return ActionChunk("droid", self.fps, state[6:7], poses=_flange_pose(state)[None])

    def _on_reset(self, data: bytes) -> None:
        self.reset(json.loads(m.deserialize(data, m.STRING).data)["seed"])

    def _on_trajectory(self, data: bytes, kind: str) -> None:
        if kind != self.control:
            self.refused += 1
            return
        msg = m.deserialize(data, CONTROLS[kind])
        cfg = self.config
        chunk = m.trajectory_chunk(msg, list(cfg.joint_names), cfg.gripper_joint, cfg.ee_joint, "droid", self.fps)
        start = m.stamp_ns(msg) or now_ns()
        times = start + np.round(m.trajectory_times(msg) * 1e9).astype(np.int64)
        with self._lock:
            self._trajectory, self._next = _Trajectory(start, times, chunk), 0  # replaces the previous one, as JTC does

    # -- clock -------------------------------------------------------------------------------------------------
    def tick(self, now: int) -> None:
        """Publish the state reached by the last step (it depicts ``now``), then run the point due next."""
        with self._lock:
            if self._reset_to is not None:
                self._apply_reset()
                now = max(now, now_ns())  # the reset took time: its state depicts the moment it is ready
            self._publish_state(now)
            target = self._due(now)
            if self.step >= self.env.episode_length or target is None:
                return
            self._obs, _, _, _, info = self.env.step(target)
            self.step += 1
            self.success = bool(info["is_success"])
            self.ticks += 1

    def _due(self, now: int) -> ActionChunk | None:
        """Real time: the first point after ``now`` (past ones are skipped), else hold the last one.
        Synchronous: the next unexecuted point once it is due within this period, else None (time stands still)."""
        traj = self._trajectory
        if traj is None:
            return None if self.synchronous else self._hold
        if self.synchronous:
            if traj.times_ns[self._next] > now + self._period_ns:
                return None
            row = self._next
        else:
            ahead = np.flatnonzero(traj.times_ns[self._next:] > now)
            row = self._next + int(ahead[0]) if len(ahead) else len(traj.chunk) - 1
        self._next = row + 1
        self._hold = _row(traj.chunk, row)
        if self._next == len(traj.chunk):
            self._trajectory = None
        return self._hold

    @property
    def pending(self) -> int:
        return 0 if self._trajectory is None else len(self._trajectory.chunk) - self._next

    def _publish_state(self, now: int) -> None:
        cfg = self.config
        for view, send in self._send_images.items():
            frame = self._obs[f"observation.images.{view}"]
            encode = m.image if cfg.image_transport == "raw" else m.compressed_image
            send(m.serialize(encode(frame, now, cfg.camera_frames[view])))
        self._publish_joints(now)
        pose = _flange_pose(self._obs["observation.state"].astype(np.float64))
        self._send_ee(m.serialize(m.pose_stamped(pose, now, cfg.base_frame)))
        status = {"seed": self.seed, "step": self.step, "success": self.success, "stamp_ns": now,
                  "pending": self.pending}
        self._send_status(m.serialize(m.json_text(status)))

    def _publish_joints(self, now: int) -> None:
        state = self._obs["observation.state"]
        positions = np.append(state[7:14], state[6]).astype(np.float64)
        self._send_joints(m.serialize(m.joint_state([*self.config.joint_names, self.config.gripper_joint],
                                                    positions, now, self.config.base_frame)))

    def start(self) -> None:
        """Real-time clocks: control ticks at 15 Hz and joint states at 100 Hz, each on an absolute schedule."""

        def clock(rate: float, action) -> None:
            period = int(1e9 / rate)
            due = now_ns()
            while not self._stop.is_set():
                action(due)
                due += period
                late = now_ns() - due
                if late > period:  # overran a whole period: skip ahead instead of bursting to catch up
                    due += (late // period) * period
                self._stop.wait(max(0.0, (due - now_ns()) / 1e9))

        def joints(now: int) -> None:
            with self._lock:
                if self._obs is not None:  # after the first tick's reset
                    self._publish_joints(now_ns())

        for rate, action in ((self.fps, self.tick), (JOINT_STATE_HZ, joints)):
            thread = threading.Thread(target=clock, args=(rate, action), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the clocks (safe from a signal handler); ``run_forever`` then returns."""
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2.0)
        self.env.close()

    def run_forever(self) -> None:
        self.start()
        try:
            while not self._stop.is_set():
                time.sleep(0.5)
        finally:
            self.close()


def _row(chunk: ActionChunk, row: int) -> ActionChunk:
    cut = slice(row, row + 1)
    return ActionChunk(chunk.embodiment, chunk.fps, chunk.gripper[cut],
                       poses=None if chunk.poses is None else chunk.poses[cut],
                       joint_positions=None if chunk.joint_positions is None else chunk.joint_positions[cut])


def _flange_pose(state: np.ndarray) -> np.ndarray:
    """``observation.state`` (xyz + extrinsic xyz Euler first) -> the flange pose as 4x4."""
    return pose_matrix(Rotation.from_euler("xyz", state[3:6]).as_matrix(), state[:3])
