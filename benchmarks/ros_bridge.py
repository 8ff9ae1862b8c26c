"""Bridge speed on loopback: observation -> command latency (p50 / p99, policy time excluded) and predicted-frame
throughput at 640x540. Targets: p50 <= 5 ms; 30 frames/s with no drops.

Latency: a robot participant publishes an observation set (three 128x128 rgb8 views, joint state, flange pose) at
15 Hz, stamped when it is sent; the bridge waits for the synchronised set, asks a policy for a 32 x 7 joint chunk
and publishes it as a JointTrajectory; latency = command received at the robot - set sent - policy time. Side by
side in the same run: the same bridge on the in-memory transport (codec + sync only, no DDS), and the
transport alone (a 1-byte String both ways is not what a robot does, so it is left out). Throughput: the bridge
publishes 640x540 predicted frames at 30 Hz for 10 s on its (reliable) video QoS; a subscriber counts them.
Robot and bridge are separate processes (the machine's clock times both sides); the video sender and viewer are
two rclpy participants of one process.

    unshare -n bash -c 'ip link set lo up; ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST PYTHONPATH=$PWD \
        HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/ros_bridge.py'
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import numpy as np
from machine import cpu_report, idleness  # benchmarks/machine.py

from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.ros2 import messages as m
from cosmos_robotics.ros2.bridge import Bridge
from cosmos_robotics.ros2.config import BridgeConfig
from cosmos_robotics.ros2.nodes import only_loopback
from cosmos_robotics.ros2.transport import COMMANDS, InMemoryBus, now_ns

RESULT = Path(__file__).parent / "results" / "ros_bridge.json"
CFG = BridgeConfig()
NAMES = [*CFG.joint_names, CFG.gripper_joint]


def joint_chunk(observation) -> ActionChunk:
    """The policy: 32 joint targets ramping from the measured joints (no model: its time is excluded anyway)."""
    q = np.asarray(observation["observation.state"][7:14], np.float64)
    return ActionChunk("droid_joint", 15.0, np.zeros(32), joint_positions=q + np.linspace(0, 0.1, 32)[:, None])


class Robot:
    """Publishes observation sets on ``transport``; records when each command arrives."""

    def __init__(self, transport, size: int = 128):
        t = CFG.topics
        self.images = [transport.publisher(topic, m.IMAGE, CFG.sensor_qos) for topic in t.images.values()]
        self.joints = transport.publisher(t.joint_states, m.JOINT_STATE, COMMANDS)
        self.ee = transport.publisher(t.ee_pose, m.POSE_STAMPED, COMMANDS)
        self.frame = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
        self.received: list[int] = []
        transport.subscribe(t.joint_trajectory, m.JOINT_TRAJECTORY, COMMANDS, lambda d: self.received.append(now_ns()))

    def publish(self) -> int:
        stamp = now_ns()
        for send in self.images:
            send(m.serialize(m.image(self.frame, stamp, "camera")))
        self.joints(m.serialize(m.joint_state(NAMES, np.zeros(8), stamp)))
        self.ee(m.serialize(m.pose_stamped(np.eye(4), stamp, "base_link")))
        return stamp


def robot_clock(robot: Robot, count: int, rate: float, stop: threading.Event) -> list[int]:
    sent = []
    for _ in range(count):
        if stop.wait(1 / rate):
            break
        sent.append(robot.publish())
    return sent


def robot_process(conn, count: int, rate: float) -> None:
    """The robot as its own process (own GIL, own DDS participant); sends back (sent, received) times."""
    from cosmos_robotics.ros2.rclpy_transport import RclpyTransport

    transport = RclpyTransport("robot")
    robot = Robot(transport)
    conn.send("up")
    conn.recv()  # the bridge is up too
    time.sleep(1.0)  # discovery
    sent = robot_clock(robot, count, rate, threading.Event())
    time.sleep(0.5)
    conn.send((sent, robot.received))
    transport.close()


def bridge_loop(bridge: Bridge, count: int) -> list[tuple[int, int]]:
    """(observation stamp, policy ns) per command sent."""
    done, last = [], 0
    for _ in range(count):
        try:
            obs = bridge.wait_observation(newer_than_ns=last, timeout_s=5.0 if done else 10.0)
        except Exception:  # the robot stopped publishing (bounded run)
            break
        last = obs.stamp_ns
        t0 = now_ns()
        chunk = joint_chunk(obs.observation)
        done.append((obs.stamp_ns, now_ns() - t0))
        bridge.send_chunk(chunk)
    return done


def latency_summary(sent: list[int], received: list[int], done: list[tuple[int, int]], stats) -> dict:
    policy = dict(done)
    answered = [s for s in sent if s in policy][: len(received)]  # commands arrive in order, one per set
    latencies = np.asarray([(r - s - policy[s]) / 1e6 for s, r in zip(answered, received, strict=False)][5:])
    return {"observations_sent": len(sent), "commands": len(received), "measured": len(latencies),
            "p50_ms": round(float(np.percentile(latencies, 50)), 3),
            "p99_ms": round(float(np.percentile(latencies, 99)), 3),
            "policy_ms_p50": round(float(np.median([p for _, p in done])) / 1e6, 4), "bridge_stats": stats.__dict__}


def latency_in_memory(count: int, rate: float) -> dict:
    bus = InMemoryBus()
    robot, bridge = Robot(bus), Bridge(bus, CFG)
    stop = threading.Event()
    sent: list[int] = []
    thread = threading.Thread(target=lambda: sent.extend(robot_clock(robot, count, rate, stop)), daemon=True)
    thread.start()
    done = bridge_loop(bridge, count)
    stop.set()
    thread.join()
    return latency_summary(sent, robot.received, done, bridge.stats)


def latency_dds(count: int, rate: float) -> dict:
    import multiprocessing

    from cosmos_robotics.ros2.rclpy_transport import RclpyTransport

    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=robot_process, args=(child, count, rate))
    process.start()
    transport = RclpyTransport("bridge")
    bridge = Bridge(transport, CFG)
    parent.recv()
    parent.send("ready")
    done = bridge_loop(bridge, count)
    sent, received = parent.recv()
    process.join(timeout=10)
    transport.close()
    return latency_summary(sent, received, done, bridge.stats)


def measure_throughput(sender, receiver, seconds: float, fps: float, size: tuple[int, int]) -> dict:
    bridge = Bridge(sender, CFG)
    got: list[tuple[int, int]] = []
    receiver.subscribe(CFG.topics.predicted_video, m.IMAGE, CFG.video_qos,
                       lambda d: got.append((now_ns(), m.stamp_ns(m.deserialize(d, m.IMAGE)))))
    frame = np.random.default_rng(1).integers(0, 256, (*size, 3), dtype=np.uint8)
    time.sleep(2.0)  # discovery
    total = int(seconds * fps)
    start = now_ns()
    for i in range(total):
        due = start + round(i * 1e9 / fps)
        time.sleep(max(0.0, (due - now_ns()) / 1e9))
        bridge.publish_video(frame[None], now_ns(), fps)
    time.sleep(1.0)
    latency = np.array([(r - s) / 1e6 for r, s in got])
    wall = (got[-1][0] - got[0][0]) / 1e9 if len(got) > 1 else float("nan")
    return {"frames_sent": total, "frames_received": len(got), "drops": total - len(got),
            "received_fps": round((len(got) - 1) / wall, 2), "latency_ms_p50": round(float(np.median(latency)), 3),
            "latency_ms_p99": round(float(np.percentile(latency, 99)), 3), "size": f"{size[1]}x{size[0]}",
            "qos": CFG.video_qos.__dict__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=300, help="observation sets (at 15 Hz)")
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput run length")
    args = parser.parse_args()
    if not only_loopback():
        raise SystemExit("refusing to start DDS outside a loopback-only network namespace (see the docstring)")
    from cosmos_robotics.ros2.rclpy_transport import RclpyTransport

    memory = latency_in_memory(args.observations, 15.0)
    dds = latency_dds(args.observations, 15.0)
    sender, receiver = RclpyTransport("bridge_video"), RclpyTransport("viewer")
    video = measure_throughput(sender, receiver, args.seconds, 30.0, (540, 640))
    sender.close()
    receiver.close()
    result = {
        "latency_rclpy": dds, "latency_in_memory": memory,
        "dds_over_in_memory_p50": round(dds["p50_ms"] / memory["p50_ms"], 2),
        "predicted_video": video,
        "targets": {"p50_ms<=5": dds["p50_ms"] <= 5.0, "30fps_no_drops": video["drops"] == 0 and
                    video["received_fps"] >= 29.5},
        "transport": "rclpy 7.1.6 + rmw_fastrtps_cpp (Fast DDS 2.14.5, ros-jazzy wheels), loopback-only namespace",
        "machine": {**cpu_report(), **idleness()},
    }
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"p50_ms": dds["p50_ms"], "p99_ms": dds["p99_ms"], "in_memory_p50_ms": memory["p50_ms"],
                      "video": {k: video[k] for k in ("frames_received", "drops", "received_fps")}}))


if __name__ == "__main__":
    main()
