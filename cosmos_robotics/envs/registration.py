"""Gymnasium ids of the chunk-level envs (``gymnasium.make(id, **kwargs)``; kwargs go to the env class)."""

from __future__ import annotations

import gymnasium as gym

ENV_IDS = {
    # the ground-truth simulator behind the chunk interface
    "cosmos_robotics/SimDroid-Chunk-v0": ("cosmos_robotics.envs.sim_chunk:SimChunkEnv", {}),
    # the DROID task inside the shipped embedded world model (CPU, no download)
    "cosmos_robotics/Droid-WorldModel-v0": ("cosmos_robotics.envs.world_model:CosmosWorldEnv",
                                            {"world_model": "embedded", "embodiment": "droid"}),
    # the DROID task inside Cosmos3-Nano through diffusers (needs world_model_options={"checkpoint": ...})
    "cosmos_robotics/Droid-Cosmos3-v0": ("cosmos_robotics.envs.world_model:CosmosWorldEnv",
                                         {"world_model": "diffusers", "embodiment": "droid"}),
}


def register_envs() -> None:
    for env_id, (entry_point, kwargs) in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=kwargs)
