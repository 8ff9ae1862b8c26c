"""OpenPI websocket interop: openpi's msgpack array codec, the Policy-DROID wire format, and its client."""

from cosmos_robotics.policies.openpi.client import PolicyDroidClient

__all__ = ["PolicyDroidClient"]
