"""World-model backends behind one interface: Cosmos 3 (diffusers, remote servers) and the embedded default."""

from cosmos_robotics.world_models.base import BackendOutput, WorldModel, WorldModelRequest, WorldModelResult

__all__ = ["BackendOutput", "WorldModel", "WorldModelRequest", "WorldModelResult"]
