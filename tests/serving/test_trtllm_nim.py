"""TensorRT-LLM and NIM clients against small fake servers on 127.0.0.1 that follow the documented formats.

The fakes check what the docs require of a request (TRT: multipart, ``format=safetensors``, bearer key, file field
per mode; NIM: data-URL media, chunk a multiple of 4, no forbidden keys for nano-droid) and answer in the
documented response format with outputs of :class:`ScriptedWorldModel`, so the tests see exactly what the wire did.
"""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
import pytest
import safetensors.numpy
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from serving_helpers import IDENTITY_ROT6D, ScriptedWorldModel, gradient_frames, running

from cosmos_robotics.embodiments import ActionMode
from cosmos_robotics.errors import MalformedResponseError, RemoteTimeoutError, RequestRejectedError
from cosmos_robotics.media import write_video
from cosmos_robotics.world_models import WorldModelRequest
from cosmos_robotics.world_models.remote import (
    NimWorldModel,
    RemoteConfig,
    TrtLlmWorldModel,
    VllmOmniWorldModel,
)
from cosmos_robotics.world_models.remote.media_bytes import decode_image, decode_mp4

AV_ACTIONS = np.column_stack([np.linspace(0.1, 0.3, 4), np.zeros((4, 2)), np.tile(IDENTITY_ROT6D, (4, 1))])
Q = np.array([0.1, -0.5, 0.2, -2.0, 0.3, 1.5, -0.4])
NANO_DROID_FORBIDDEN = {"raw_action_dim", "action_space", "image_size", "action_fps", "history_length", "use_state"}
FAST = {"backoff_s": 0.05, "backoff_max_s": 0.1, "job_timeout_s": 20}


def reject(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message}}, status)


def decode_media(data: bytes, is_video: bool) -> np.ndarray:
    return decode_mp4(data) if is_video else decode_image(data)[None]


def mp4_b64(frames: np.ndarray, fps: float, tmp) -> str:
    return base64.b64encode(write_video(frames, tmp / "out.mp4", fps).read_bytes()).decode()


def fake_trtllm(model: ScriptedWorldModel, behaviour: dict) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/videos/sync")
    async def sync(request: Request):
        behaviour["calls"] = behaviour.get("calls", 0) + 1
        if behaviour.get("fail_first", 0) >= behaviour["calls"]:
            return reject(503, "warming up")
        if request.headers.get("authorization") != "Bearer tensorrt_llm":
            return reject(401, "invalid API key")
        form = await request.form()
        if form.get("format") != "safetensors" or request.headers.get("accept") != "application/octet-stream":
            return reject(400, "action_mode requires tensor output (format=safetensors)")
        extra = json.loads(form["extra_params"])
        mode = ActionMode(extra["action_mode"])
        field = "image_reference" if mode is ActionMode.POLICY else "input_reference"
        upload = form.get(field)
        if upload is None or extra.get("use_guardrails") is not False:
            return reject(422, f"expected file {field!r} and use_guardrails false")
        frames = decode_media(await upload.read(), upload.content_type == "video/mp4")
        joint = extra["domain_name"] == "droid_lerobot" and extra["raw_action_dim"] == 8
        result = model.generate(WorldModelRequest(
            mode, "droid_joint" if joint else extra["domain_name"], frames,
            actions=np.asarray(extra["action"]) if mode is ActionMode.FORWARD_DYNAMICS else None,
            state=np.asarray(extra["action"]) if joint else None, chunk_size=extra["action_chunk_size"],
            seed=int(form["seed"])))
        tensors = {"video": result.frames[None] if result.frames is not None else np.zeros((1, 1, 1, 1, 3), np.uint8),
                   "frame_rate": np.array(extra["action_fps"], np.float32)}
        if mode is not ActionMode.FORWARD_DYNAMICS:
            tensors["action"] = result.actions.astype(np.float32)
        if behaviour.get("mangle") == "short_action":
            tensors["action"] = tensors["action"][:-1]
        body = b"<html>oops</html>" if behaviour.get("mangle") == "garbage" else safetensors.numpy.save(tensors)
        return Response(body, media_type="application/octet-stream")

    return app


def fake_nim(model: ScriptedWorldModel, behaviour: dict, tmp) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/infer")
    async def infer(body: dict):
        behaviour["calls"] = behaviour.get("calls", 0) + 1
        if behaviour.get("slow"):
            await asyncio.sleep(behaviour["slow"])
        header, _, payload = body["input_reference"].partition(",")
        if header not in ("data:image/png;base64", "data:video/mp4;base64"):
            return reject(422, f"input_reference must be a base64 data URL, got {header[:40]!r}")
        params, mode = body["action_params"], ActionMode(body["model_mode"])
        if params["action_chunk_size"] % 4:
            return reject(422, "action_params.action_chunk_size must be a multiple of 4")
        joint = params["domain_name"] == "droid_lerobot" and mode is ActionMode.POLICY and "raw_action_dim" not in params
        sent_forbidden = (NANO_DROID_FORBIDDEN & set(params)) | ({"fps", "num_frames", "negative_prompt"} & set(body))
        if joint and sent_forbidden:
            return reject(422, f"nano-droid does not accept {sorted(sent_forbidden)}")
        frames = decode_media(base64.b64decode(payload), header.startswith("data:video"))
        state = None
        if joint:
            obs = params["observation"]
            state = np.concatenate([obs["observation/joint_position"], [1 - obs["observation/gripper_position"]]])
        result = model.generate(WorldModelRequest(
            mode, "droid_joint" if joint else params["domain_name"], frames,
            actions=np.asarray(params["action"]) if "action" in params else None, state=state,
            chunk_size=params["action_chunk_size"], seed=body["seed"], guidance_scale=body["guidance_scale"]))
        out = {"b64_video": mp4_b64(result.frames, 10, tmp) if result.frames is not None else None}
        if mode is not ActionMode.FORWARD_DYNAMICS:
            data = result.actions.astype(np.float32)
            shape = [len(data) + 1, data.shape[1]] if behaviour.get("mangle") == "bad_shape" else list(data.shape)
            out["action"] = {"data": data.tolist(), "shape": shape, "dtype": "float32",
                             "raw_action_dim": data.shape[1], "action_mode": mode.value}
        return out

    return app


@pytest.fixture(scope="module")
def trt():
    model, behaviour = ScriptedWorldModel(), {}
    with running(fake_trtllm(model, behaviour)) as url:
        with TrtLlmWorldModel(RemoteConfig(url, api_key="tensorrt_llm", **FAST)) as client:
            yield model, behaviour, client, url


@pytest.fixture(scope="module")
def nim(tmp_path_factory):
    model, behaviour = ScriptedWorldModel(), {}
    with running(fake_nim(model, behaviour, tmp_path_factory.mktemp("nim"))) as url:
        with NimWorldModel(RemoteConfig(url, **FAST)) as client:
            yield model, behaviour, client


@pytest.fixture(autouse=True)
def reset(request):
    for name in ("trt", "nim"):
        if name in request.fixturenames:
            request.getfixturevalue(name)[1].clear()


def test_trtllm_forward_dynamics_is_lossless(trt):
    _, _, client, _ = trt
    frame = gradient_frames(1)[0]
    result = client.forward_dynamics(frame, AV_ACTIONS, embodiment="av", seed=4)
    local = ScriptedWorldModel().forward_dynamics(frame, AV_ACTIONS, embodiment="av", seed=4)
    np.testing.assert_array_equal(result.frames, local.frames)  # raw THWC uint8, batch dim removed
    assert result.extras["frame_rate"] == 10.0


def test_trtllm_inverse_dynamics_and_policy_state(trt):
    model, _, client, _ = trt
    video = gradient_frames(5)
    result = client.inverse_dynamics(video, embodiment="av", chunk_size=4, seed=1, decode_actions=True)
    local = ScriptedWorldModel().inverse_dynamics(video, embodiment="av", chunk_size=4, seed=1, decode_actions=True)
    np.testing.assert_allclose(result.actions, local.actions, atol=0.01)
    assert result.command.poses.shape == (5, 4, 4)

    state = np.concatenate([Q, [0.6]])
    policy = client.policy(gradient_frames(1)[0], embodiment="droid_joint", instruction="wipe", state=state,
                           chunk_size=4, decode_video=False)
    np.testing.assert_allclose(model.calls[-1].state, state)  # the 8-value state row travelled as extra "action"
    np.testing.assert_allclose(policy.command.joint_positions, np.tile(Q, (4, 1)), atol=1e-6)


def test_trtllm_retries_5xx_then_succeeds(trt):
    _, behaviour, client, _ = trt
    behaviour["fail_first"] = 2
    result = client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av")
    assert behaviour["calls"] == 3 and result.frames.shape == (5, 48, 64, 3)


def test_trtllm_typed_errors(trt):
    _, behaviour, client, url = trt
    with TrtLlmWorldModel(RemoteConfig(url, api_key="wrong", **FAST)) as unauthorized:
        with pytest.raises(RequestRejectedError, match="API key") as info:
            unauthorized.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av")
        assert info.value.status == 401
    behaviour["mangle"] = "garbage"
    with pytest.raises(MalformedResponseError, match="safetensors"):
        client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av")
    behaviour["mangle"] = "short_action"
    with pytest.raises(MalformedResponseError, match=r"expected finite \[4, 9\]"):
        client.inverse_dynamics(gradient_frames(5), embodiment="av", chunk_size=4)


def test_nim_round_trips(nim):
    model, _, client = nim
    frame = gradient_frames(1)[0]
    fd = client.forward_dynamics(frame, AV_ACTIONS, embodiment="av", seed=2)
    np.testing.assert_allclose(model.calls[-1].actions, AV_ACTIONS)
    np.testing.assert_allclose(fd.frames.mean(axis=(1, 2, 3)) - frame.mean(), 6 * np.arange(5) + 2, atol=1.5)

    video = gradient_frames(5)
    inverse = client.inverse_dynamics(video, embodiment="av", chunk_size=4)
    local = ScriptedWorldModel().inverse_dynamics(video, embodiment="av", chunk_size=4)
    np.testing.assert_allclose(inverse.actions, local.actions, atol=0.01)

    state = np.concatenate([Q, [0.0]])
    policy = client.policy(frame, embodiment="droid_joint", instruction="stack", state=state, chunk_size=4)
    assert model.calls[-1].guidance_scale == 3.0  # the Policy-DROID preset reached the server
    np.testing.assert_allclose(policy.command.joint_positions, np.tile(Q, (4, 1)), atol=1e-6)
    assert policy.frames is None  # action-only answer


def test_nim_typed_errors(nim):
    _, behaviour, client = nim
    with pytest.raises(RequestRejectedError, match="multiple of 4") as info:
        client.inverse_dynamics(gradient_frames(4), embodiment="av", chunk_size=3)
    assert info.value.status == 422
    behaviour["mangle"] = "bad_shape"
    with pytest.raises(MalformedResponseError, match="does not match its shape"):
        client.inverse_dynamics(gradient_frames(5), embodiment="av", chunk_size=4)


def test_nim_read_timeout_is_typed_and_not_retried(nim):
    _, behaviour, client = nim
    behaviour["slow"] = 1.0
    with NimWorldModel(RemoteConfig(client.config.base_url, read_timeout_s=0.3, **FAST)) as impatient:
        with pytest.raises(RemoteTimeoutError, match="read_timeout_s"):
            impatient.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av")
    assert behaviour["calls"] == 1  # not retried: the server may still be generating


def test_vllm_client_rejects_job_without_id():
    app = FastAPI()
    app.post("/v1/videos")(lambda: {"object": "video", "status": "queued"})
    with running(app) as url, VllmOmniWorldModel(RemoteConfig(url, **FAST)) as client:
        with pytest.raises(MalformedResponseError, match="without an 'id'"):
            client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av")
