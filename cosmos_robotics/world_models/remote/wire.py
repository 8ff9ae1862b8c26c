"""The one request model every remote backend shares, and the wire formats built from it.

:class:`RemoteRequest` is a resolved :class:`WorldModelRequest` that spells itself for vLLM-Omni (multipart
``/v1/videos``), TensorRT-LLM (``/v1/videos/sync``) and NIM (``/v1/infer``), and reads itself back from a vLLM-Omni
form (our own ``cosmos-robotics serve``). Both directions live here so client and server cannot drift apart.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosmos_robotics.embodiments import ActionMode, EmbodimentAdapter, get_adapter, get_domain
from cosmos_robotics.errors import ActionContractError, MalformedResponseError, PayloadError
from cosmos_robotics.world_models.base import WorldModelRequest
from cosmos_robotics.world_models.remote.media_bytes import decode_image, decode_mp4, encode_mp4, encode_png

# Contracts that share a domain name with a pose contract but speak absolute joints ("action_space": "joint_pos").
JOINT_SPACE_ADAPTERS = {"droid_lerobot": "droid_joint"}


@dataclass(frozen=True)
class Media:
    """The conditioning file as sent: a PNG frame (FD / policy) or an mp4 clip of ``chunk + 1`` frames (ID)."""

    filename: str
    data: bytes
    content_type: str

    def data_url(self) -> str:
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode()}"


def _even(frames: np.ndarray) -> np.ndarray:
    """H.264 (yuv420p) needs even sizes; crop here so ``size`` matches what the server decodes."""
    h, w = frames.shape[1] - frames.shape[1] % 2, frames.shape[2] - frames.shape[2] % 2
    return frames[:, :h, :w]


@dataclass(frozen=True)
class RemoteRequest(WorldModelRequest):
    """A resolved request plus its wire spellings. Build with :meth:`of` (client) or :meth:`from_vllm_form` (server)."""

    @classmethod
    def of(cls, request: WorldModelRequest) -> RemoteRequest:
        fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(WorldModelRequest)}
        resolved = cls(**fields).resolved()
        if resolved.mode is ActionMode.INVERSE_DYNAMICS and len(resolved.frames) < resolved.num_frames:
            raise ActionContractError(resolved.adapter.name, "frames", f"{resolved.num_frames} frames (chunk + 1)",
                                      f"{len(resolved.frames)} frames")
        return resolved

    # -- shared derived fields --------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return self.chunk_size + 1

    @property
    def fps(self) -> float:
        return self.adapter.preset.fps

    @property
    def joint_space(self) -> bool:
        return self.adapter.name in JOINT_SPACE_ADAPTERS.values()

    def sent_frames(self) -> np.ndarray:
        if self.mode is ActionMode.INVERSE_DYNAMICS:
            return _even(self.frames[: self.num_frames])
        return self.frames[:1]

    @property
    def size(self) -> str:
        h, w = self.sent_frames().shape[1:3]
        return f"{w}x{h}"

    def media(self) -> Media:
        frames = self.sent_frames()
        if self.mode is ActionMode.INVERSE_DYNAMICS:
            return Media("input.mp4", encode_mp4(frames, self.fps), "video/mp4")
        return Media("input.png", encode_png(frames[0]), "image/png")

    def observation(self) -> dict[str, Any] | None:
        """Policy-DROID state row ``[q(7), 1 - gripper]`` -> the RoboLab observation keys servers expect."""
        if self.state is None:
            return None
        if not self.joint_space:
            raise ActionContractError(self.adapter.name, "state", "None (this contract has no state row)", "a state")
        state = self.adapter.as_array(self.state, "state", (8,))
        return {"observation/joint_position": state[:7].tolist(), "observation/gripper_position": float(1 - state[7])}

    # -- vLLM-Omni --------------------------------------------------------------------------------------------
    def extra_params(self) -> dict[str, Any]:
        adapter = self.adapter
        extra: dict[str, Any] = {
            "action_mode": self.mode.value, "domain_name": adapter.domain_name, "action_chunk_size": self.chunk_size,
            "image_size": adapter.preset.resolution_tier, "view_point": adapter.preset.view_point,
            "raw_action_dim": adapter.action_dim, "guardrails": False,
        }
        if self.actions is not None:
            extra["action"] = self.actions.tolist()
        if self.joint_space:
            extra["action_space"] = "joint_pos"
        if (observation := self.observation()) is not None:
            extra["observation"] = observation
        return extra

    def vllm_form(self, model: str | None = None) -> dict[str, str]:
        form = {
            "prompt": self.prompt, "num_frames": str(self.num_frames), "fps": str(self.fps), "size": self.size,
            "num_inference_steps": str(self.num_inference_steps), "guidance_scale": str(self.guidance_scale),
            "flow_shift": str(self.flow_shift), "seed": str(self.seed), "extra_params": json.dumps(self.extra_params()),
        }
        if model:
            form["model"] = model
        return form

    @classmethod
    def from_vllm_form(cls, form: Mapping[str, Any], media: Media) -> RemoteRequest:
        """Server side: a ``POST /v1/videos`` form + file -> a validated request (``PayloadError`` names the field)."""
        extra = _json_object(form.get("extra_params"), "extra_params")
        mode = _required(extra, "action_mode", "extra_params.action_mode")
        domain = str(_required(extra, "domain_name", "extra_params.domain_name"))
        get_domain(domain)  # unknown names -> UnknownEmbodimentError listing the valid ones
        space = extra.get("action_space")
        if space in ("joint_pos", "joint_position"):
            if domain not in JOINT_SPACE_ADAPTERS:
                raise PayloadError("extra_params.action_space", f"joint_pos only for {sorted(JOINT_SPACE_ADAPTERS)}",
                                   f"joint_pos with domain {domain!r}")
            embodiment = JOINT_SPACE_ADAPTERS[domain]
        elif space is None:
            embodiment = domain
        else:
            raise PayloadError("extra_params.action_space", "absent or 'joint_pos'", repr(space))
        video = media.content_type.startswith("video/") or media.filename.lower().endswith(".mp4")
        frames = decode_mp4(media.data) if video else decode_image(media.data)[None]
        actions = extra.get("action")
        state = None
        if (observation := extra.get("observation")) is not None:
            state = _state_row(embodiment, observation)
        flow_shift = form.get("flow_shift", extra.get("flow_shift"))
        request = cls(
            mode=str(mode), embodiment=embodiment, frames=frames,
            actions=None if actions is None else _float_array(actions, "extra_params.action"),
            prompt=form.get("prompt"), state=state,
            chunk_size=_number(extra.get("action_chunk_size"), int, "extra_params.action_chunk_size"),
            seed=_number(form.get("seed"), int, "seed") or 0,
            num_inference_steps=_number(form.get("num_inference_steps"), int, "num_inference_steps"),
            guidance_scale=_number(form.get("guidance_scale"), float, "guidance_scale"),
            flow_shift=_number(flow_shift, float, "flow_shift"),
        ).resolved()
        num_frames = _number(form.get("num_frames"), int, "num_frames")
        if num_frames is not None and num_frames != request.num_frames:
            raise PayloadError("num_frames", f"action_chunk_size + 1 = {request.num_frames}", str(num_frames))
        if (size := form.get("size")) is not None:
            if not re.fullmatch(r"\d+x\d+", str(size)):
                raise PayloadError("size", "'WxH' (e.g. 832x480)", repr(size))
            if str(size) != request.size:
                raise PayloadError("size", f"the input_reference size {request.size}", str(size))
        if request.mode is ActionMode.INVERSE_DYNAMICS and len(request.frames) < request.num_frames:
            raise PayloadError("input_reference", f"a video of {request.num_frames} frames",
                               f"{len(request.frames)} frames")
        return request

    # -- TensorRT-LLM -----------------------------------------------------------------------------------------
    def trtllm_form(self) -> dict[str, str]:
        adapter = self.adapter
        extra: dict[str, Any] = {
            "action_mode": self.mode.value, "domain_name": adapter.domain_name, "raw_action_dim": adapter.action_dim,
            "action_chunk_size": self.chunk_size, "action_resolution": adapter.preset.resolution_tier,
            "view_point": adapter.preset.view_point, "action_fps": self.fps, "flow_shift": self.flow_shift,
            "use_guardrails": False,
        }
        if self.actions is not None:
            extra["action"] = self.actions.tolist()
        if self.state is not None:  # Policy-DROID on TRT-LLM: the 8-value state row travels as "action"
            self.observation()  # validates the state
            extra["action"] = np.asarray(self.state, dtype=np.float64).tolist()
        return {
            "prompt": self.prompt, "negative_prompt": "", "seed": str(self.seed),
            "num_inference_steps": str(self.num_inference_steps), "guidance_scale": str(self.guidance_scale),
            "format": "safetensors", "response_format": "file", "extra_params": json.dumps(extra),
        }

    @property
    def trtllm_file_field(self) -> str:
        return "image_reference" if self.mode is ActionMode.POLICY else "input_reference"

    # -- NIM --------------------------------------------------------------------------------------------------
    def nim_payload(self) -> dict[str, Any]:
        adapter = self.adapter
        params: dict[str, Any] = {"domain_name": adapter.domain_name, "action_chunk_size": self.chunk_size}
        payload: dict[str, Any] = {
            "model_mode": self.mode.value, "prompt": self.prompt, "input_reference": self.media().data_url(),
            "action_params": params, "num_inference_steps": self.num_inference_steps,
            "guidance_scale": self.guidance_scale, "flow_shift": self.flow_shift, "seed": self.seed,
        }
        if self.joint_space:  # nano-droid: the server owns dims, tier, fps; sending them is an error
            if (observation := self.observation()) is not None:
                params["observation"] = observation
            return payload
        params.update(raw_action_dim=adapter.action_dim, image_size=str(adapter.preset.resolution_tier),
                      action_fps=self.fps)
        if self.actions is not None:
            params["action"] = self.actions.tolist()
        payload["fps"] = self.fps
        return payload


# -- the action object every server returns --------------------------------------------------------------------
def action_object(actions: np.ndarray, adapter: EmbodimentAdapter, mode: ActionMode) -> dict[str, Any]:
    actions = np.asarray(actions, dtype=np.float32)
    return {"data": actions.tolist(), "shape": list(actions.shape), "dtype": "float32",
            "raw_action_dim": adapter.action_dim, "action_mode": mode.value,
            "domain_id": get_domain(adapter.domain_name).domain_id}


def check_actions(actions: np.ndarray, request: RemoteRequest, url: str) -> np.ndarray:
    """Model-space actions from a server must be ``[chunk, action_dim]`` and finite before we decode them."""
    expected = (request.chunk_size, request.adapter.action_dim)
    if actions.shape != expected or not np.isfinite(actions).all():
        raise MalformedResponseError(
            f"server returned actions of shape {actions.shape} (finite: {bool(np.isfinite(actions).all())}); "
            f"expected finite {list(expected)} for {request.adapter.name} {request.mode.value}", url)
    return actions


def parse_action_object(obj: Any, request: RemoteRequest, url: str) -> np.ndarray:
    if not isinstance(obj, Mapping) or "data" not in obj or "shape" not in obj:
        raise MalformedResponseError(f"expected an action object {{'data', 'shape', 'dtype'}}, got {_preview(obj)}",
                                     url)
    try:
        actions = np.asarray(obj["data"], dtype=np.float32).reshape([int(s) for s in obj["shape"]])
    except (TypeError, ValueError) as exc:
        raise MalformedResponseError(f"action object data does not match its shape {obj.get('shape')}: {exc}",
                                     url) from None
    return check_actions(actions, request, url)


# -- small parsing helpers (every failure names its field) ------------------------------------------------------
def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _required(mapping: Mapping[str, Any], key: str, field: str) -> Any:
    if mapping.get(key) is None:
        raise PayloadError(field, "a value", "nothing")
    return mapping[key]


def _json_object(text: Any, field: str) -> dict[str, Any]:
    if text is None:
        raise PayloadError(field, "a JSON object", "nothing")
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise PayloadError(field, "a JSON object", f"invalid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise PayloadError(field, "a JSON object", type(value).__name__)
    return value


def _number(value: Any, kind: type, field: str) -> Any:
    if value is None or value == "":
        return None
    try:
        number = kind(value) if kind is float else int(str(value))
    except (TypeError, ValueError):
        raise PayloadError(field, f"{'an integer' if kind is int else 'a number'}", _preview(value)) from None
    if kind is float and not math.isfinite(number):
        raise PayloadError(field, "a finite number", str(value))
    return number


def _float_array(value: Any, field: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise PayloadError(field, "a rectangular array of numbers", _preview(value)) from None


def _state_row(embodiment: str, observation: Any) -> np.ndarray:
    adapter = get_adapter(embodiment)
    if not isinstance(observation, Mapping) or not hasattr(adapter, "encode_state"):
        raise PayloadError("extra_params.observation", "RoboLab keys for a joint-space contract",
                           _preview(observation))
    try:
        return adapter.encode_state(observation["observation/joint_position"],
                                    observation["observation/gripper_position"])
    except KeyError as exc:
        raise PayloadError(f"extra_params.observation[{exc.args[0]!r}]", "a value", "nothing") from None
