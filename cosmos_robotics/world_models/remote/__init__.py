"""World-model backends that call a Cosmos 3 server over HTTP (vLLM-Omni, TensorRT-LLM, NIM)."""

from cosmos_robotics.world_models.remote.base import RemoteWorldModel
from cosmos_robotics.world_models.remote.nim import NimWorldModel
from cosmos_robotics.world_models.remote.transport import RemoteConfig
from cosmos_robotics.world_models.remote.trtllm import TrtLlmWorldModel
from cosmos_robotics.world_models.remote.vllm_omni import VllmOmniWorldModel
from cosmos_robotics.world_models.remote.wire import RemoteRequest

__all__ = [
    "NimWorldModel", "RemoteConfig", "RemoteRequest", "RemoteWorldModel", "TrtLlmWorldModel", "VllmOmniWorldModel",
]
