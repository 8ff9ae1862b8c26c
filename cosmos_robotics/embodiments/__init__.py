"""Embodiment adapters: raw robot data <-> the exact Cosmos 3 action contract (and back into robot commands)."""

from cosmos_robotics.embodiments.base import ActionMode, EmbodimentAdapter, PoseAdapter, Preset, RobotCommand
from cosmos_robotics.embodiments.domains import DOMAINS, Domain, get_domain
from cosmos_robotics.embodiments.registry import available_adapters, get_adapter

__all__ = [
    "ActionMode",
    "DOMAINS",
    "Domain",
    "EmbodimentAdapter",
    "PoseAdapter",
    "Preset",
    "RobotCommand",
    "available_adapters",
    "get_adapter",
    "get_domain",
]
