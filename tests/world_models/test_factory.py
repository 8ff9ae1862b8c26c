import pytest

from cosmos_robotics.errors import UnknownBackendError
from cosmos_robotics.world_models.factory import available_backends, make_world_model


def test_unknown_backend_lists_the_registered_ones():
    with pytest.raises(UnknownBackendError, match=r"unknown world-model backend 'difusers'; available: .*diffusers"):
        make_world_model("difusers")
    assert {"diffusers", "vllm-omni", "trtllm", "nim"} <= set(available_backends())
