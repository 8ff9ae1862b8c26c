"""Episode video encoding for the writer: whole episodes at once, image statistics on sampled frames.

Why not LeRobot's own streaming encoder: in lerobot 0.6.1 its per-camera threads update a 5000-bin running
histogram with every frame (``RunningQuantileStats``), which costs ~10x the H.264 encoding itself at 128 px and made
the writer the bottleneck of ``sim record``. Our records hold the whole episode before it is written, so
``EpisodeVideoEncoder`` (the same interface, plugged in through ``LeRobotDataset._build_streaming_encoder``)
collects the frames, encodes each camera's video in one pass (cameras in parallel: libav releases the GIL) and
computes the per-channel statistics (min, max, mean, std, quantiles) on ``STATS_FRAMES`` evenly spaced frames with
LeRobot's own ``get_feature_stats``. Counts stay pixel counts, as the streaming encoder reports them, so episodes
recorded before and after this change aggregate alike. Frames are never dropped (no bounded queue).
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from lerobot.datasets.compute_stats import get_feature_stats
from lerobot.datasets.lerobot_dataset import LeRobotDataset

STATS_FRAMES = 16  # frames per camera and episode that the image statistics are computed on


def sampled_image_stats(frames: list[np.ndarray], samples: int = STATS_FRAMES) -> dict[str, np.ndarray]:
    """Per-channel statistics of ``samples`` evenly spaced uint8 HWC frames, shaped like LeRobot's streaming
    encoder reports them (``(C,)`` arrays on the 0..255 scale, ``count`` = pixels of the whole episode)."""
    index = np.unique(np.round(np.linspace(0, len(frames) - 1, min(samples, len(frames)))).astype(int))
    chw = np.stack([frames[i] for i in index]).transpose(0, 3, 1, 2)
    stats = {k: v.reshape(-1) for k, v in get_feature_stats(chw, axis=(0, 2, 3), keepdims=True).items()}
    height, width = frames[0].shape[:2]
    stats["count"] = np.array([len(frames) * height * width])
    return stats


class EpisodeVideoEncoder:
    """LeRobot's ``StreamingVideoEncoder`` interface (start, feed, finish, cancel, close), encoding at finish."""

    def __init__(self, fps: int, rgb_encoder, encoder_threads: int | None = None):
        self.fps, self.rgb_encoder, self.encoder_threads = fps, rgb_encoder, encoder_threads
        self._frames: dict[str, list[np.ndarray]] = {}
        self._temp_dir: Path | None = None

    def start_episode(self, video_keys: list[str], temp_dir: Path, depth_video_keys: list[str] | None = None) -> None:
        if depth_video_keys:
            raise ValueError(f"EpisodeVideoEncoder encodes RGB videos only, got depth keys {depth_video_keys}")
        self._frames = {key: [] for key in video_keys}
        self._temp_dir = Path(temp_dir)

    def feed_frame(self, video_key: str, image: np.ndarray) -> None:
        """Keeps a reference, not a copy: the writer's episode frames are not reused while it is recorded."""
        self._frames[video_key].append(image)

    def finish_episode(self) -> dict[str, tuple[Path, dict]]:
        keys = list(self._frames)
        with ThreadPoolExecutor(len(keys)) as pool:
            results = dict(zip(keys, pool.map(self._encode, keys), strict=True))
        self._frames = {}
        return results

    def cancel_episode(self) -> None:
        self._frames = {}

    def close(self) -> None:
        self._frames = {}

    def _encode(self, key: str) -> tuple[Path, dict]:
        frames = self._frames[key]
        path = Path(tempfile.mkdtemp(dir=self._temp_dir)) / f"{key.replace('/', '_')}.mp4"
        height, width = frames[0].shape[:2]
        options = self.rgb_encoder.get_codec_options(self.encoder_threads, as_strings=True)
        with av.open(str(path), "w") as container:
            stream = container.add_stream(self.rgb_encoder.vcodec, self.fps, options=options)
            stream.pix_fmt, stream.width, stream.height = self.rgb_encoder.pix_fmt, width, height
            time_base = stream.time_base = Fraction(1, self.fps)  # the muxer changes the stream's own later
            for t, frame in enumerate(frames):
                video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                video_frame.pts, video_frame.time_base = t, time_base
                container.mux(stream.encode(video_frame))
            container.mux(stream.encode())
        return path, sampled_image_stats(frames)


class EpisodeEncodingDataset(LeRobotDataset):
    """``LeRobotDataset`` whose streaming encoder is ``EpisodeVideoEncoder`` (``create`` / ``resume`` as usual)."""

    @staticmethod
    def _build_streaming_encoder(fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads):
        return EpisodeVideoEncoder(fps, rgb_encoder, encoder_threads)
