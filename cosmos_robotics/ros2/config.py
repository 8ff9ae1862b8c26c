"""What the bridge and the emulator connect to: topics, joint names, frames, QoS, timing. One YAML file for both
the launch file (ROS parameters: ``<node>: ros__parameters: {...}``) and ``cosmos-robotics ros run --config``.

The defaults describe SimDroid-v0 behind ``cosmos-robotics ros emulate``; a real robot overrides topics, joint
names and frames. Unknown keys are errors (a typo must not silently fall back to a default topic).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from cosmos_robotics.errors import RosBridgeError
from cosmos_robotics.ros2.transport import COMMANDS, SENSORS, Qos

VIEWS = ("wrist", "exterior_1", "exterior_2")
BRIDGE_NODE = "cosmos_robotics_bridge"


def _views(pattern: str) -> dict[str, str]:
    return {v: pattern.format(view=v) for v in VIEWS}


@dataclass(frozen=True)
class Topics:
    images: dict[str, str] = field(default_factory=lambda: _views("/cameras/{view}/image_raw"))
    joint_states: str = "/joint_states"
    ee_pose: str = "/ee_pose"  # flange pose in the base frame (the embedded policy's state needs it)
    instruction: str = "/instruction"
    stop: str = "/emergency_stop"
    joint_trajectory: str = "/arm_controller/joint_trajectory"
    pose_trajectory: str = "/arm_controller/ee_trajectory"
    servo_pose: str = ""  # "" = off; e.g. /servo_node/pose_cmd for MoveIt Servo
    predicted_video: str = "/cosmos/predicted_video"
    episode: str = "/emulator/episode"  # the emulator's per-step status (seed, step, success)
    reset: str = "/emulator/reset"  # the emulator resets to the seed it receives


@dataclass(frozen=True)
class BridgeConfig:
    """Everything configurable; ``image_transport`` is ``raw`` (Image) or ``compressed`` (CompressedImage)."""

    topics: Topics = field(default_factory=Topics)
    policy: str = "embedded"  # a make_policy spec: any policy of the policy protocol
    world_model: str = ""  # "" = no predicted video; else a backend name (make_world_model) predicting each chunk
    joint_names: tuple[str, ...] = tuple(f"joint{i}" for i in range(1, 8))
    gripper_joint: str = "gripper"
    ee_joint: str = "ee"
    base_frame: str = "base_link"
    camera_frames: dict[str, str] = field(default_factory=lambda: _views("{view}_optical_frame"))
    image_transport: str = "raw"
    predicted_compressed: bool = False
    command_qos: Qos = COMMANDS
    sensor_qos: Qos = SENSORS
    # A prediction is a burst of T + 1 frames at once: best effort with a small queue drops most of it.
    video_qos: Qos = Qos("reliable", 34)
    fps: float = 15.0
    sync_tolerance_s: float = 0.02  # all views + joint state + ee pose within this of each other
    max_observation_age_s: float = 0.25  # older observations are stale: the step waits for a fresh one
    observation_timeout_s: float = 5.0
    startup_timeout_s: float = 60.0  # how long to wait for the robot's first message (a process starting up)
    episode_length: int = 100
    instruction: str = ""  # default task until one arrives on topics.instruction
    record: str = ""  # "" = off, else a bag directory (rosbag2, MCAP storage)

    def __post_init__(self):
        if self.image_transport not in ("raw", "compressed"):
            raise RosBridgeError(f"image_transport: expected 'raw' or 'compressed', got {self.image_transport!r}")
        if set(self.topics.images) != set(self.camera_frames):
            raise RosBridgeError(f"camera_frames must name the views of topics.images {sorted(self.topics.images)}, "
                                 f"got {sorted(self.camera_frames)}")
        if self.fps <= 0 or self.sync_tolerance_s < 0 or self.max_observation_age_s <= 0:
            raise RosBridgeError("fps and max_observation_age_s must be > 0, sync_tolerance_s >= 0")

    @property
    def views(self) -> tuple[str, ...]:
        return tuple(self.topics.images)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build(cls, values: dict[str, Any], where: str):
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RosBridgeError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
    kwargs = {}
    for key, value in values.items():
        if key == "topics":
            value = _build(Topics, value, f"{where}.topics")
        elif key in ("command_qos", "sensor_qos", "video_qos"):
            value = _build(Qos, value, f"{where}.{key}")
        elif key == "joint_names":
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(values: dict[str, Any]) -> BridgeConfig:
    return _build(BridgeConfig, values, "config")


def load_config(path: str | Path, node: str = BRIDGE_NODE) -> BridgeConfig:
    """A ROS parameter file (``node: ros__parameters: ...``) or a plain mapping of the same keys."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise RosBridgeError(f"config file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise RosBridgeError(f"{path}: expected a mapping, got {type(data).__name__}")
    if node in data:
        data = data[node].get("ros__parameters", {})
    return config_from_dict(data)


def save_config(config: BridgeConfig, path: str | Path, node: str = BRIDGE_NODE) -> Path:
    """The config as a ROS parameter file (what ``load_config`` and the launch file read)."""
    import json

    import yaml

    path = Path(path)
    plain = json.loads(json.dumps(config.to_dict()))  # tuples -> lists
    path.write_text(yaml.safe_dump({node: {"ros__parameters": plain}}, sort_keys=False))
    return path
