"""Recording throughput of ``cosmos-robotics sim record`` (target >= 30 episodes/min on 2 cores), today vs before.

Each episode: 100 steps of the scripted expert in SimDroid-v0, 3 cameras at 128x128, H.264 video encoding, LeRobot
v3 parquet/metadata and the atomic commits: the whole CLI path, worker start-up included, into a fresh directory.
``--compare`` also runs the writer as it was before issue 14 (LeRobot's streaming encoder: running image
statistics on every frame) in the same invocation, alternating, so the ratio is measured under the same load.
Two rates: the whole command (``episodes_per_minute``: imports, writer start-up, worker spawn and the final commit
included, so short runs are dominated by the one-off start-up) and the steady rate between the end of the first
round of worker results and the last episode staged (``steady_episodes_per_minute``: what a long recording sustains;
the intermediate commits are in it).
Image check: episode 0's decoded videos against a fresh render of the same seed (PSNR per camera). The CPU model,
flags and emulation variables, and how idle the machine was, are recorded beside the figures.

Run: ``LP_NATIVE_VECTOR_WIDTH=256 .venv/bin/python benchmarks/sim_record.py --episodes 10 --compare``
(``LP_NATIVE_VECTOR_WIDTH=256`` keeps Mesa's llvmpipe on 256-bit vectors, as on an AVX2-only CPU).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from machine import cpu_idle_share, cpu_report  # noqa: E402  (benchmarks/machine.py)

from cosmos_robotics import __version__  # noqa: E402
from cosmos_robotics.cli import main as cli  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "sim_record.json"


@contextlib.contextmanager
def writer_before_issue_14():
    """The writer's video path before issue 14: LeRobot's own streaming encoder with an unbounded queue."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from lerobot.datasets.video_utils import StreamingVideoEncoder

    from cosmos_robotics.export import video

    class Streaming(LeRobotDataset):
        @staticmethod
        def _build_streaming_encoder(fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads):
            return StreamingVideoEncoder(fps=fps, rgb_encoder=rgb_encoder, depth_encoder=depth_encoder,
                                         queue_maxsize=0, encoder_threads=encoder_threads)

    ours = video.EpisodeEncodingDataset
    video.EpisodeEncodingDataset = Streaming
    try:
        yield
    finally:
        video.EpisodeEncodingDataset = ours


@contextlib.contextmanager
def staging_times():
    """Timestamps of each episode staged by the writer (a probe around ``LeRobotEpisodeWriter.add``)."""
    from cosmos_robotics.export.writer import LeRobotEpisodeWriter

    times: list[float] = []
    add = LeRobotEpisodeWriter.add

    def timed_add(self, record):
        index = add(self, record)
        times.append(time.perf_counter())
        return index

    LeRobotEpisodeWriter.add = timed_add
    try:
        yield times
    finally:
        LeRobotEpisodeWriter.add = add


def record(episodes: int, workers: int, root: Path) -> tuple[float, float, float | None]:
    """(whole-command seconds, seconds until the first episode is staged, steady episodes/min after it)."""
    start = time.perf_counter()
    with staging_times() as staged:
        code = cli(["sim", "record", "--episodes", str(episodes), "--policy", "expert", "--out", str(root),
                    "--workers", str(workers), "--resolution", "128", "--steps", "100"])
    if code != 0:
        raise SystemExit(f"sim record failed with exit code {code}")
    # From the first round of workers' results on: those arrive together after the start-up, so counting from the
    # very first one would credit the start-up's parallel episodes to the steady rate.
    steady = 60 * (len(staged) - workers) / (staged[-1] - staged[workers - 1]) if len(staged) > workers else None
    return time.perf_counter() - start, staged[0] - start, steady


def image_check(root: Path) -> dict:
    """PSNR (dB) of episode 0's decoded frames against the simulator's own renders of seed 0, per camera."""
    import av

    from cosmos_robotics.rollout.record import simulate_record  # what a `sim record` worker runs

    truth = simulate_record((("expert", 128, 100), 0)).frames
    out = {}
    for cam, frames in truth.items():
        video = sorted((root / "videos" / f"observation.images.{cam}").rglob("*.mp4"))[0]
        with av.open(str(video)) as container:
            decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])[:len(frames)]
        mse = ((decoded.astype(np.float64) - frames) ** 2).mean((1, 2, 3)).clip(1e-10)
        psnr = 10 * np.log10(255**2 / mse)
        out[cam] = {"min_db": round(float(psnr.min()), 2), "mean_db": round(float(psnr.mean()), 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compare", action="store_true", help="also time the writer as before issue 14")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each variant (alternating)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sim_record_bench_"))
    variants = ["now", "before_issue_14"] if args.compare else ["now"]
    runs: dict[str, list[float]] = {v: [] for v in variants}
    startup: dict[str, list[float]] = {v: [] for v in variants}
    steady: dict[str, list[float | None]] = {v: [] for v in variants}
    idle = {"load_avg_1min_before": round(os.getloadavg()[0], 2), "cpu_idle_share_before": cpu_idle_share()}
    size_mb, images = 0.0, {}
    for i in range(args.repeats):
        for variant in variants:
            root = work / f"{variant}_{i}"
            with writer_before_issue_14() if variant != "now" else contextlib.nullcontext():
                seconds, first, rate = record(args.episodes, args.workers, root)
            runs[variant].append(seconds)
            startup[variant].append(round(first, 2))
            steady[variant].append(rate and round(rate, 1))
            if variant == "now" and i == 0:
                size_mb = sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 2**20
                images = image_check(root)
            shutil.rmtree(root)
    shutil.rmtree(work)
    idle.update(load_avg_1min_after=round(os.getloadavg()[0], 2), cpu_idle_share_after=cpu_idle_share())
    rates = {v: [round(60 * args.episodes / s, 1) for s in t] for v, t in runs.items()}
    result = {
        "episodes": args.episodes, "steps_per_episode": 100, "cameras": 3, "resolution": 128,
        "workers": args.workers, "seconds": {v: [round(s, 2) for s in t] for v, t in runs.items()},
        "episodes_per_minute": rates,
        "episodes_per_minute_best": {v: max(r) for v, r in rates.items()},
        "seconds_to_first_episode": startup,
        "steady_episodes_per_minute": steady,  # from the first round of worker results to the last episode
        "target_episodes_per_minute": 30,
        "dataset_mib": round(size_mb, 2),
        "decoded_vs_rendered_psnr_episode0": images,
        "idle": idle,
        "cpu": cpu_report(),  # after the timing: it imports torch
        "python": platform.python_version(),
        "cosmos_robotics": __version__,
    }
    if args.compare:
        result["speedup_vs_before_issue_14"] = round(result["episodes_per_minute_best"]["now"]
                                                     / result["episodes_per_minute_best"]["before_issue_14"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
