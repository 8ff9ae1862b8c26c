"""The one message codec of the bridge: rosbags' ROS 2 Jazzy typestore builds, serializes and reads every message.

Why rosbags and not rclpy's generated classes: the same bytes then serve the live graph (rclpy publishes and
receives them raw), the in-memory transport of the unit tests and the MCAP recorder, and nothing here needs a ROS
install. Its CDR bytes are what rclpy writes (RIHS01 hashes equal the official ones).

Conventions on the wire (standard messages only, so any ROS 2 tool reads them):

* images: ``sensor_msgs/Image`` (``rgb8``, ``bgr8`` or ``mono8`` in; ``rgb8`` out) or ``CompressedImage``
  (``jpeg`` / ``png``); ``header.stamp`` = the time the frame depicts.
* joint-space chunks: ``trajectory_msgs/JointTrajectory``: the arm joints + the gripper as one more joint
  (0 open .. 1 closed); ``header.stamp`` zero = start on receipt (what a JointTrajectoryController does); point
  ``i`` at ``time_from_start = (i + 1) / fps``, one control period ahead, so no point lies in the past on receipt.
* end-effector chunks: ``trajectory_msgs/MultiDOFJointTrajectory`` with two virtual joints: the flange pose in the
  base frame (``ee_joint``) and the gripper (``gripper_joint``, its closure in ``translation.x``); same timing.
"""

from __future__ import annotations

import json
from functools import cache

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics import geometry
from cosmos_robotics.errors import RosBridgeError, RosMessageError
from cosmos_robotics.policies.base import ActionChunk

try:
    from rosbags.typesys import Stores, get_typestore
except ImportError:
    raise RosBridgeError("the ROS 2 bridge needs rosbags: pip install -e '.[ros2]'") from None

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
JOINT_STATE = "sensor_msgs/msg/JointState"
JOINT_TRAJECTORY = "trajectory_msgs/msg/JointTrajectory"
MULTI_DOF_TRAJECTORY = "trajectory_msgs/msg/MultiDOFJointTrajectory"
POSE_STAMPED = "geometry_msgs/msg/PoseStamped"
STRING = "std_msgs/msg/String"
BOOL = "std_msgs/msg/Bool"
CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}


@cache
def typestore():
    """Built once per process (~1 s): the bridge and the emulator build it at start, not on the first message."""
    return get_typestore(Stores.ROS2_JAZZY)


def _t(name: str):
    return typestore().types[name]


def serialize(msg) -> bytes:
    return bytes(typestore().serialize_cdr(msg, msg.__msgtype__))


def deserialize(data: bytes, msgtype: str):
    try:
        return typestore().deserialize_cdr(data, msgtype)
    except Exception as exc:  # truncated or foreign bytes: say which type was expected
        raise RosMessageError(msgtype, "CDR bytes of this type", f"{len(data)} bytes that do not decode ({exc})") from None


# -- time ----------------------------------------------------------------------------------------------------
def stamp(ns: int):
    return _t("builtin_interfaces/msg/Time")(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def stamp_ns(msg) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def duration(seconds: float):
    ns = round(seconds * 1e9)
    return _t("builtin_interfaces/msg/Duration")(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def duration_s(d) -> float:
    return d.sec + d.nanosec * 1e-9


def header(ns: int, frame_id: str):
    return _t("std_msgs/msg/Header")(stamp=stamp(ns), frame_id=frame_id)


# -- images --------------------------------------------------------------------------------------------------
def image(frame: np.ndarray, ns: int, frame_id: str):
    """uint8 ``[H, W, 3]`` RGB -> ``sensor_msgs/Image`` (``rgb8``)."""
    frame = np.ascontiguousarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise RosMessageError(IMAGE, "uint8 [H, W, 3] to send", f"{frame.dtype} {frame.shape}")
    h, w, _ = frame.shape
    return _t(IMAGE)(header=header(ns, frame_id), height=h, width=w, encoding="rgb8", is_bigendian=0, step=w * 3,
                     data=frame.reshape(-1))


def compressed_image(frame: np.ndarray, ns: int, frame_id: str, quality: int = 90):
    """uint8 RGB -> JPEG ``CompressedImage`` (format string as image_transport writes it)."""
    ok, jpeg = cv2.imencode(".jpg", np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RosMessageError(COMPRESSED_IMAGE, "an encodable RGB frame", f"{frame.dtype} {frame.shape}")
    return _t(COMPRESSED_IMAGE)(header=header(ns, frame_id), format="rgb8; jpeg compressed bgr8",
                                data=jpeg.reshape(-1))


def image_array(msg) -> np.ndarray:
    """``Image`` or ``CompressedImage`` -> uint8 ``[H, W, 3]`` RGB."""
    if msg.__msgtype__ == COMPRESSED_IMAGE:
        bgr = cv2.imdecode(np.asarray(msg.data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise RosMessageError(COMPRESSED_IMAGE, "JPEG or PNG data", f"format {msg.format!r} that does not decode")
        return bgr[..., ::-1].copy()
    channels = CHANNELS.get(msg.encoding)
    if channels is None:
        raise RosMessageError(IMAGE, f"encoding in {sorted(CHANNELS)}", repr(msg.encoding))
    if msg.step < msg.width * channels or len(msg.data) != msg.step * msg.height:
        raise RosMessageError(IMAGE, f"{msg.height} rows of step >= {msg.width * channels} bytes",
                              f"step {msg.step}, {len(msg.data)} bytes")
    rows = np.asarray(msg.data, np.uint8).reshape(msg.height, msg.step)[:, : msg.width * channels]
    pixels = rows.reshape(msg.height, msg.width, channels)
    if msg.encoding == "mono8":
        return np.repeat(pixels, 3, axis=2)
    return (pixels[..., ::-1] if msg.encoding == "bgr8" else pixels).copy()


# -- robot state ---------------------------------------------------------------------------------------------
def joint_state(names: list[str], positions: np.ndarray, ns: int, frame_id: str = ""):
    return _t(JOINT_STATE)(header=header(ns, frame_id), name=list(names),
                           position=np.ascontiguousarray(positions, np.float64), velocity=np.zeros(0), effort=np.zeros(0))


def joint_positions(msg, names: list[str]) -> np.ndarray:
    """Positions of ``names`` in that order, whatever order the message lists them in."""
    index = {n: i for i, n in enumerate(msg.name)}
    missing = [n for n in names if n not in index]
    if missing or len(msg.position) != len(msg.name):
        raise RosMessageError(JOINT_STATE, f"positions of joints {names}",
                              f"names {list(msg.name)} with {len(msg.position)} positions")
    return np.array([msg.position[index[n]] for n in names], np.float64)


def _pose(matrix: np.ndarray):
    qx, qy, qz, qw = Rotation.from_matrix(matrix[:3, :3]).as_quat()
    x, y, z = (float(v) for v in matrix[:3, 3])
    return _t("geometry_msgs/msg/Pose")(position=_t("geometry_msgs/msg/Point")(x=x, y=y, z=z),
                                        orientation=_t("geometry_msgs/msg/Quaternion")(x=qx, y=qy, z=qz, w=qw))


def pose_stamped(matrix: np.ndarray, ns: int, frame_id: str):
    return _t(POSE_STAMPED)(header=header(ns, frame_id), pose=_pose(matrix))


def pose_matrix(msg) -> np.ndarray:
    """``PoseStamped`` -> 4x4."""
    p, q = msg.pose.position, msg.pose.orientation
    return geometry.pose_matrix(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(), np.array([p.x, p.y, p.z]))


def text(value: str):
    return _t(STRING)(data=value)


def flag(value: bool):
    return _t(BOOL)(data=bool(value))


def json_text(payload: dict):
    return text(json.dumps(payload, sort_keys=True))


# -- action chunks -------------------------------------------------------------------------------------------
def joint_trajectory(chunk: ActionChunk, joint_names: list[str], gripper_joint: str, frame_id: str, start_ns: int = 0):
    """A joint-target chunk -> ``JointTrajectory`` (positions only; arm joints then the gripper)."""
    if chunk.kind != "joints" or chunk.joint_positions.shape[1] != len(joint_names):
        raise RosMessageError(JOINT_TRAJECTORY, f"a joint chunk of {len(joint_names)} joints ({joint_names})",
                              f"a {chunk.kind} chunk of shape {chunk.targets.shape}")
    point = _t("trajectory_msgs/msg/JointTrajectoryPoint")
    empty = np.zeros(0)
    points = [point(positions=np.append(q, g).astype(np.float64), velocities=empty, accelerations=empty,
                    effort=empty, time_from_start=duration((i + 1) / chunk.fps))
              for i, (q, g) in enumerate(zip(chunk.joint_positions, chunk.gripper, strict=True))]
    return _t(JOINT_TRAJECTORY)(header=header(start_ns, frame_id), joint_names=[*joint_names, gripper_joint],
                                points=points)


def pose_trajectory(chunk: ActionChunk, ee_joint: str, gripper_joint: str, frame_id: str, start_ns: int = 0):
    """A flange-pose chunk -> ``MultiDOFJointTrajectory`` (flange pose + gripper as virtual joints)."""
    if chunk.kind != "poses":
        raise RosMessageError(MULTI_DOF_TRAJECTORY, "a pose chunk", f"a {chunk.kind} chunk")
    point = _t("trajectory_msgs/msg/MultiDOFJointTrajectoryPoint")
    vec, tf = _t("geometry_msgs/msg/Vector3"), _t("geometry_msgs/msg/Transform")
    quat = _t("geometry_msgs/msg/Quaternion")
    points = []
    for i, (pose, g) in enumerate(zip(chunk.poses, chunk.gripper, strict=True)):
        p = _pose(pose)
        flange = tf(translation=vec(x=p.position.x, y=p.position.y, z=p.position.z), rotation=p.orientation)
        grip = tf(translation=vec(x=float(g), y=0.0, z=0.0), rotation=quat(x=0.0, y=0.0, z=0.0, w=1.0))
        points.append(point(transforms=[flange, grip], velocities=[], accelerations=[],
                            time_from_start=duration((i + 1) / chunk.fps)))
    return _t(MULTI_DOF_TRAJECTORY)(header=header(start_ns, frame_id), joint_names=[ee_joint, gripper_joint],
                                    points=points)


def trajectory_times(msg) -> np.ndarray:
    """``time_from_start`` of every point (s); must increase strictly, as a trajectory controller requires."""
    times = np.array([duration_s(p.time_from_start) for p in msg.points])
    if len(times) == 0 or np.any(np.diff(times) <= 0) or times[0] < 0:
        raise RosMessageError(msg.__msgtype__, ">= 1 point with strictly increasing time_from_start",
                              np.array2string(times, precision=3))
    return times


def trajectory_chunk(msg, joint_names: list[str], gripper_joint: str, ee_joint: str, embodiment: str,
                     fps: float) -> ActionChunk:
    """A received ``JointTrajectory`` / ``MultiDOFJointTrajectory`` -> an ``ActionChunk`` (joints by name)."""
    trajectory_times(msg)
    names = list(msg.joint_names)
    if msg.__msgtype__ == JOINT_TRAJECTORY:
        wanted = [*joint_names, gripper_joint]
        if sorted(names) != sorted(wanted) or any(len(p.positions) != len(names) for p in msg.points):
            raise RosMessageError(JOINT_TRAJECTORY, f"positions for joints {wanted}", f"joints {names}")
        order = [names.index(n) for n in wanted]
        rows = np.array([np.asarray(p.positions)[order] for p in msg.points], np.float64)
        return ActionChunk(embodiment, fps, rows[:, -1].copy(), joint_positions=rows[:, :-1].copy())
    if sorted(names) != sorted([ee_joint, gripper_joint]) or any(len(p.transforms) != 2 for p in msg.points):
        raise RosMessageError(MULTI_DOF_TRAJECTORY, f"transforms for joints {[ee_joint, gripper_joint]}",
                              f"joints {names}")
    ee, grip = names.index(ee_joint), names.index(gripper_joint)
    poses, gripper = [], []
    for p in msg.points:
        t, q = p.transforms[ee].translation, p.transforms[ee].rotation
        poses.append(geometry.pose_matrix(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(), np.array([t.x, t.y, t.z])))
        gripper.append(p.transforms[grip].translation.x)
    return ActionChunk(embodiment, fps, np.asarray(gripper, np.float64), poses=np.stack(poses))
