"""A strict OpenAI-compatible chat-completions server for the Reasoner client tests (real HTTP on 127.0.0.1).

It enforces what vLLM's OpenAI server takes from a Cosmos 3 Reasoner request: the served model name, a
``messages`` list whose user content parts are ``text``, ``image_url`` (a decodable PNG/JPEG data URL) or
``video_url`` (a decodable mp4 data URL), and ``response_format`` of type ``json_object`` / ``json_schema``
with a schema. Errors come back in vLLM's shape (``{"object": "error", "message", "type", "code"}``).

Its "reasoning" is a function of the media it decoded, so a test can tell what arrived: the verdict says
``success`` when the last frame is brighter than the first, and the reason names the decoded frame count and size.
``script`` holds one-shot behaviours consumed per request: an HTTP status to fail with, seconds to stall, or a
literal content to return.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cosmos_robotics.errors import InputError, PayloadError
from cosmos_robotics.world_models.remote.media_bytes import decode_image, decode_mp4


def _error(status: int, message: str, kind: str = "BadRequestError") -> JSONResponse:
    return JSONResponse({"object": "error", "message": message, "type": kind, "param": None, "code": status},
                        status_code=status)  # fmt: skip


def _decode_data_url(url: object, mime_prefix: str) -> bytes:
    if not isinstance(url, str) or not url.startswith(f"data:{mime_prefix}") or ";base64," not in url:
        raise PayloadError("url", f"a data:{mime_prefix}...;base64, URL", repr(url)[:60])
    return base64.b64decode(url.split(";base64,", 1)[1], validate=True)


def _media(messages: object) -> tuple[list, str]:
    """Decoded frames of every image/video part, and the user text; raises PayloadError on a malformed message."""
    if not isinstance(messages, list) or not messages:
        raise PayloadError("messages", "a non-empty list", repr(messages)[:60])
    frames, text = [], ""
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in {"system", "user", "assistant"}:
            raise PayloadError("messages[].role", "system/user/assistant", repr(message)[:60])
        content = message.get("content")
        if isinstance(content, str):
            text += content
            continue
        if not isinstance(content, list):
            raise PayloadError("messages[].content", "a string or a list of parts", type(content).__name__)
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                text += part["text"]
            elif kind == "image_url" and isinstance(part.get("image_url"), dict):
                frames.append(decode_image(_decode_data_url(part["image_url"].get("url"), "image/"), "image_url")[None])
            elif kind == "video_url" and isinstance(part.get("video_url"), dict):
                frames.append(decode_mp4(_decode_data_url(part["video_url"].get("url"), "video/mp4"), "video_url"))
            else:
                raise PayloadError("content part", "text / image_url {url} / video_url {url}", repr(part)[:80])
    return frames, text


def _check_response_format(fmt: object) -> bool:
    if fmt is None:
        return False
    if not isinstance(fmt, dict) or fmt.get("type") not in {"json_object", "json_schema"}:
        raise PayloadError("response_format", "{type: json_object | json_schema}", repr(fmt)[:80])
    if fmt["type"] == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("schema"), dict):
            raise PayloadError("response_format.json_schema", "{name, schema}", repr(spec)[:80])
    return True


def _reasoning(frames: list) -> tuple[str, dict]:
    if not frames:
        return "no media", {"success": False, "confidence": 0.5, "reason": "no media"}
    video = frames[-1]
    first, last = float(video[0].mean()), float(video[-1].mean())
    size = f"{len(video)} frames {video.shape[2]}x{video.shape[1]}"
    thought = f"brightness goes from {first:.0f} to {last:.0f}"
    return thought, {"success": last > first + 10, "confidence": 0.8, "reason": f"decoded {size}; {thought}"}


def make_app(model: str = "nvidia/Cosmos3-Nano") -> FastAPI:
    app = FastAPI()
    # One-shot behaviours: ("status", code) | ("stall", seconds) | ("content", text) | ("reasoning_field",).
    app.state.script = []
    app.state.requests = []  # every accepted-for-processing body, in order

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _error(401, "missing bearer token", "AuthenticationError")
        body = await request.json()
        app.state.requests.append(body)
        action = app.state.script.pop(0) if app.state.script else None
        if action and action[0] == "status":
            return _error(action[1], f"scripted failure {action[1]}", "InternalServerError")
        if action and action[0] == "stall":
            await asyncio.sleep(action[1])
        if body.get("model") != model:
            return _error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
        try:
            frames, text = _media(body.get("messages"))
            wants_json = _check_response_format(body.get("response_format"))
        except (PayloadError, InputError) as exc:  # a request the server refuses, as vLLM does: 400
            return _error(400, str(exc))
        message: dict = {"role": "assistant"}
        if action and action[0] == "content":
            content = action[1]
        elif action and action[0] == "reasoning_field":  # vLLM with --reasoning-parser: thinking apart
            thought, verdict = _reasoning(frames)
            content, message["reasoning_content"] = json.dumps(verdict), thought
        else:
            thought, verdict = _reasoning(frames)
            answer = json.dumps(verdict) if wants_json or "JSON" in text else verdict["reason"]
            content = f"<think>\n{thought}\n</think>\n\n{answer}" if "<think>" in text else answer
        return {
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {**message, "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }  # fmt: skip

    return app
