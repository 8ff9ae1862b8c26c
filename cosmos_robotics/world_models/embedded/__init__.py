"""The embedded default world model: small, CPU-sized, trained on SimDroid-v0, shipped with the package."""

from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

__all__ = ["EmbeddedWorldModel"]
