"""End to end: the tiny (random-weight) Cosmos 3 diffusers checkpoint served by our app, driven by the vLLM-Omni
client over real HTTP, compared with calling the same backend directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from serving_helpers import running

from cosmos_robotics.media import read_image
from cosmos_robotics.serving import create_app
from cosmos_robotics.world_models.cosmos3.diffusers_backend import Cosmos3DiffusersBackend
from cosmos_robotics.world_models.cosmos3.tiny_checkpoint import write_tiny_checkpoint
from cosmos_robotics.world_models.remote import RemoteConfig, VllmOmniWorldModel
from cosmos_robotics.world_models.remote.media_bytes import decode_mp4, encode_mp4

COOKBOOK = Path(__file__).resolve().parents[2] / "datasets" / "cosmos3_cookbook"


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> Cosmos3DiffusersBackend:
    checkpoint = write_tiny_checkpoint(tmp_path_factory.mktemp("cosmos3_tiny") / "Cosmos3-Tiny")
    return Cosmos3DiffusersBackend.from_pretrained(checkpoint, device="cpu", progress=False)


def test_tiny_diffusers_forward_dynamics_over_http_matches_direct_call(backend):
    frame = np.ascontiguousarray(read_image(COOKBOOK / "images/av_0.jpg")[::4, ::4][:112, :208])
    actions = np.asarray(json.loads((COOKBOOK / "actions/av_traj_forward.json").read_text()))[:4]
    direct = backend.forward_dynamics(frame, actions, embodiment="av", seed=3, num_inference_steps=2)
    with running(create_app(backend)) as url:
        with VllmOmniWorldModel(RemoteConfig(url, poll_interval_s=0.05, job_timeout_s=120)) as client:
            remote = client.forward_dynamics(frame, actions, embodiment="av", seed=3, num_inference_steps=2)
    # same seed, same request -> the same video; the server sends it as H.264, so compare with the same encoding
    # of the direct result (random tiny weights give noise-like frames that H.264 alters a lot)
    expected = decode_mp4(encode_mp4(direct.frames, fps=10))
    assert remote.frames.shape == direct.frames.shape == expected.shape
    np.testing.assert_allclose(remote.frames, expected, atol=2)
