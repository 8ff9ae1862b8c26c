"""The vLLM-Omni ``POST /v1/videos`` multipart form, both directions: written by :class:`VllmOmniWorldModel`,
read back by our own server (``cosmos-robotics serve``), so the two cannot drift apart.

Reading is the server's trust boundary: every field goes through :mod:`cosmos_robotics.inputs` and is checked
against the embodiment preset (chunk size, fps, resolution tier, view point, action width) *before* the media is
decoded, and the media is decoded only as far as the mode needs (one frame for FD / policy, ``chunk + 1`` for ID).
Fields only our server reads are marked "ours": ``state`` (the policy / FD state row the embedded model needs)
and ``decode_video``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cosmos_robotics.embodiments import ActionMode, get_adapter, get_domain
from cosmos_robotics.errors import InputError, PayloadError
from cosmos_robotics.inputs import (
    DEFAULT_LIMITS,
    Limits,
    json_object,
    parse_json,
    preview,
    real_array,
    real_scalar,
)
from cosmos_robotics.world_models.remote.media_bytes import decode_image, decode_mp4
from cosmos_robotics.world_models.remote.request import JOINT_SPACE_ADAPTERS, Media, RemoteRequest

FORM_FIELDS = frozenset({
    "prompt", "negative_prompt", "model", "num_frames", "fps", "size", "seconds", "num_inference_steps",
    "guidance_scale", "flow_shift", "seed", "extra_params", "input_reference",
})
EXTRA_FIELDS = frozenset({
    "action_mode", "domain_name", "action_chunk_size", "image_size", "view_point", "raw_action_dim", "guardrails",
    "action", "action_space", "observation", "flow_shift", "state", "decode_video",
})
MAX_PROMPT_CHARS = 8192
MAX_STEPS = 1000
MAX_STATE = 256
SEED_RANGE = (0, 2**63 - 1)


def extra_params(request: RemoteRequest) -> dict[str, Any]:
    adapter = request.adapter
    extra: dict[str, Any] = {
        "action_mode": request.mode.value, "domain_name": adapter.domain_name,
        "action_chunk_size": request.chunk_size, "image_size": adapter.preset.resolution_tier,
        "view_point": adapter.preset.view_point, "raw_action_dim": adapter.action_dim, "guardrails": False,
    }
    if request.actions is not None:
        extra["action"] = request.actions.tolist()
    if request.joint_space:
        extra["action_space"] = "joint_pos"
    if request.joint_space and request.state is not None:
        extra["observation"] = request.observation()
    elif request.state is not None:  # ours: e.g. the embedded model's SimDroid state row for FD / policy
        extra["state"] = real_array(request.state, "state", (None,)).tolist()
    if not request.decode_video:
        extra["decode_video"] = False  # ours: action-only calls skip the video decode
    return extra


def vllm_form(request: RemoteRequest, model: str | None = None) -> dict[str, str]:
    form = {
        "prompt": request.prompt, "num_frames": str(request.num_frames), "fps": str(request.fps),
        "size": request.size, "num_inference_steps": str(request.num_inference_steps),
        "guidance_scale": str(request.guidance_scale), "flow_shift": str(request.flow_shift),
        "seed": str(request.seed), "extra_params": json.dumps(extra_params(request)),
    }
    if model:
        form["model"] = model
    return form


def _optional(value: Any, field: str, kind: type, low=None, high=None):
    if value is None or value == "":
        return None
    try:
        return real_scalar(value, field, kind, low, high)
    except InputError as exc:  # -> the form field it came from (``error.param``)
        raise PayloadError(field, exc.expected, exc.got) from None


def _embodiment(extra: Mapping[str, Any]) -> str:
    domain = extra.get("domain_name")
    if not isinstance(domain, str) or not domain:
        raise PayloadError("extra_params.domain_name", "a domain name string", preview(domain))
    get_domain(domain)  # unknown names -> UnknownEmbodimentError listing the valid ones
    space = extra.get("action_space")
    if space in ("joint_pos", "joint_position"):
        if domain not in JOINT_SPACE_ADAPTERS:
            raise PayloadError("extra_params.action_space", f"joint_pos only for {sorted(JOINT_SPACE_ADAPTERS)}",
                               f"joint_pos with domain {domain!r}")
        return JOINT_SPACE_ADAPTERS[domain]
    if space is not None:
        raise PayloadError("extra_params.action_space", "absent or 'joint_pos'", preview(space))
    return domain


def _expect_equal(value: Any, expected: Any, field: str, kind: type = int) -> None:
    if value is not None and _optional(value, field, kind) != expected:
        raise PayloadError(field, f"{expected} (the embodiment preset)", preview(value))


def _state(extra: Mapping[str, Any], embodiment: str):
    observation, state = extra.get("observation"), extra.get("state")
    if observation is not None and state is not None:
        raise PayloadError("extra_params.state", "absent when extra_params.observation is given", "both")
    if observation is not None:
        adapter = get_adapter(embodiment)
        if not isinstance(observation, Mapping) or not hasattr(adapter, "encode_state"):
            raise PayloadError("extra_params.observation", "RoboLab keys for a joint-space contract",
                               preview(observation))
        missing = [k for k in ("observation/joint_position", "observation/gripper_position") if k not in observation]
        if missing:
            raise PayloadError(f"extra_params.observation[{missing[0]!r}]", "a value", "nothing")
        return adapter.encode_state(real_array(observation["observation/joint_position"],
                                               "extra_params.observation/joint_position", (7,)),
                                    real_array(observation["observation/gripper_position"],
                                               "extra_params.observation/gripper_position", ()))
    if state is None:
        return None
    row = real_array(state, "extra_params.state", (None,))
    if not 0 < len(row) <= MAX_STATE:
        raise PayloadError("extra_params.state", f"1..{MAX_STATE} numbers", f"{len(row)}")
    return row


def read_vllm_form(form: Mapping[str, Any], media: Media, limits: Limits = DEFAULT_LIMITS) -> RemoteRequest:
    """Server side: a ``POST /v1/videos`` form + file -> a validated request (``PayloadError`` names the field)."""
    unknown = sorted(set(form) - FORM_FIELDS)
    if unknown:
        raise PayloadError(unknown[0], f"one of the form fields {sorted(FORM_FIELDS)}", "an unknown field")
    text = form.get("extra_params")
    if text is None:
        raise PayloadError("extra_params", "a JSON object", "nothing")
    extra = json_object(parse_json(str(text), "extra_params", limits), "extra_params")
    if unknown := sorted(set(extra) - EXTRA_FIELDS):
        raise PayloadError(f"extra_params.{unknown[0]}", f"one of {sorted(EXTRA_FIELDS)}", "an unknown key")
    mode = extra.get("action_mode")
    if not isinstance(mode, str):
        raise PayloadError("extra_params.action_mode", f"one of {[m.value for m in ActionMode]}", preview(mode))
    embodiment = _embodiment(extra)
    adapter = get_adapter(embodiment)
    resolved_mode = adapter.check_mode(mode)
    preset = adapter.preset
    chunk = _optional(extra.get("action_chunk_size"), "extra_params.action_chunk_size", int, 1, preset.chunk_size)
    _expect_equal(extra.get("image_size"), preset.resolution_tier, "extra_params.image_size")
    _expect_equal(extra.get("raw_action_dim"), adapter.action_dim, "extra_params.raw_action_dim")
    if (view := extra.get("view_point")) is not None and view != preset.view_point:
        raise PayloadError("extra_params.view_point", f"{preset.view_point!r} (the embodiment preset)", preview(view))
    _expect_equal(form.get("fps"), float(preset.fps), "fps", float)
    for key in ("guardrails", "decode_video"):
        if extra.get(key) is not None and not isinstance(extra[key], bool):
            raise PayloadError(f"extra_params.{key}", "true or false", preview(extra[key]))
    prompt = form.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or len(prompt) > MAX_PROMPT_CHARS):
        raise PayloadError("prompt", f"text of at most {MAX_PROMPT_CHARS} characters", f"{len(str(prompt))} characters")
    actions = extra.get("action")
    if actions is not None:
        actions = real_array(actions, "extra_params.action", (None, adapter.action_dim), limits)
    state = _state(extra, embodiment)
    num_frames = _optional(form.get("num_frames"), "num_frames", int, 1)
    needed = (chunk or (len(actions) if actions is not None else preset.chunk_size)) + 1
    frames = _media_frames(media, resolved_mode, needed, limits)
    flow_shift = form.get("flow_shift", extra.get("flow_shift"))
    request = RemoteRequest(
        mode=resolved_mode, embodiment=embodiment, frames=frames, actions=actions, prompt=prompt, state=state,
        chunk_size=chunk, seed=_optional(form.get("seed"), "seed", int, *SEED_RANGE) or 0,
        num_inference_steps=_optional(form.get("num_inference_steps"), "num_inference_steps", int, 1, MAX_STEPS),
        guidance_scale=_optional(form.get("guidance_scale"), "guidance_scale", float, 0.0, 100.0),
        flow_shift=_optional(flow_shift, "flow_shift", float, 0.0, 1000.0),
        decode_video=extra.get("decode_video", True),
    ).resolved()
    if num_frames is not None and num_frames != request.num_frames:
        raise PayloadError("num_frames", f"action_chunk_size + 1 = {request.num_frames}", str(num_frames))
    if (size := form.get("size")) is not None:
        if not re.fullmatch(r"\d{1,5}x\d{1,5}", str(size)):
            raise PayloadError("size", "'WxH' (e.g. 832x480)", preview(size))
        if str(size) != request.size:
            raise PayloadError("size", f"the input_reference size {request.size}", str(size))
    if request.mode is ActionMode.INVERSE_DYNAMICS and len(request.frames) < request.num_frames:
        raise PayloadError("input_reference", f"a video of {request.num_frames} frames",
                           f"{len(request.frames)} frames")
    return request


def _media_frames(media: Media, mode: ActionMode, needed: int, limits: Limits):
    """Decode only what the mode reads: the first frame for FD / policy, ``chunk + 1`` frames for ID."""
    video = media.content_type.startswith("video/") or media.filename.lower().endswith(".mp4")
    if mode is ActionMode.INVERSE_DYNAMICS:
        if not video:
            raise PayloadError("input_reference", f"an mp4 of {needed} frames for inverse dynamics", "an image")
        return decode_mp4(media.data, "input_reference", needed, limits)
    if video:
        return decode_mp4(media.data, "input_reference", 1, limits)
    return decode_image(media.data, "input_reference", limits)[None]
