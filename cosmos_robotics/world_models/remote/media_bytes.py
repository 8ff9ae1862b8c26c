"""Conditioning media <-> the bytes servers exchange: PNG for one frame (lossless), H.264 mp4 for a clip.

Video goes through :mod:`cosmos_robotics.media` (one encoder/decoder for the whole toolkit) via a temporary file.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

from cosmos_robotics.errors import DatasetFormatError, PayloadError
from cosmos_robotics.media import read_video, write_video


def encode_png(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame)).save(buffer, format="PNG")
    return buffer.getvalue()


def decode_image(data: bytes, field: str = "input_reference") -> np.ndarray:
    try:
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise PayloadError(field, "a PNG/JPEG image", f"{len(data)} undecodable bytes ({exc})") from None


def encode_mp4(frames: np.ndarray, fps: float) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_video(frames, Path(tmp) / "clip.mp4", fps).read_bytes()


def decode_mp4(data: bytes, field: str = "input_reference") -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        path.write_bytes(data)
        try:
            return read_video(path)
        except (DatasetFormatError, av.FFmpegError, OSError, ValueError) as exc:
            raise PayloadError(field, "an mp4 video", f"{len(data)} undecodable bytes ({exc})") from None
