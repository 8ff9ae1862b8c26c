"""Episode video encoding: the videos decode back to the frames, and sampled statistics track the full ones."""

from __future__ import annotations

import av
import numpy as np
import pytest
from lerobot.datasets.compute_stats import get_feature_stats

from cosmos_robotics.export.video import EpisodeVideoEncoder, sampled_image_stats
from cosmos_robotics.export.writer import default_rgb_encoder


def _episode(frames: int = 60) -> list[np.ndarray]:
    """A bright square moving over a gradient: smooth enough for H.264, different in every frame."""
    y, x = np.mgrid[:64, :80]
    base = np.stack([x * 3, y * 3, (x + y) * 2], -1).astype(np.uint8)
    out = []
    for t in range(frames):
        frame = base.copy()
        frame[10:26, t:t + 16] = (230, 40, 30)
        out.append(frame)
    return out


def test_encoded_episode_decodes_to_its_frames_with_sampled_stats(tmp_path):
    frames = _episode()
    encoder = EpisodeVideoEncoder(15, default_rgb_encoder())
    encoder.start_episode(["observation.images.front"], tmp_path)
    for frame in frames:
        encoder.feed_frame("observation.images.front", frame)
    path, stats = encoder.finish_episode()["observation.images.front"]
    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == len(frames)
    mse = np.mean([(d.astype(float) - f) ** 2 for d, f in zip(decoded, frames, strict=True)])
    assert 10 * np.log10(255**2 / mse) > 36  # the writer's H.264 4:4:4 CRF 18 promise
    full = get_feature_stats(np.stack(frames).transpose(0, 3, 1, 2), axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(stats["mean"], full["mean"].reshape(-1), atol=1.0)
    np.testing.assert_allclose(stats["std"], full["std"].reshape(-1), rtol=0.02)
    assert stats["count"].tolist() == [len(frames) * 64 * 80]  # pixels of the whole episode, as LeRobot counts
    assert set(stats) == set(full)


def test_sampled_stats_use_every_frame_of_short_episodes_and_depth_is_refused(tmp_path):
    frames = _episode(5)
    exact = get_feature_stats(np.stack(frames).transpose(0, 3, 1, 2), axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(sampled_image_stats(frames)["q50"], exact["q50"].reshape(-1))
    with pytest.raises(ValueError, match="depth"):
        EpisodeVideoEncoder(15, default_rgb_encoder()).start_episode(["a"], tmp_path, depth_video_keys=["a"])
