"""The bridge core (no rclpy): robot observations in, synchronised; action chunks and predicted video out.

* Observation sync: every camera view, the joint state and the flange pose must have messages whose stamps lie
  within ``sync_tolerance_s`` of one camera frame; frames whose set does not are skipped (``stats.skipped``)
  and the bridge waits for the next frame. An observation older than ``max_observation_age_s`` when it is complete is
  stale (``stats.stale``): acting on it would command a robot that has moved on, so it is dropped.
* Commands: joint chunks as ``JointTrajectory``, pose chunks as ``MultiDOFJointTrajectory`` (``messages`` says
  the timing), optionally streamed row by row as ``PoseStamped`` at the chunk's rate (servoing).
* Emergency stop (``std_msgs/Bool`` true): no command leaves the bridge afterwards; the bridge sends one hold
  trajectory (the measured joints / flange pose) at once and stops any stream within one control period.
* Predicted video: frames of a world model's prediction for the chunk, each stamped with the time it depicts.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics.errors import RosBridgeError
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.ros2 import messages as m
from cosmos_robotics.ros2.config import BridgeConfig
from cosmos_robotics.ros2.transport import Transport, now_ns

HISTORY = 32  # messages kept per stream for matching (2 s of 15 Hz images, 0.3 s of 100 Hz joint states)
Predictor = Callable[[dict[str, Any], ActionChunk], np.ndarray]  # observation, chunk -> frames [T + 1, H, W, 3]


@dataclass
class BridgeStats:
    observations: int = 0
    skipped: int = 0  # camera frames waited past: out of sync tolerance, stale, or the robot not done yet
    stale: int = 0
    chunks: int = 0
    refused_after_stop: int = 0
    predicted_frames: int = 0


@dataclass(frozen=True)
class SyncedObservation:
    stamp_ns: int  # the camera frame's stamp: the time the observation depicts
    received_ns: int  # when the set became complete here
    observation: dict[str, Any]  # LeRobot keys + task
    spread_s: float  # max stamp difference inside the set


@dataclass
class EpisodeStatus:
    stamp_ns: int
    seed: int
    step: int
    success: bool
    pending: int  # trajectory points not yet executed


@dataclass
class _Stream:
    msgtype: str
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))  # (stamp_ns, msg)


class Bridge:
    """Subscriptions and publishers of one bridge; thread-safe (transport callbacks run on their own thread)."""

    def __init__(self, transport: Transport, config: BridgeConfig, predictor: Predictor | None = None):
        self.transport, self.config, self.predictor = transport, config, predictor
        m.typestore()
        self.stats = BridgeStats()
        self.stopped = threading.Event()
        self.task = config.instruction
        self.statuses: deque[EpisodeStatus] = deque(maxlen=4096)
        self._cond = threading.Condition()
        topics, image_type = config.topics, (m.IMAGE if config.image_transport == "raw" else m.COMPRESSED_IMAGE)
        self._streams = {f"image:{v}": _Stream(image_type) for v in config.views}
        self._streams["joints"] = _Stream(m.JOINT_STATE)
        self._streams["ee"] = _Stream(m.POSE_STAMPED)
        sources = {f"image:{v}": t for v, t in topics.images.items()} | {"joints": topics.joint_states,
                                                                          "ee": topics.ee_pose}
        for key, topic in sources.items():
            stream = self._streams[key]
            qos = config.sensor_qos if key.startswith("image") else config.command_qos
            transport.subscribe(topic, stream.msgtype, qos, lambda data, k=key: self._on_sensor(k, data))
        transport.subscribe(topics.instruction, m.STRING, config.command_qos, self._on_instruction)
        transport.subscribe(topics.stop, m.BOOL, config.command_qos, self._on_stop)
        if topics.episode:
            transport.subscribe(topics.episode, m.STRING, config.command_qos, self._on_status)
        self._send_joint = transport.publisher(topics.joint_trajectory, m.JOINT_TRAJECTORY, config.command_qos)
        self._send_pose = transport.publisher(topics.pose_trajectory, m.MULTI_DOF_TRAJECTORY, config.command_qos)
        self._send_servo = (transport.publisher(topics.servo_pose, m.POSE_STAMPED, config.command_qos)
                            if topics.servo_pose else None)
        video_type = m.COMPRESSED_IMAGE if config.predicted_compressed else m.IMAGE
        self._send_video = transport.publisher(topics.predicted_video, video_type, config.video_qos)
        self._send_reset = transport.publisher(topics.reset, m.STRING, config.command_qos) if topics.reset else None
        self._streaming: threading.Thread | None = None

    # -- inputs ------------------------------------------------------------------------------------------------
    def _on_sensor(self, key: str, data: bytes) -> None:
        stream = self._streams[key]
        msg = m.deserialize(data, stream.msgtype)
        with self._cond:
            stream.history.append((m.stamp_ns(msg), msg))
            self._cond.notify_all()

    def _on_instruction(self, data: bytes) -> None:
        self.task = m.deserialize(data, m.STRING).data

    def _on_stop(self, data: bytes) -> None:
        if m.deserialize(data, m.BOOL).data and not self.stopped.is_set():
            self.stopped.set()
            self._send_hold()

    def _on_status(self, data: bytes) -> None:
        payload = json.loads(m.deserialize(data, m.STRING).data)
        with self._cond:
            self.statuses.append(EpisodeStatus(int(payload["stamp_ns"]), int(payload["seed"]), int(payload["step"]),
                                               bool(payload["success"]), int(payload["pending"])))
            self._cond.notify_all()

    # -- observation -------------------------------------------------------------------------------------------
    def _match(self, newer_than_ns: int) -> tuple[int, dict[str, Any], float] | None:
        """The newest camera frame (of the first view) newer than ``newer_than_ns`` whose set is in tolerance."""
        tolerance = int(self.config.sync_tolerance_s * 1e9)
        first, *others = self._streams
        for ref, msg in reversed(self._streams[first].history):
            if ref <= newer_than_ns:
                break
            chosen = {first: (ref, msg)}
            for key in others:
                history = self._streams[key].history
                if not history:
                    return None
                chosen[key] = min(history, key=lambda item: abs(item[0] - ref))
            spread = max(s for s, _ in chosen.values()) - min(s for s, _ in chosen.values())
            if spread <= tolerance:
                return ref, chosen, spread / 1e9
        return None

    def wait_observation(self, newer_than_ns: int = 0, timeout_s: float | None = None,
                         accept: Callable[[int], bool] | None = None) -> SyncedObservation:
        """Block until a synchronised, fresh observation depicting a time after ``newer_than_ns`` is complete
        (and, with ``accept``, one whose stamp it accepts: e.g. the robot reports the chunk done by then)."""
        timeout_s = self.config.observation_timeout_s if timeout_s is None else timeout_s
        deadline = now_ns() + int(timeout_s * 1e9)
        max_age = int(self.config.max_observation_age_s * 1e9)
        with self._cond:
            while True:
                found = self._match(newer_than_ns)
                now = now_ns()
                if found is not None and (accept is None or accept(found[0])):
                    ref, chosen, spread = found
                    first = self._streams[next(iter(self._streams))].history
                    self.stats.skipped += sum(1 for s, _ in first if newer_than_ns < s < ref)
                    if now - ref <= max_age:
                        self.stats.observations += 1
                        return SyncedObservation(ref, now, self._observation(chosen), spread)
                    self.stats.stale += 1
                    newer_than_ns = ref  # never act on it; wait for the next frame
                if now >= deadline:
                    missing = [k for k, s in self._streams.items() if not s.history]
                    raise RosBridgeError(
                        f"no synchronised observation within {timeout_s:.1f} s (missing streams: {missing or 'none'}, "
                        f"stale: {self.stats.stale}); check the topics "
                        f"{self.config.topics.images} / {self.config.topics.joint_states} / {self.config.topics.ee_pose}")
                self._cond.wait(timeout=(deadline - now) / 1e9)

    def _observation(self, chosen: dict[str, tuple[int, Any]]) -> dict[str, Any]:
        cfg = self.config
        joints = m.joint_positions(chosen["joints"][1], [*cfg.joint_names, cfg.gripper_joint])
        pose = m.pose_matrix(chosen["ee"][1])
        euler = Rotation.from_matrix(pose[:3, :3]).as_euler("xyz")
        state = np.concatenate([pose[:3, 3], euler, joints[-1:], joints[:-1]]).astype(np.float32)
        obs = {f"observation.images.{v}": m.image_array(chosen[f"image:{v}"][1]) for v in cfg.views}
        obs["observation.state"] = state
        obs["task"] = self.task
        return obs

    def status_at(self, stamp_ns: int) -> EpisodeStatus | None:
        """The emulator's status published with the observation of ``stamp_ns``."""
        with self._cond:
            for status in reversed(self.statuses):
                if status.stamp_ns == stamp_ns:
                    return status
        return None

    def wait_status(self, predicate: Callable[[EpisodeStatus], bool], timeout_s: float) -> EpisodeStatus:
        deadline = now_ns() + int(timeout_s * 1e9)
        with self._cond:
            while True:
                for status in self.statuses:
                    if predicate(status):
                        return status
                remaining = (deadline - now_ns()) / 1e9
                if remaining <= 0:
                    raise RosBridgeError(f"no episode status from {self.config.topics.episode} within {timeout_s} s: "
                                         "is the emulator running?")
                self._cond.wait(timeout=remaining)

    # -- outputs -----------------------------------------------------------------------------------------------
    def request_reset(self, seed: int) -> int:
        """Ask the emulator for a new episode; returns the request time."""
        if self._send_reset is None:
            raise RosBridgeError("topics.reset is empty: this robot cannot be reset by the bridge")
        sent = now_ns()
        self._send_reset(m.serialize(m.json_text({"seed": int(seed)})))
        return sent

    def send_chunk(self, chunk: ActionChunk, observation: dict[str, Any] | None = None) -> int | None:
        """Publish ``chunk`` to start now; returns the publish time, or None after an emergency stop."""
        if self.stopped.is_set():
            self.stats.refused_after_stop += 1
            return None
        cfg = self.config
        sent = now_ns()
        if chunk.kind == "joints":
            msg = m.joint_trajectory(chunk, list(cfg.joint_names), cfg.gripper_joint, cfg.base_frame)
            self._send_joint(m.serialize(msg))
        else:
            msg = m.pose_trajectory(chunk, cfg.ee_joint, cfg.gripper_joint, cfg.base_frame)
            self._send_pose(m.serialize(msg))
            if self._send_servo is not None:
                self._stream_servo(chunk, sent)
        self.stats.chunks += 1
        if self.predictor is not None and observation is not None and chunk.model_actions is not None:
            self.publish_video(self.predictor(observation, chunk), sent, chunk.fps)
        return sent

    def publish_video(self, frames: np.ndarray, start_ns: int, fps: float) -> None:
        """Frame ``i`` depicts ``start_ns + i / fps`` (frame 0: the observation the prediction starts from)."""
        encode = m.compressed_image if self.config.predicted_compressed else m.image
        for i, frame in enumerate(frames):
            self._send_video(m.serialize(encode(frame, start_ns + round(i * 1e9 / fps), "predicted")))
            self.stats.predicted_frames += 1

    def _stream_servo(self, chunk: ActionChunk, start_ns: int) -> None:
        """Row ``i`` as a PoseStamped at ``start + (i + 1) / fps``; a newer chunk or the stop ends the stream."""
        period = 1.0 / chunk.fps
        token = object()
        self._servo_token = token

        def stream():
            for i, pose in enumerate(chunk.poses):
                due = start_ns + round((i + 1) * period * 1e9)
                if self.stopped.wait(timeout=max(0.0, (due - now_ns()) / 1e9)) or self._servo_token is not token:
                    return
                self._send_servo(m.serialize(m.pose_stamped(pose, due, self.config.base_frame)))

        self._streaming = threading.Thread(target=stream, daemon=True, name="servo-stream")
        self._streaming.start()

    def _send_hold(self) -> None:
        """One trajectory to the measured joints and flange pose: a trajectory controller then holds still."""
        cfg = self.config
        with self._cond:
            joints = self._streams["joints"].history[-1][1] if self._streams["joints"].history else None
            ee = self._streams["ee"].history[-1][1] if self._streams["ee"].history else None
        fps = cfg.fps
        if joints is not None:
            q = m.joint_positions(joints, [*cfg.joint_names, cfg.gripper_joint])
            hold = ActionChunk("hold", fps, q[-1:], joint_positions=q[None, :-1])
            self._send_joint(m.serialize(m.joint_trajectory(hold, list(cfg.joint_names), cfg.gripper_joint,
                                                            cfg.base_frame)))
            if ee is not None:
                hold = ActionChunk("hold", fps, q[-1:], poses=m.pose_matrix(ee)[None])
                self._send_pose(m.serialize(m.pose_trajectory(hold, cfg.ee_joint, cfg.gripper_joint, cfg.base_frame)))

    def close(self) -> None:
        self.stopped.set()
        if self._streaming is not None:
            self._streaming.join(timeout=1.0)


def world_model_predictor(world_model, embodiment: str = "droid") -> Predictor:
    """A ``WorldModel``'s forward dynamics for the chunk's model-space actions, from the observed views."""

    def predict(observation: dict[str, Any], chunk: ActionChunk) -> np.ndarray:
        views = {k.removeprefix("observation.images."): v for k, v in observation.items()
                 if k.startswith("observation.images.")}
        frame = world_model.compose_frame(embodiment, views)
        return world_model.forward_dynamics(frame, chunk.model_actions, embodiment=embodiment,
                                            state=observation.get("observation.state")).frames

    return predict
