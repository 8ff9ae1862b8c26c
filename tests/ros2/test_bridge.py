"""The bridge core on the in-memory transport: observation sync and stale guard, chunk publishing, e-stop,
predicted video stamps, servo streaming; and the emulator executing trajectories with their timing."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from cosmos_robotics.errors import RosBridgeError
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.ros2 import messages as m
from cosmos_robotics.ros2.bridge import Bridge
from cosmos_robotics.ros2.config import BridgeConfig, Topics
from cosmos_robotics.ros2.emulator import RobotEmulator
from cosmos_robotics.ros2.transport import COMMANDS, SENSORS, InMemoryBus, now_ns

CFG = BridgeConfig()
NAMES = [*CFG.joint_names, CFG.gripper_joint]


class FakeRobot:
    """Publishes observation sets on the bus, each stream with its own stamp offset."""

    def __init__(self, bus: InMemoryBus, config: BridgeConfig = CFG):
        self.config = config
        self.images = {v: bus.publisher(t, m.IMAGE, SENSORS) for v, t in config.topics.images.items()}
        self.joints = bus.publisher(config.topics.joint_states, m.JOINT_STATE, COMMANDS)
        self.ee = bus.publisher(config.topics.ee_pose, m.POSE_STAMPED, COMMANDS)
        self.stop = bus.publisher(config.topics.stop, m.BOOL, COMMANDS)

    def publish(self, stamp: int, joint_offset_ns: int = 0, value: int = 7) -> None:
        for view, send in self.images.items():
            send(m.serialize(m.image(np.full((8, 8, 3), value, np.uint8), stamp, f"{view}_optical_frame")))
        q = np.arange(8) * 0.1
        self.joints(m.serialize(m.joint_state(NAMES, q, stamp + joint_offset_ns)))
        self.ee(m.serialize(m.pose_stamped(np.eye(4), stamp, "base_link")))


def capture(bus: InMemoryBus, topic: str, msgtype: str) -> list:
    got = []
    bus.subscribe(topic, msgtype, COMMANDS, lambda data: got.append((now_ns(), m.deserialize(data, msgtype))))
    return got


def test_observation_set_assembles_the_state_layout():
    bus = InMemoryBus()
    bridge, robot = Bridge(bus, replace(CFG, instruction="stack it")), FakeRobot(bus)
    stamp = now_ns()
    robot.publish(stamp)
    obs = bridge.wait_observation(timeout_s=0.5)
    assert obs.stamp_ns == stamp and obs.spread_s == 0
    state = obs.observation["observation.state"]
    np.testing.assert_allclose(state[:6], [0, 0, 0, 0, 0, 0], atol=1e-7)  # identity flange pose
    np.testing.assert_allclose(state[6], 0.7, rtol=1e-6)  # gripper joint
    np.testing.assert_allclose(state[7:], np.arange(7) * 0.1, rtol=1e-6)
    assert obs.observation["observation.images.wrist"].shape == (8, 8, 3)
    assert obs.observation["task"] == "stack it"


def test_out_of_tolerance_sets_are_skipped_and_stale_ones_refused():
    bus = InMemoryBus()
    bridge, robot = Bridge(bus, CFG), FakeRobot(bus)
    base = now_ns()
    robot.publish(base, joint_offset_ns=50_000_000)  # joint state 50 ms off: outside the 20 ms tolerance
    with pytest.raises(RosBridgeError, match="no synchronised observation"):
        bridge.wait_observation(timeout_s=0.2)
    robot.publish(base + 66_000_000, joint_offset_ns=5_000_000)
    assert bridge.wait_observation(timeout_s=0.5).stamp_ns == base + 66_000_000
    assert bridge.stats.skipped == 1  # the first frame was waited past
    old = now_ns() - 1_000_000_000  # one second old: stale
    fresh = Bridge(InMemoryBus(), CFG)
    robot = FakeRobot(fresh.transport)
    robot.publish(old)
    with pytest.raises(RosBridgeError):
        fresh.wait_observation(timeout_s=0.2)
    assert fresh.stats.stale == 1 and fresh.stats.observations == 0


def test_chunks_are_published_with_names_timing_and_stop_halts_everything():
    bus = InMemoryBus()
    bridge, robot = Bridge(bus, CFG), FakeRobot(bus)
    joints = capture(bus, CFG.topics.joint_trajectory, m.JOINT_TRAJECTORY)
    poses = capture(bus, CFG.topics.pose_trajectory, m.MULTI_DOF_TRAJECTORY)
    robot.publish(now_ns())
    chunk = ActionChunk("droid_joint", 15.0, np.zeros(32), joint_positions=np.zeros((32, 7)))
    assert bridge.send_chunk(chunk) is not None
    (_, msg), = joints
    assert list(msg.joint_names) == NAMES and len(msg.points) == 32
    np.testing.assert_allclose(m.trajectory_times(msg)[[0, -1]], [1 / 15, 32 / 15], atol=1e-9)
    robot.stop(m.serialize(m.flag(True)))
    assert bridge.stopped.is_set()
    hold = joints[-1][1]  # one hold trajectory to the measured joints, sent at once
    np.testing.assert_allclose(hold.points[0].positions, np.arange(8) * 0.1)
    assert len(poses) == 1 and len(poses[0][1].points) == 1
    assert bridge.send_chunk(chunk) is None and bridge.stats.refused_after_stop == 1
    assert len(joints) == 2


def test_servo_stream_runs_at_the_chunk_rate_and_stops_within_one_period():
    bus = InMemoryBus()
    config = replace(CFG, topics=replace(Topics(), servo_pose="/servo/pose_cmd"))
    bridge, robot = Bridge(bus, config), FakeRobot(bus, config)
    servo = capture(bus, "/servo/pose_cmd", m.POSE_STAMPED)
    robot.publish(now_ns())
    poses = np.repeat(np.eye(4)[None], 16, 0)
    sent = bridge.send_chunk(ActionChunk("droid", 30.0, np.zeros(16), poses=poses))
    time.sleep(0.2)
    robot.stop(m.serialize(m.flag(True)))
    stopped = now_ns()
    time.sleep(0.15)
    assert 3 <= len(servo) <= 8  # ~6 rows of 1/30 s in 0.2 s
    assert all(recv <= stopped + 1e9 / 30 for recv, _ in servo)  # nothing after one period past the stop
    stamps = [m.stamp_ns(msg) - sent for _, msg in servo]
    np.testing.assert_allclose(np.diff(stamps), 1e9 / 30, atol=1e3)


def test_predicted_frames_are_stamped_with_the_time_they_depict():
    bus = InMemoryBus()
    frames = np.stack([np.full((4, 6, 3), i, np.uint8) for i in range(17)])
    bridge = Bridge(bus, CFG, predictor=lambda obs, chunk: frames)
    video = capture(bus, CFG.topics.predicted_video, m.IMAGE)
    FakeRobot(bus).publish(now_ns())
    obs = bridge.wait_observation(timeout_s=0.5)
    chunk = ActionChunk("droid", 15.0, np.zeros(16), poses=np.repeat(np.eye(4)[None], 16, 0),
                        model_actions=np.zeros((16, 10)))
    sent = bridge.send_chunk(chunk, obs.observation)
    assert [m.image_array(msg)[0, 0, 0] for _, msg in video] == list(range(17))
    np.testing.assert_allclose([m.stamp_ns(msg) - sent for _, msg in video], np.arange(17) * 1e9 / 15, atol=1)


def test_emulator_executes_joint_trajectory_points_at_their_times():
    bus = InMemoryBus()
    emulator = RobotEmulator(bus, CFG, control="joints", image_size=32, episode_length=20)
    status = capture(bus, CFG.topics.episode, m.STRING)
    states = capture(bus, CFG.topics.joint_states, m.JOINT_STATE)
    period = round(1e9 / 15)
    t0 = now_ns()
    emulator.tick(t0)  # reset + publish step 0 + hold
    start = m.joint_positions(states[-1][1], NAMES)
    targets = start[None, :7] + np.linspace(0.02, 0.2, 6)[:, None] * np.array([1, 0, 0, 0, 0, 0, 0])
    chunk = ActionChunk("droid_joint", 15.0, np.zeros(6), joint_positions=targets)
    send = bus.publisher(CFG.topics.joint_trajectory, m.JOINT_TRAJECTORY, COMMANDS)
    msg = m.joint_trajectory(chunk, list(CFG.joint_names), CFG.gripper_joint, CFG.base_frame,
                             start_ns=t0 + period // 2)
    send(m.serialize(msg))
    reached = []
    for k in range(1, 9):
        emulator.tick(t0 + k * period)
        reached.append(m.joint_positions(states[-1][1], NAMES)[0])
    # tick k runs the point due in (t_k, t_k + 1/15]: point i (at start + (i+1)/15) runs at tick i + 1
    assert emulator.ticks == 9 and emulator.pending == 0
    np.testing.assert_allclose(reached[1:7], targets[:, 0], atol=0.01)  # tracks each point within 10 mrad
    assert abs(reached[7] - targets[-1, 0]) < 0.01  # then holds the last point
    emulator.reset(5)
    emulator.tick(t0 + 10 * period)
    assert '"seed": 5' in status[-1][1].data and '"step": 0' in status[-1][1].data
    assert emulator.refused == 0
    bus.publisher(CFG.topics.pose_trajectory, m.MULTI_DOF_TRAJECTORY, COMMANDS)(m.serialize(m.pose_trajectory(
        ActionChunk("droid", 15.0, np.zeros(1), poses=np.eye(4)[None]), "ee", "gripper", "base_link")))
    assert emulator.refused == 1  # a pose chunk at a joint-controlled arm
    emulator.close()


def test_compressed_camera_transport_end_to_end():
    bus = InMemoryBus()
    config = replace(CFG, image_transport="compressed")
    emulator = RobotEmulator(bus, config, control="poses", image_size=64, synchronous=True)
    bridge = Bridge(bus, config)
    emulator.tick(now_ns())
    obs = bridge.wait_observation(timeout_s=1.0)
    raw = emulator._obs["observation.images.exterior_1"].astype(int)
    got = obs.observation["observation.images.exterior_1"].astype(int)
    assert got.shape == (64, 64, 3) and np.abs(got - raw).mean() < 4  # JPEG at quality 90
    emulator.close()
