"""The vLLM-Omni client against `cosmos-robotics serve`'s app over real HTTP: FD, ID and policy round trips."""

from __future__ import annotations

import numpy as np
import pytest
from serving_helpers import IDENTITY_ROT6D, ScriptedWorldModel, gradient_frames, running

from cosmos_robotics.serving import ServerConfig, create_app
from cosmos_robotics.world_models.remote import RemoteConfig, VllmOmniWorldModel


@pytest.fixture
def served():
    model = ScriptedWorldModel()
    with running(create_app(model, ServerConfig())) as url:
        with VllmOmniWorldModel(RemoteConfig(url, poll_interval_s=0.02, job_timeout_s=30)) as client:
            yield model, client


def test_models_and_health(served):
    model, client = served
    assert client.models() == ["scripted"]
    health = client.transport.client.get("/health").json()
    assert health["worker_alive"] is True and health["queued"] == 0


def test_forward_dynamics_round_trip(served):
    model, client = served
    frame = gradient_frames(1)[0]
    actions = np.column_stack([np.linspace(0.1, 0.4, 4), np.zeros((4, 2)), np.tile(IDENTITY_ROT6D, (4, 1))])
    result = client.forward_dynamics(frame, actions, embodiment="av", seed=5)

    sent = model.calls[0]
    np.testing.assert_allclose(sent.actions, actions)  # the chunk crossed the wire exactly
    np.testing.assert_array_equal(sent.frames[0], frame)  # PNG is lossless
    assert (sent.seed, sent.chunk_size, sent.num_inference_steps, sent.flow_shift) == (5, 4, 30, 10.0)
    assert result.frames.shape == (5, 48, 64, 3) and result.frames.dtype == np.uint8
    offsets = result.frames.mean(axis=(1, 2, 3)) - frame.mean()
    np.testing.assert_allclose(offsets, 6 * np.arange(5) + 5, atol=1.5)  # through H.264
    np.testing.assert_allclose(result.actions, actions)
    assert result.extras["resubmits"] == 0 and result.extras["job_id"].startswith("video_")


def test_inverse_dynamics_round_trip_decodes_through_adapter(served):
    model, client = served
    video = gradient_frames(5)
    result = client.inverse_dynamics(video, embodiment="av", chunk_size=4, seed=3, decode_actions=True)
    local = ScriptedWorldModel().inverse_dynamics(video, embodiment="av", chunk_size=4, seed=3, decode_actions=True)

    assert len(model.calls[0].frames) == 5  # the mp4 carried chunk + 1 frames
    assert result.actions.shape == (4, 9)
    np.testing.assert_allclose(result.actions, local.actions, atol=0.01)
    assert result.command.poses.shape == (5, 4, 4)  # decoded by the AV adapter like any backend
    np.testing.assert_allclose(result.command.poses, local.command.poses, atol=0.01)


def test_inverse_dynamics_skips_video_download_when_not_wanted(served):
    _, client = served
    result = client.inverse_dynamics(gradient_frames(5), embodiment="av", chunk_size=4, decode_video=False)
    assert result.frames is None and "download_s" not in result.timings and result.actions.shape == (4, 9)


def test_policy_state_travels_as_robolab_observation(served):
    model, client = served
    q = np.array([0.1, -0.5, 0.2, -2.0, 0.3, 1.5, -0.4])
    state = np.concatenate([q, [1 - 0.25]])  # gripper 0.25 closed -> model row 0.75
    result = client.policy(gradient_frames(1)[0], embodiment="droid_joint", instruction="pick the cup",
                           state=state, chunk_size=4)
    sent = model.calls[0]
    np.testing.assert_allclose(sent.state, state)
    assert sent.prompt == "pick the cup" and sent.adapter.name == "droid_joint"
    np.testing.assert_allclose(result.command.joint_positions, np.tile(q, (4, 1)), atol=1e-6)
    np.testing.assert_allclose(result.command.gripper, 0.0)  # model 1 (open) -> DROID 0 (open)
