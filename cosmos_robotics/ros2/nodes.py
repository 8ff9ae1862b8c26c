"""The two processes: the bridge (a policy closed-loop through ROS 2) and the robot emulator. The CLI
(``cosmos-robotics ros run|emulate``) and the ament package's nodes (``ros2_ws``) are thin shells over these.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from pathlib import Path

from cosmos_robotics.ros2.config import BRIDGE_NODE, BridgeConfig
from cosmos_robotics.ros2.transport import Transport

EMULATOR_NODE = "cosmos_robotics_emulator"


def ros_transport(node_name: str, record: str = "") -> Transport:
    """rclpy on the live graph, recorded to a bag when ``record`` names one."""
    from cosmos_robotics.ros2.rclpy_transport import RclpyTransport

    transport: Transport = RclpyTransport(node_name)
    if record:
        from cosmos_robotics.ros2.recording import RecordingTransport

        transport = RecordingTransport(transport, record)
    return transport


@dataclass(frozen=True)
class BridgeRun:
    policy: str
    seeds: list[int]
    success: list[bool]
    steps: list[int]
    latency_ms: list[float]  # observation complete -> chunk published, policy time included
    stats: dict
    bag: str

    def to_dict(self) -> dict:
        return self.__dict__ | {"success_rate": sum(self.success) / max(1, len(self.success))}


def run_bridge(config: BridgeConfig, seeds: list[int], transport: Transport | None = None,
               progress: bool = True) -> BridgeRun:
    """Closed loop: for each seed, reset the robot (an emulator; a real robot ignores it) and run one episode of
    ``config.policy`` through ROS 2 with the one episode runner."""
    from cosmos_robotics.policies import make_policy
    from cosmos_robotics.rollout.runner import run_episodes
    from cosmos_robotics.ros2.bridge import Bridge, world_model_predictor
    from cosmos_robotics.ros2.env import RosChunkEnv

    transport = transport or ros_transport(BRIDGE_NODE, config.record)
    predictor = None
    if config.world_model:
        from cosmos_robotics.world_models.factory import make_world_model

        predictor = world_model_predictor(make_world_model(config.world_model))
    bridge = Bridge(transport, config, predictor)
    try:
        env = RosChunkEnv(bridge)
        policy = make_policy(config.policy)
        episodes = list(run_episodes(env, policy, seeds, desc=f"ros {policy.name}", progress=progress,
                                     keep_observations=False))
    finally:
        bridge.close()
        transport.close()
    return BridgeRun(policy.name, list(seeds), [e.is_success for e in episodes], [e.steps for e in episodes],
                     [round(s * 1e3, 3) for s in env.latencies_s], bridge.stats.__dict__, config.record)


def run_emulator(config: BridgeConfig, control: str = "poses", synchronous: bool = False, image_size: int = 128,
                 transport: Transport | None = None) -> None:
    """SimDroid-v0 on the graph until interrupted (Ctrl-C / SIGTERM)."""
    from cosmos_robotics.ros2.emulator import RobotEmulator

    transport = transport or ros_transport(EMULATOR_NODE)
    emulator = RobotEmulator(transport, config, control=control, image_size=image_size, synchronous=synchronous)
    signal.signal(signal.SIGTERM, lambda *_: emulator.stop())
    try:
        emulator.run_forever()
    finally:
        transport.close()


def write_json(path: str | Path, payload: dict) -> None:
    Path(path).write_text(json.dumps(payload, indent=2) + "\n")


def only_loopback() -> bool:
    """True inside a network namespace whose only interface is ``lo`` (``unshare -n``): DDS discovery traffic
    then cannot leave the machine. Tests and benchmarks that start DDS refuse to run otherwise."""
    import socket

    return [name for _, name in socket.if_nameindex()] == ["lo"]  # this namespace's links (sysfs may be the host's)


class EmulatorProcess:
    """``cosmos-robotics ros emulate`` as a child process (a separate ROS 2 participant), stopped on exit."""

    def __init__(self, *args: str, log: str | Path | None = None):
        self.args, self.log = args, log

    def __enter__(self) -> EmulatorProcess:
        import subprocess
        import sys

        out = open(self.log, "w") if self.log else subprocess.DEVNULL  # noqa: SIM115 (closed in __exit__)
        self._out = out
        self.process = subprocess.Popen([sys.executable, "-m", "cosmos_robotics.cli", "ros", "emulate", *self.args],
                                        stdout=out, stderr=subprocess.STDOUT)
        return self

    def __exit__(self, *exc) -> None:
        import subprocess

        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._out is not None and hasattr(self._out, "close"):
            self._out.close()
