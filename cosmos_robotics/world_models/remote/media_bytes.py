"""Conditioning media <-> the bytes servers exchange: PNG for one frame (lossless), H.264 mp4 for a clip.

Encoding goes through :mod:`cosmos_robotics.media`, decoding through the capped input layer
(:mod:`cosmos_robotics.inputs`), so a server or client never decodes more than it was asked for.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from cosmos_robotics.inputs import DEFAULT_LIMITS, Limits, decode_image, decode_video
from cosmos_robotics.media import write_video

__all__ = ["decode_image", "decode_mp4", "encode_mp4", "encode_png"]


def encode_png(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame)).save(buffer, format="PNG")
    return buffer.getvalue()


def encode_mp4(frames: np.ndarray, fps: float) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_video(frames, Path(tmp) / "clip.mp4", fps).read_bytes()


def decode_mp4(data: bytes, what: str = "input_reference", max_frames: int | None = None,
               limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    return decode_video(data, what, max_frames, limits)
