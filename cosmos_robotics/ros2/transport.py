"""How serialized messages move: the bridge and the emulator only see ``Transport``, never rclpy.

A transport moves CDR bytes (``messages.serialize``) between named topics. Two implementations: ``InMemoryBus``
(one process, synchronous delivery: unit tests and replay) and ``rclpy_transport.RclpyTransport`` (the real ROS 2
graph). ``recording.RecordingTransport`` wraps either and writes every message sent or received to a bag.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cosmos_robotics.errors import RosBridgeError

Callback = Callable[[bytes], None]
RELIABILITIES = ("reliable", "best_effort")


@dataclass(frozen=True)
class Qos:
    """KEEP_LAST ``depth`` with ``reliability``: reliable for commands, best effort (sensor data) for images."""

    reliability: str = "reliable"
    depth: int = 10

    def __post_init__(self):
        if self.reliability not in RELIABILITIES or self.depth < 1:
            raise RosBridgeError(f"QoS: expected reliability in {RELIABILITIES} and depth >= 1, got "
                                 f"{self.reliability!r}, depth {self.depth}")


COMMANDS = Qos("reliable", 10)
SENSORS = Qos("best_effort", 5)


class Transport(Protocol):
    def publisher(self, topic: str, msgtype: str, qos: Qos) -> Callable[[bytes], None]: ...

    def subscribe(self, topic: str, msgtype: str, qos: Qos, callback: Callback) -> None: ...

    def close(self) -> None: ...


def now_ns() -> int:
    """The bridge's clock: wall time, which every process on the machine (and a robot's PTP clock) shares."""
    return time.time_ns()


class InMemoryBus:
    """Topics inside one process; a publish calls every subscriber's callback before it returns."""

    def __init__(self):
        self._subscribers: dict[str, list[tuple[str, Callback]]] = defaultdict(list)
        self._types: dict[str, str] = {}
        self._lock = threading.Lock()

    def _check_type(self, topic: str, msgtype: str) -> None:
        known = self._types.setdefault(topic, msgtype)
        if known != msgtype:
            raise RosBridgeError(f"topic {topic!r} carries {known}, not {msgtype}")

    def publisher(self, topic: str, msgtype: str, qos: Qos) -> Callable[[bytes], None]:
        with self._lock:
            self._check_type(topic, msgtype)

        def publish(data: bytes) -> None:
            with self._lock:
                callbacks = [cb for _, cb in self._subscribers[topic]]
            for callback in callbacks:
                callback(data)

        return publish

    def subscribe(self, topic: str, msgtype: str, qos: Qos, callback: Callback) -> None:
        with self._lock:
            self._check_type(topic, msgtype)
            self._subscribers[topic].append((msgtype, callback))

    def close(self) -> None:
        with self._lock:
            self._subscribers.clear()
