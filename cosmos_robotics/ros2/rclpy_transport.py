"""The real ROS 2 graph through rclpy: raw (already serialized) publish and subscribe, spun in a thread.

rclpy needs the generated message class of a topic only for its type support; the bytes themselves come from
``messages`` (rosbags), so no message is converted twice. rclpy is the system ROS 2 on a robot, or the pinned
``ros-jazzy-*`` wheels of the ``ros2`` extra here. ``AMENT_PREFIX_PATH`` defaults to the venv (the wheels install
their share/ index there).
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable

from cosmos_robotics.errors import CosmosRoboticsError, RosBridgeError
from cosmos_robotics.ros2.transport import Callback, Qos


def _rclpy():
    os.environ.setdefault("AMENT_PREFIX_PATH", sys.prefix)
    os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    try:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
    except ImportError as exc:
        raise RosBridgeError(f"rclpy is not importable ({exc}): source your ROS 2 (Jazzy or later) setup, or "
                             "install the wheels with pip install -e '.[ros2]'") from None
    return rclpy, SingleThreadedExecutor


def message_class(msgtype: str):
    """``sensor_msgs/msg/Image`` -> ``sensor_msgs.msg.Image``."""
    package, kind, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError):
        raise RosBridgeError(f"no rclpy message class for {msgtype}: install the {package} package") from None


class RclpyTransport:
    """One rclpy node; callbacks run on its executor thread."""

    def __init__(self, node_name: str, namespace: str = ""):
        rclpy, executor_cls = _rclpy()
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

        self._rclpy = rclpy
        self.rejected = 0
        self._profile = lambda q: QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=q.depth,
            reliability=ReliabilityPolicy.RELIABLE if q.reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT)
        from rclpy.signals import SignalHandlerOptions

        self.context = rclpy.Context()
        # Python's own Ctrl-C / SIGTERM handling stays in charge: the process closes its transport on the way out.
        rclpy.init(context=self.context, signal_handler_options=SignalHandlerOptions.NO)
        self.node = rclpy.create_node(node_name, namespace=namespace or None, context=self.context)
        self._executor = executor_cls(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name=f"{node_name}-spin", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except Exception:  # the context was shut down while spinning: closing is the only way out
            if self.context.ok():
                raise

    def publisher(self, topic: str, msgtype: str, qos: Qos) -> Callable[[bytes], None]:
        pub = self.node.create_publisher(message_class(msgtype), topic, self._profile(qos))
        return pub.publish  # accepts serialized bytes

    def subscribe(self, topic: str, msgtype: str, qos: Qos, callback: Callback) -> None:
        def guarded(data: bytes) -> None:
            """A bad message from another node must not stop the spin thread: it is logged and counted."""
            try:
                callback(data)
            except (CosmosRoboticsError, ValueError, KeyError) as exc:
                self.rejected += 1
                self.node.get_logger().warning(f"{topic}: message rejected: {exc}")

        self.node.create_subscription(message_class(msgtype), topic, guarded, self._profile(qos), raw=True)

    def subscriber_count(self, topic: str) -> int:
        return self.node.count_subscribers(topic)

    def publisher_count(self, topic: str) -> int:
        return self.node.count_publishers(topic)

    def close(self) -> None:
        if self.context.ok():
            self._executor.shutdown(timeout_sec=1.0)
            self.node.destroy_node()
            self._rclpy.shutdown(context=self.context)
        self._thread.join(timeout=2.0)
