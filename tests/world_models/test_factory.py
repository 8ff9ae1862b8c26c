"""The backend registry resolves every name to a working constructor (a wrong module path or attribute fails here)."""

import pytest

from cosmos_robotics.errors import UnknownBackendError
from cosmos_robotics.world_models.base import WorldModel
from cosmos_robotics.world_models.factory import (
    available_backends,
    backend_constructor,
    backend_options,
    make_world_model,
    replica_options,
)


def test_unknown_backend_lists_the_registered_ones():
    with pytest.raises(UnknownBackendError, match=r"unknown world-model backend 'difusers'; available: .*diffusers"):
        make_world_model("difusers")


@pytest.mark.parametrize("name", ["vllm-omni", "trtllm", "nim"])
def test_remote_backends_construct_with_their_url_and_options(name):
    model = make_world_model(name, "http://127.0.0.1:9", max_retries=0)
    assert isinstance(model, WorldModel) and model.name == name
    assert model.config.base_url == "http://127.0.0.1:9" and model.config.max_retries == 0
    model.close()


def test_embedded_backend_builds_from_the_bundled_weights():
    model = make_world_model("embedded")
    assert isinstance(model, WorldModel) and model.supports("droid", "policy") and not model.supports("av", "policy")


def test_every_registered_backend_is_covered_here():
    assert set(available_backends()) == {"diffusers", "vllm-omni", "trtllm", "nim", "embedded"}


def test_replica_options_are_options_of_their_backend():
    """What a Ray worker with GPUs passes to its backend: CUDA for the embedded model, a split over all its GPUs for
    a Cosmos 3 pipeline; each a keyword the backend's constructor really takes."""
    assert replica_options("embedded", 0) == replica_options("diffusers", 1) == {}
    assert replica_options("embedded", 1) == {"device": "cuda"}
    assert replica_options("diffusers", 4) == {"devices": 4}
    for name, gpus in (("embedded", 1), ("diffusers", 4)):
        assert set(replica_options(name, gpus)) <= set(backend_options(backend_constructor(name)))
