"""World-model backends that call a Cosmos 3 server over HTTP (vLLM-Omni, TensorRT-LLM, NIM).

The client classes are imported lazily, so the wire-format modules (``request``, ``vllm_wire``, ...) can be
imported by the server without pulling in the HTTP clients.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "NimWorldModel": "nim", "RemoteConfig": "transport", "RemoteRequest": "request",
    "RemoteWorldModel": "base", "TrtLlmWorldModel": "trtllm", "VllmOmniWorldModel": "vllm_omni",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
