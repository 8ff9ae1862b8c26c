"""A recorded bridge session: the MCAP bag is read back by rosbags and by the independent mcap + mcap-ros2-support
readers, replays as an observation source, and converts to a LeRobot v3 dataset that LeRobotDataset loads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cosmos_robotics.errors import RosBridgeError
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.ros2 import messages as m
from cosmos_robotics.ros2.bridge import Bridge
from cosmos_robotics.ros2.config import BridgeConfig
from cosmos_robotics.ros2.emulator import RobotEmulator
from cosmos_robotics.ros2.recording import RecordingTransport, bag_to_lerobot, read_bag, replay
from cosmos_robotics.ros2.transport import COMMANDS, SENSORS, InMemoryBus, now_ns

CFG = BridgeConfig(episode_length=12)
PERIOD = round(1e9 / 15)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Emulator (pose control) and a recording bridge on one bus: reset, 12 steps with two 6-row chunks."""
    bag = tmp_path_factory.mktemp("ros") / "session"
    bus = InMemoryBus()
    sent_images = []
    bus.subscribe(CFG.topics.images["wrist"], m.IMAGE, SENSORS, sent_images.append)
    emulator = RobotEmulator(bus, CFG, control="poses", image_size=32, synchronous=True)
    recorder = RecordingTransport(bus, bag)
    bridge = Bridge(recorder, CFG)
    t = now_ns()
    emulator.tick(t)
    for _ in range(2):
        obs = bridge.wait_observation(newer_than_ns=t - 1, timeout_s=1.0)
        state = obs.observation["observation.state"].astype(np.float64)
        pose = np.eye(4)
        pose[:3, 3] = state[:3] + [0.0, 0.0, -0.01]
        pose[:3, :3] = m.pose_matrix(m.pose_stamped(np.eye(4), 0, ""))[:3, :3] @ _euler(state[3:6])
        bridge.send_chunk(ActionChunk("droid", 15.0, np.full(6, 0.5), poses=np.repeat(pose[None], 6, 0)))
        for _ in range(6):
            t = max(now_ns(), t + PERIOD)
            emulator.tick(t)
    emulator.tick(max(now_ns(), t + PERIOD))
    recorder.close()
    emulator.close()
    return bag, sent_images, bridge


def _euler(angles):
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("xyz", angles).as_matrix()


def test_bag_holds_the_exact_bytes_and_rosbags_reads_it(session):
    bag, sent_images, _ = session
    records = list(read_bag(bag))
    topics = {topic for topic, *_ in records}
    assert {CFG.topics.images["wrist"], CFG.topics.joint_states, CFG.topics.pose_trajectory} <= topics
    wrist = [data for topic, _, _, data in records if topic == CFG.topics.images["wrist"]]
    assert wrist == sent_images  # every frame received, byte for byte
    trajectories = [m.deserialize(d, t) for topic, t, _, d in records if topic == CFG.topics.pose_trajectory]
    assert len(trajectories) == 2 and all(len(tr.points) == 6 for tr in trajectories)
    with pytest.raises(RosBridgeError, match="exists"):
        RecordingTransport(InMemoryBus(), bag)


def test_mcap_ros2_support_reads_it_independently(session):
    from mcap_ros2.reader import read_ros2_messages

    bag, sent_images, _ = session
    (path,) = bag.glob("*.mcap")
    trajectories = list(read_ros2_messages(str(path), topics=[CFG.topics.pose_trajectory]))
    assert [msg.schema.name for msg in trajectories] == ["trajectory_msgs/msg/MultiDOFJointTrajectory"] * 2
    assert list(trajectories[0].ros_msg.joint_names) == ["ee", "gripper"]
    assert trajectories[0].ros_msg.points[5].time_from_start.nanosec == 400_000_000  # (5 + 1) / 15 s
    images = list(read_ros2_messages(str(path), topics=[CFG.topics.images["wrist"]]))
    first = m.image_array(m.deserialize(sent_images[0], m.IMAGE))
    np.testing.assert_array_equal(np.frombuffer(images[0].ros_msg.data, np.uint8).reshape(32, 32, 3), first)


def test_bag_replays_as_a_fresh_observation_source(session):
    bag, _, _ = session
    bus = InMemoryBus()
    bridge = Bridge(bus, CFG)
    topics = [*CFG.topics.images.values(), CFG.topics.joint_states, CFG.topics.ee_pose]
    thread = threading.Thread(target=replay, args=(bag, bus, topics, COMMANDS, 4.0))
    start = now_ns()
    thread.start()
    obs = bridge.wait_observation(timeout_s=3.0)  # stamps moved to now: not refused as stale
    thread.join()
    assert obs.stamp_ns >= start and obs.observation["observation.images.wrist"].shape == (32, 32, 3)


def test_bag_converts_to_a_lerobot_dataset(session, tmp_path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    bag, _, _ = session
    assert bag_to_lerobot(bag, tmp_path / "ds", CFG) == 1
    dataset = LeRobotDataset("local/ros_bag", root=tmp_path / "ds")
    assert dataset.num_episodes == 1 and len(dataset) == 14  # reset, a frame while the chunk comes, 12 steps
    frame = dataset[3]
    assert tuple(frame["observation.images.wrist"].shape) == (3, 32, 32)
    assert frame["action"].shape[0] == 7 and abs(float(frame["action"][6]) - 0.5) < 1e-6  # the commanded gripper
