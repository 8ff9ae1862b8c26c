"""Record everything a bridge sends and receives to a rosbag2 bag (MCAP storage), replay a bag as the
observation source, and convert a recorded bag to a LeRobot v3 dataset.

The bag holds the exact CDR bytes of the graph, written by rosbags, so ``ros2 bag``, rosbags and the independent
``mcap`` + ``mcap-ros2-support`` readers all read it. Log time = when the message was sent or received here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from cosmos_robotics.errors import DatasetFormatError, RosBridgeError
from cosmos_robotics.ros2 import messages as m
from cosmos_robotics.ros2.config import BridgeConfig
from cosmos_robotics.ros2.transport import Callback, Qos, Transport, now_ns

BAG_VERSION = 9  # rosbag2 metadata version of Jazzy


class RecordingTransport:
    """``inner`` plus a bag of every message published or received through it; ``close()`` finishes the bag."""

    def __init__(self, inner: Transport, bag: str | Path):
        bag = Path(bag)
        if bag.exists():
            raise RosBridgeError(f"bag {bag} exists already: choose a new directory (rosbag2 never appends)")
        self.inner, self.path = inner, bag
        self._writer = Writer(bag, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()
        self.count = 0

    def _write(self, topic: str, msgtype: str, data: bytes) -> None:
        with self._lock:
            if self._writer is None:
                return
            key = (topic, msgtype)
            if key not in self._connections:
                self._connections[key] = self._writer.add_connection(topic, msgtype, typestore=m.typestore())
            self._writer.write(self._connections[key], now_ns(), data)
            self.count += 1

    def publisher(self, topic: str, msgtype: str, qos: Qos) -> Callable[[bytes], None]:
        send = self.inner.publisher(topic, msgtype, qos)

        def publish(data: bytes) -> None:
            send(data)
            self._write(topic, msgtype, data)

        return publish

    def subscribe(self, topic: str, msgtype: str, qos: Qos, callback: Callback) -> None:
        def received(data: bytes) -> None:
            self._write(topic, msgtype, data)
            callback(data)

        self.inner.subscribe(topic, msgtype, qos, received)

    def close(self) -> None:
        self.inner.close()
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None


def read_bag(bag: str | Path, topics: list[str] | None = None):
    """``(topic, msgtype, log_time_ns, bytes)`` in log-time order."""
    bag = Path(bag)
    if not (bag / "metadata.yaml").is_file():
        raise DatasetFormatError(f"{bag} is not a rosbag2 bag (no metadata.yaml)")
    with Reader(bag) as reader:
        connections = [c for c in reader.connections if topics is None or c.topic in topics]
        for connection, log_ns, data in reader.messages(connections=connections):
            yield connection.topic, connection.msgtype, log_ns, data


def replay(bag: str | Path, transport: Transport, topics: list[str], qos: Qos, speed: float = 1.0,
           stop: threading.Event | None = None) -> int:
    """Publish the bag's ``topics`` on ``transport`` at their recorded pace, each header stamp moved to now
    (a bridge would refuse hour-old observations as stale). Returns the number of messages sent."""
    publishers: dict[tuple[str, str], Callable[[bytes], None]] = {}
    first_log = start = shift = None
    sent = 0
    for topic, msgtype, log_ns, data in read_bag(bag, topics):
        if first_log is None:
            first_log, start = log_ns, now_ns()
        due = start + (log_ns - first_log) / speed
        wait = (due - now_ns()) / 1e9
        if stop is not None and stop.wait(max(0.0, wait)):
            break
        if stop is None and wait > 0:
            time.sleep(wait)
        msg = m.deserialize(data, msgtype)
        if hasattr(msg, "header"):
            stamp = m.stamp_ns(msg)
            shift = now_ns() - stamp if shift is None else shift
            msg.header.stamp = m.stamp(stamp + shift)
            data = m.serialize(msg)
        key = (topic, msgtype)
        if key not in publishers:
            publishers[key] = transport.publisher(topic, msgtype, qos)
        publishers[key](data)
        sent += 1
    return sent


# -- bag -> LeRobot ------------------------------------------------------------------------------------------
def bag_episodes(bag: str | Path, config: BridgeConfig) -> list[dict]:
    """Episodes of a recorded bridge session: one per emulator seed (or the whole bag) in which a command was sent,
    frame by camera frame of the first view with the nearest joint state / flange pose / other views, and the
    command in force."""
    t = config.topics
    by_topic: dict[str, list] = {}
    for topic, msgtype, log_ns, data in read_bag(bag):
        msg = m.deserialize(data, msgtype)
        by_topic.setdefault(topic, []).append((m.stamp_ns(msg) if hasattr(msg, "header") else log_ns, log_ns, msg))
    views = list(t.images)
    needed = [t.images[v] for v in views] + [t.joint_states, t.ee_pose]
    missing = [name for name in needed if name not in by_topic]
    if missing:
        raise DatasetFormatError(f"bag {bag} lacks topics {missing} (recorded topics: {sorted(by_topic)})")
    seed_at = {p["stamp_ns"]: p for p in (json.loads(msg.data) for _, _, msg in by_topic.get(t.episode, []))}
    commands = sorted(by_topic.get(t.joint_trajectory, []) + by_topic.get(t.pose_trajectory, []),
                      key=lambda item: item[1])
    joint_mode = bool(commands) and commands[0][2].__msgtype__ == m.JOINT_TRAJECTORY
    names = [*config.joint_names, config.gripper_joint]
    episodes: dict[object, dict] = {}
    for stamp, _, first in by_topic[t.images[views[0]]]:
        chosen = {v: _nearest(by_topic[t.images[v]], stamp) for v in views[1:]}
        joints = m.joint_positions(_nearest(by_topic[t.joint_states], stamp), names)
        pose = m.pose_matrix(_nearest(by_topic[t.ee_pose], stamp))
        state = np.concatenate([pose[:3, 3], Rotation.from_matrix(pose[:3, :3]).as_euler("xyz"), joints[-1:],
                                joints[:-1]]).astype(np.float32)
        status = seed_at.get(stamp)
        key = status["seed"] if status else None
        episode = episodes.setdefault(key, {"seed": key, "frames": {v: [] for v in views}, "states": [],
                                            "actions": [], "success": [], "commanded": False, "start": stamp})
        command = _command_at(commands, stamp, config, joint_mode, since=episode["start"])
        episode["commanded"] |= command is not None
        if command is None:  # before the first command: the arm holds where it is
            command = joints if joint_mode else _pose_row(pose, joints[-1])
        episode["frames"][views[0]].append(m.image_array(first))
        for v, msg in chosen.items():
            episode["frames"][v].append(m.image_array(msg))
        episode["states"].append(state)
        episode["actions"].append(np.asarray(command, np.float32))
        episode["success"].append(bool(status["success"]) if status else False)
    return [e for e in episodes.values() if e["commanded"]]  # not the idle robot before the first reset


def _nearest(items: list, stamp: int):
    return min(items, key=lambda item: abs(item[0] - stamp))[2]


def _pose_row(pose: np.ndarray, gripper: float) -> np.ndarray:
    return np.concatenate([pose[:3, 3], Rotation.from_matrix(pose[:3, :3]).as_rotvec(), [gripper]])


def _command_at(commands: list, stamp: int, config: BridgeConfig, joint_mode: bool, since: int) -> np.ndarray | None:
    """The trajectory point executed from ``stamp``: of the last trajectory received by then (in this episode,
    from ``since``), the first point whose time lies after ``stamp`` (or its last point), as
    ``[xyz, rotvec, gripper]`` or ``[q(7), gripper]``."""
    kind = m.JOINT_TRAJECTORY if joint_mode else m.MULTI_DOF_TRAJECTORY
    received = [c for c in commands if since <= c[1] <= stamp and c[2].__msgtype__ == kind]
    if not received:
        return None
    _, log_ns, msg = received[-1]
    start = m.stamp_ns(msg) or log_ns
    times = start + np.round(m.trajectory_times(msg) * 1e9)
    ahead = np.flatnonzero(times > stamp)
    row = int(ahead[0]) if len(ahead) else len(times) - 1
    chunk = m.trajectory_chunk(msg, list(config.joint_names), config.gripper_joint, config.ee_joint, "droid",
                               config.fps)
    if chunk.kind == "joints":
        return np.append(chunk.joint_positions[row], chunk.gripper[row])
    return _pose_row(chunk.poses[row], chunk.gripper[row])


def bag_to_lerobot(bag: str | Path, out: str | Path, config: BridgeConfig, task: str = "") -> int:
    """Write the bag's episodes as a LeRobot v3 dataset at ``out``; returns the number of episodes."""
    from cosmos_robotics.export.episode import DatasetSpec, EpisodeRecord
    from cosmos_robotics.export.provenance import Provenance
    from cosmos_robotics.export.writer import LeRobotEpisodeWriter
    from cosmos_robotics.sim.env import ACTION_NAMES, JOINT_ACTION_NAMES, STATE_NAMES, TASK

    episodes = [e for e in bag_episodes(bag, config) if e["states"]]
    if not episodes:
        raise DatasetFormatError(f"bag {bag} has no camera frames to convert")
    first = episodes[0]
    width = len(first["actions"][0])
    spec = DatasetSpec(fps=int(round(config.fps)), cameras={v: f[0].shape[:2] for v, f in first["frames"].items()},
                       state_names=STATE_NAMES, action_names=ACTION_NAMES if width == 7 else JOINT_ACTION_NAMES,
                       frame_success=True, robot_type="ros2_bridge")
    provenance = Provenance(generator="ros2_bag", synthetic=False, params={"bag": str(Path(bag).resolve())})
    with LeRobotEpisodeWriter(out, spec, provenance) as writer:
        for episode in tqdm(episodes, desc="bag -> LeRobot", unit="episode"):
            observed = np.asarray(episode["success"], bool)  # at each frame; LeRobot's is after its action
            success = np.append(observed[1:], observed[-1])
            writer.add(EpisodeRecord(
                frames={v: np.stack(f) for v, f in episode["frames"].items()}, states=np.stack(episode["states"]),
                actions=np.stack(episode["actions"]), task=task or config.instruction or TASK,
                success=bool(success[-1]), seed=episode["seed"], frame_success=success))
    return len(episodes)
