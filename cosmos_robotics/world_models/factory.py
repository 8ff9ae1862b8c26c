"""Backend names -> world-model constructors, imported lazily so a backend's heavy dependencies load only on use.

Each entry is ``"module:callable"``; the callable is called as ``callable(checkpoint, **options)`` (without the
checkpoint when it is ``None``, so the backend's default model is used) and returns a :class:`WorldModel`.
"""

from __future__ import annotations

import inspect
from importlib import import_module

from cosmos_robotics.errors import UnknownBackendError, UnknownBackendOptionError
from cosmos_robotics.world_models.base import WorldModel

BACKENDS: dict[str, str] = {
    "diffusers": "cosmos_robotics.world_models.cosmos3.diffusers_backend:Cosmos3DiffusersBackend.from_pretrained",
    # remote servers: the "checkpoint" is the server's base URL, options are RemoteConfig fields
    "vllm-omni": "cosmos_robotics.world_models.remote:VllmOmniWorldModel",
    "trtllm": "cosmos_robotics.world_models.remote:TrtLlmWorldModel",
    "nim": "cosmos_robotics.world_models.remote:NimWorldModel",
    # the shipped CPU default (checkpoint: a weights directory; default: the bundled weights)
    "embedded": "cosmos_robotics.world_models.embedded.backend:EmbeddedWorldModel",
}


def available_backends() -> list[str]:
    return sorted(BACKENDS)


def make_world_model(backend: str, checkpoint: str | None = None, **options) -> WorldModel:
    """Build the world model registered as ``backend``; ``options`` go to its constructor unchanged."""
    constructor = backend_constructor(backend)
    unknown = sorted(set(options) - set(backend_options(constructor)))
    if unknown:
        raise UnknownBackendOptionError(backend, unknown, backend_options(constructor))
    return constructor(**options) if checkpoint is None else constructor(checkpoint, **options)


def backend_constructor(backend: str):
    """The callable registered as ``backend`` (its module imported now)."""
    if backend not in BACKENDS:
        raise UnknownBackendError(backend, available_backends())
    module_name, _, attribute = BACKENDS[backend].partition(":")
    constructor = import_module(module_name)
    for part in attribute.split("."):
        constructor = getattr(constructor, part)
    return constructor


def replica_options(backend: str, gpus: int) -> dict:
    """Options that put ``backend`` on the ``gpus`` GPUs a worker process was given (Ray makes them its
    ``cuda:0..gpus-1``): the embedded model on CUDA; a Cosmos 3 pipeline split over all of them when several."""
    if gpus < 1:
        return {}
    if backend == "embedded":
        return {"device": "cuda"}
    if backend == "diffusers" and gpus > 1:
        return {"devices": gpus}
    return {}


def backend_options(constructor) -> list[str]:
    """The keyword options a backend takes: its constructor's keywords, or its config dataclass's fields."""
    from dataclasses import fields, is_dataclass

    params = inspect.signature(constructor).parameters
    names = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]
    config = getattr(constructor, "config_class", None)
    if config is not None and is_dataclass(config):
        names = [f.name for f in fields(config)][1:]  # the first field is the checkpoint / base URL
    return names
