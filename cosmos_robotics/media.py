"""Video and image files <-> uint8 ``[T, H, W, 3]`` arrays (PyAV, the decoder lerobot also uses).

Reading goes through the input layer (:mod:`cosmos_robotics.inputs`: size, pixel and frame caps); it is re-exported
here so callers have one media module.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np

from cosmos_robotics.errors import DatasetFormatError
from cosmos_robotics.inputs import read_image, read_video

__all__ = ["read_image", "read_video", "write_video"]


def write_video(frames: np.ndarray, path: str | Path, fps: float, crf: int = 18) -> Path:
    """H.264 mp4, written to a temporary name and renamed, so a crash never leaves a half-written file."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise DatasetFormatError(f"write_video expects uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    h, w = frames.shape[1] - frames.shape[1] % 2, frames.shape[2] - frames.shape[2] % 2  # yuv420p needs even sizes
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf)}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:h, :w]), format="rgb24")))
        container.mux(stream.encode())
    os.replace(tmp, path)
    return path


def captioned_grid(panels: dict[str, np.ndarray], row_labels: tuple[str, ...], scale: int = 2) -> np.ndarray:
    """Videos side by side, each a column of ``len(row_labels)`` stacked views (``[T, R*h, w, 3]``), upscaled
    ``scale`` times (nearest) with a caption strip over each column and a label in each view's corner, so a
    person can tell imagination from ground truth and one camera from another."""
    import cv2

    columns = []
    for title, video in panels.items():
        video = np.repeat(np.repeat(np.asarray(video, np.uint8), scale, axis=1), scale, axis=2)
        t, height, width, _ = video.shape
        view = height // len(row_labels)
        strip = np.full((t, 28, width, 3), 24, np.uint8)
        cv2.putText(strip[0], title, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
        strip[:] = strip[0]
        video = video.copy()
        for r, label in enumerate(row_labels):
            for frame in video:
                cv2.putText(frame, label, (5, r * view + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1,
                            cv2.LINE_AA)
        columns.append(np.concatenate([strip, video], axis=1))
    return np.concatenate(columns, axis=2)
