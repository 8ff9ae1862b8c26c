"""``cosmos-robotics demo`` on a short horizon: the outputs a person looks at exist and say what they show."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cosmos_robotics.cli import main
from cosmos_robotics.media import read_video
from cosmos_robotics.world_models.embedded.runtime import choose_path

pytest.importorskip("cosmos_robotics.sim", reason="needs the SimDroid-v0 simulator")


def cpu_flags() -> set[str]:
    """The flags line of /proc/cpuinfo, read here independently of the code under test."""
    with open("/proc/cpuinfo") as f:
        return set(next(line for line in f if line.startswith("flags")).partition(":")[2].split())


def test_demo_writes_a_captioned_video_a_plot_and_a_documented_summary(tmp_path):
    assert main(["demo", "--steps", "20", "--replan", "8", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 20 and summary["policy"] == "embedded:replan=8"
    assert len(summary["psnr_db_imagined_vs_simulator"]["per_chunk"]) == 3  # chunks of 8, 8, 4 steps
    assert summary["psnr_db_imagined_vs_simulator"]["first_chunk"] > 20
    assert summary["real_time_factor"] > 0 and isinstance(summary["success_simulator"], bool)
    runtime = summary["world_model"]  # which path ``auto`` picked, and on which CPU, beside the real-time factor
    assert runtime["name"] == "embedded" and runtime["device"] == "cpu"
    assert runtime["inference_path"] == choose_path("auto", torch.device("cpu")).name
    assert runtime["cpu"]["model"] and runtime["cpu"]["flags"]["avx2"] == ("avx2" in cpu_flags())
    assert runtime["cpu"]["aten_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    video = read_video(tmp_path / "rollout.mp4")
    assert video.shape == (21, 28 + 2 * 384, 2 * 2 * 128, 3)  # caption strip, two columns of 3 upscaled views
    assert video[:, :28].mean() < 80 and video[:, :28].max() > 200  # dark strip with white caption text
    assert (tmp_path / "trajectory.png").stat().st_size > 10_000
    assert np.isfinite(summary["final_flange_error_mm"])
