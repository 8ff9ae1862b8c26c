"""The codec: standard ROS 2 messages built, serialized and read back, and clear errors on bad ones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cosmos_robotics.errors import RosMessageError
from cosmos_robotics.geometry import pose_matrix
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.ros2 import messages as m

JOINTS = [f"joint{i}" for i in range(1, 8)]


def roundtrip(msg):
    return m.deserialize(m.serialize(msg), msg.__msgtype__)


def test_image_encodings_roundtrip_to_rgb():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (54, 64, 3), dtype=np.uint8)
    back = roundtrip(m.image(frame, 1_500_000_123, "cam"))
    assert back.encoding == "rgb8" and m.stamp_ns(back) == 1_500_000_123 and back.header.frame_id == "cam"
    np.testing.assert_array_equal(m.image_array(back), frame)
    bgr = m.image(frame[..., ::-1], 0, "cam")
    bgr.encoding = "bgr8"
    np.testing.assert_array_equal(m.image_array(roundtrip(bgr)), frame)
    smooth = np.repeat(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], 54, 0).repeat(3, 2)
    jpeg = roundtrip(m.compressed_image(smooth, 7, "cam"))
    assert jpeg.format.startswith("rgb8; jpeg")
    assert np.abs(m.image_array(jpeg).astype(int) - smooth).max() <= 8


def test_image_with_bad_encoding_or_size_is_refused():
    msg = m.image(np.zeros((4, 4, 3), np.uint8), 0, "cam")
    msg.encoding = "32FC1"
    with pytest.raises(RosMessageError, match="encoding"):
        m.image_array(msg)
    msg = m.image(np.zeros((4, 4, 3), np.uint8), 0, "cam")
    msg.height = 5
    with pytest.raises(RosMessageError, match="rows"):
        m.image_array(msg)
    with pytest.raises(RosMessageError, match="uint8"):
        m.image(np.zeros((4, 4), np.float32), 0, "cam")
    with pytest.raises(RosMessageError, match="sensor_msgs/msg/Image"):
        m.deserialize(b"\x00\x01\x00", m.IMAGE)


def test_joint_state_is_read_by_name_whatever_the_order():
    names = [*JOINTS, "gripper"]
    values = np.arange(8) * 0.1
    msg = roundtrip(m.joint_state(names[::-1], values[::-1], 5, "base"))
    np.testing.assert_allclose(m.joint_positions(msg, names), values)
    with pytest.raises(RosMessageError, match="joint9"):
        m.joint_positions(msg, ["joint9"])


def test_joint_trajectory_names_order_and_timing():
    q = np.linspace(-0.5, 0.5, 7)[None] + np.arange(4)[:, None] * 0.01
    chunk = ActionChunk("droid_joint", 15.0, np.array([0, 0.2, 0.8, 1.0]), joint_positions=q)
    msg = roundtrip(m.joint_trajectory(chunk, JOINTS, "gripper", "base_link"))
    assert list(msg.joint_names) == [*JOINTS, "gripper"] and msg.header.frame_id == "base_link"
    assert m.stamp_ns(msg) == 0  # start on receipt
    np.testing.assert_allclose(m.trajectory_times(msg), (np.arange(4) + 1) / 15.0, atol=1e-9)
    back = m.trajectory_chunk(msg, JOINTS, "gripper", "ee", "droid_joint", 15.0)
    np.testing.assert_allclose(back.joint_positions, q)
    np.testing.assert_allclose(back.gripper, chunk.gripper)
    msg.joint_names = [*JOINTS[::-1], "gripper"]  # a controller may list joints in any order
    reordered = m.trajectory_chunk(msg, JOINTS, "gripper", "ee", "droid_joint", 15.0)
    np.testing.assert_allclose(reordered.joint_positions, q[:, ::-1])
    with pytest.raises(RosMessageError, match="6 joints.*shape \\(4, 7\\)"):
        m.joint_trajectory(chunk, JOINTS[:6], "gripper", "base_link")


def test_pose_trajectory_roundtrip_and_increasing_times():
    rot = Rotation.from_euler("xyz", [[np.pi, 0.1 * i, 0.2] for i in range(3)]).as_matrix()
    poses = np.stack([pose_matrix(r, np.array([0.5, 0.01 * i, 0.3])) for i, r in enumerate(rot)])
    chunk = ActionChunk("droid", 15.0, np.array([0.0, 0.5, 1.0]), poses=poses)
    msg = roundtrip(m.pose_trajectory(chunk, "ee", "gripper", "base_link"))
    assert list(msg.joint_names) == ["ee", "gripper"]
    back = m.trajectory_chunk(msg, JOINTS, "gripper", "ee", "droid", 15.0)
    np.testing.assert_allclose(back.poses, poses, atol=1e-12)
    np.testing.assert_allclose(back.gripper, chunk.gripper)
    msg.points[2].time_from_start = msg.points[1].time_from_start
    with pytest.raises(RosMessageError, match="strictly increasing"):
        m.trajectory_times(msg)
