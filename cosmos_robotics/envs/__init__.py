"""Chunk-level gymnasium envs: the simulator (``SimChunkEnv``) and world models (``CosmosWorldEnv``, batched by
``WorldModelVectorEnv``). Importing this module registers their ids."""

from cosmos_robotics.envs.registration import ENV_IDS, register_envs
from cosmos_robotics.envs.sim_chunk import SimChunkEnv
from cosmos_robotics.envs.vector import WorldModelVectorEnv
from cosmos_robotics.envs.world_model import CosmosWorldEnv

register_envs()

__all__ = ["ENV_IDS", "CosmosWorldEnv", "SimChunkEnv", "WorldModelVectorEnv", "register_envs"]
