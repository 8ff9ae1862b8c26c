"""Client for the Cosmos 3 Reasoner over the OpenAI chat-completions API (vLLM with the Reasoner override, or NIM).

Why a wrapper around the ``openai`` library: media must go as the server expects (images as PNG data URLs in
``image_url`` parts, clips as H.264 mp4 data URLs in ``video_url`` parts, media before the question, as the Cosmos 3
README's message shape), the Reasoner's ``<think>`` block has to be kept apart from the answer, and failures
need our typed errors with a bounded retry policy of our own: timeouts, 429 and 5xx are retried a few times with
backoff; a refused connection is not (nothing listens there, retrying only delays the error).
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosmos_robotics.errors import (
    MalformedResponseError,
    PayloadError,
    RemoteTimeoutError,
    RequestRejectedError,
    ServerBusyError,
    ServerUnreachableError,
)

DEFAULT_URL = "http://127.0.0.1:8000/v1"
DEFAULT_MODEL = "nvidia/Cosmos3-Nano"
# The Cosmos 3 README's instruction for explicit reasoning, appended to the user prompt.
THINK_INSTRUCTION = (
    "Answer the question using the following format:\n\n<think>\nYour reasoning.\n</think>\n\n"
    "Write your final answer immediately after the </think> tag."
)
# Sampling the Cosmos 3 README uses for the Reasoner (top_k / repetition_penalty are vLLM extensions).
SAMPLING = {
    False: dict(temperature=0.7, top_p=0.8, presence_penalty=1.5, extra={"top_k": 20, "repetition_penalty": 1.0}),
    True: dict(temperature=0.6, top_p=0.95, presence_penalty=0.0, extra={"top_k": 20, "repetition_penalty": 1.0}),
}
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass(frozen=True)
class ReasonerReply:
    answer: str  # the text after the reasoning (what the caller asked for)
    thinking: str  # the <think> block(s), or the server's separate reasoning field; "" when none
    raw: str  # the message content exactly as returned
    model: str
    finish_reason: str | None
    data: object = None  # the parsed JSON answer when JSON was requested


def split_thinking(content: str) -> tuple[str, str]:
    """``(thinking, answer)``; accepts a template-opened block (only ``</think>`` in the reply)."""
    if "<think>" not in content and "</think>" in content:
        thinking, _, answer = content.partition("</think>")
        return thinking.strip(), answer.strip()
    if content.count("<think>") != content.count("</think>"):
        raise MalformedResponseError("reasoner reply ends inside a <think> block (raise max_tokens?)")
    return "\n".join(t.strip() for t in _THINK.findall(content)), _THINK.sub("", content).strip()


def parse_json_answer(answer: str) -> object:
    text = answer.strip()
    fenced = _FENCE.match(text)
    try:
        return json.loads(fenced.group(1) if fenced else text)
    except ValueError as exc:
        raise MalformedResponseError(f"reasoner answer is not JSON ({exc}): {answer[:200]!r}") from None


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_part(image: np.ndarray | str | Path) -> dict:
    """An ``image_url`` part: a uint8 ``[H, W, 3]`` array (sent as PNG) or a PNG/JPEG file."""
    from cosmos_robotics.world_models.remote.media_bytes import encode_png

    if isinstance(image, str | Path):
        path = Path(image)
        mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
        if path.suffix.lower() not in mime or not path.is_file():
            raise PayloadError("image", "an existing .png/.jpg/.jpeg/.webp file", str(path))
        return {"type": "image_url", "image_url": {"url": _data_url(mime[path.suffix.lower()], path.read_bytes())}}
    frame = np.asarray(image)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
        raise PayloadError("image", "uint8 [H, W, 3]", f"{frame.dtype} {frame.shape}")
    return {"type": "image_url", "image_url": {"url": _data_url("image/png", encode_png(frame))}}


def video_part(video: np.ndarray | str | Path, fps: float = 10.0) -> dict:
    """A ``video_url`` part: uint8 ``[T, H, W, 3]`` frames (encoded as H.264 mp4 at ``fps``) or an .mp4 file."""
    from cosmos_robotics.world_models.remote.media_bytes import encode_mp4

    if isinstance(video, str | Path):
        path = Path(video)
        if path.suffix.lower() != ".mp4" or not path.is_file():
            raise PayloadError("video", "an existing .mp4 file", str(path))
        data = path.read_bytes()
    else:
        frames = np.asarray(video)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 2:
            raise PayloadError("video", "uint8 [T, H, W, 3] with T >= 2", f"{frames.dtype} {frames.shape}")
        data = encode_mp4(frames, fps)
    return {"type": "video_url", "video_url": {"url": _data_url("video/mp4", data)}}


class ReasonerClient:
    """One OpenAI-compatible server; :meth:`ask` sends one chat completion and returns a :class:`ReasonerReply`."""

    def __init__(self, base_url: str = DEFAULT_URL, model: str = DEFAULT_MODEL, *, api_key: str = "EMPTY",
                 timeout: float = 120.0, retries: int = 2, backoff: float = 0.5):  # fmt: skip
        from openai import OpenAI

        if retries < 0 or timeout <= 0:
            raise ValueError(f"retries >= 0 and timeout > 0 expected, got {retries} and {timeout}")
        self.base_url, self.model, self.retries, self.backoff = base_url.rstrip("/"), model, retries, backoff
        self.timeout = timeout
        self._client = OpenAI(base_url=self.base_url, api_key=api_key, timeout=timeout, max_retries=0)

    def ask(self, prompt: str, *, images=(), video=None, video_fps: float = 10.0, system: str | None = None,
            json_schema: dict | None = None, json_object: bool = False, reasoning: bool = False,
            max_tokens: int = 4096, temperature: float | None = None, seed: int | None = None) -> ReasonerReply:  # fmt: skip
        """Ask about ``images`` (arrays or files) and/or a ``video`` (frames or an .mp4 file).

        ``json_schema`` / ``json_object`` request structured output (``response_format``) and parse the answer;
        with ``reasoning`` the README's ``<think>`` instruction is appended and JSON is asked for in the prompt
        instead (a schema-constrained reply could not contain the reasoning block).
        """
        parts = [image_part(i) for i in images] + ([video_part(video, video_fps)] if video is not None else [])
        text = prompt + (f"\n\n{THINK_INSTRUCTION}" if reasoning else "")
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": [*parts, {"type": "text", "text": text}]}
        ]
        sampling = SAMPLING[reasoning]
        kwargs: dict = dict(model=self.model, messages=messages, max_tokens=max_tokens, top_p=sampling["top_p"],
                            presence_penalty=sampling["presence_penalty"], extra_body=dict(sampling["extra"]),
                            temperature=sampling["temperature"] if temperature is None else temperature)  # fmt: skip
        if seed is not None:
            kwargs["seed"] = seed
        wants_json = json_schema is not None or json_object
        if wants_json and not reasoning:
            kwargs["response_format"] = (
                {"type": "json_schema", "json_schema": {"name": "answer", "schema": json_schema, "strict": True}}
                if json_schema is not None else {"type": "json_object"}
            )  # fmt: skip
        completion = self._create(kwargs)
        if not completion.choices or completion.choices[0].message is None:
            raise MalformedResponseError("reasoner reply has no choices", url=self.base_url)
        choice = completion.choices[0]
        content = choice.message.content or ""
        separate = getattr(choice.message, "reasoning_content", None) or getattr(choice.message, "reasoning", None)
        thinking, answer = split_thinking(content)
        thinking = "\n".join(t for t in (separate or "", thinking) if t)
        if not answer:
            raise MalformedResponseError(f"reasoner reply has no answer (finish_reason={choice.finish_reason})",
                                         url=self.base_url)  # fmt: skip
        data = parse_json_answer(answer) if wants_json else None
        return ReasonerReply(answer, thinking, content, completion.model, choice.finish_reason, data)

    def _create(self, kwargs: dict):
        import openai

        url = f"{self.base_url}/chat/completions"
        attempt = 0
        while True:
            last = attempt == self.retries
            try:
                return self._client.chat.completions.create(**kwargs)
            except openai.APITimeoutError:
                if last:
                    raise RemoteTimeoutError(f"no reply within {self.timeout:g} s, "
                                             f"{self.retries + 1} attempts", url) from None  # fmt: skip
            except openai.APIConnectionError as exc:  # refused / reset: nothing to wait for
                raise ServerUnreachableError(f"cannot connect ({exc.__cause__ or exc}); is the Reasoner served?",
                                             url) from None  # fmt: skip
            except openai.RateLimitError as exc:
                if last:
                    raise ServerBusyError(f"server busy after {self.retries + 1} attempts: {exc.message}", url,
                                          429) from None  # fmt: skip
            except openai.InternalServerError as exc:
                if last:
                    raise ServerUnreachableError(f"server error after {self.retries + 1} attempts: {exc.message}",
                                                 url, exc.status_code) from None  # fmt: skip
            except openai.APIStatusError as exc:  # 4xx: the request itself is wrong; retrying cannot help
                raise RequestRejectedError(f"request refused: {exc.message}", url, exc.status_code) from None
            except openai.APIResponseValidationError as exc:
                raise MalformedResponseError(f"reply does not follow the chat-completions format: {exc}", url) from None
            time.sleep(self.backoff * 2**attempt)
            attempt += 1
