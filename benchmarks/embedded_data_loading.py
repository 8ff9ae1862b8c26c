"""Cost per 130-step episode of the embedded model's data sources, measured side by side in one run.

Records ``--episodes`` episodes with ``sim record --policy expert:contract=1 --steps 131`` into a temporary
directory, then times per episode: decoding its three videos in one pass each (LeRobot's ``decode_video_frames``,
what ``load_recorded_episodes`` does), decoding them frame by frame through ``LeRobotDataset.__getitem__``, the
whole loader (which reads per-frame success from the recorded ``next.success`` column), the state-only replay
that earlier loaders ran to label per-frame success (no longer done; timed for comparison), and the in-memory
simulation with rendering that ``--data`` replaces. Writes ``benchmarks/results/embedded_data_loading.json`` and prints a markdown table.

    .venv/bin/python benchmarks/embedded_data_loading.py --episodes 2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402
from lerobot.datasets.video_utils import decode_video_frames  # noqa: E402
from machine import cpu_report  # noqa: E402  (benchmarks/machine.py)

from cosmos_robotics.cli import main  # noqa: E402
from cosmos_robotics.export import default_repo_id  # noqa: E402
from cosmos_robotics.training.data import (  # noqa: E402
    _recorded_jobs,
    load_recorded_episodes,
    simulate_episode,
)

POLICY, LENGTH = "expert:contract=1", 130
RESULT = Path(__file__).parent / "results" / "embedded_data_loading.json"


def per_episode(fn, count: int) -> float:
    start = time.perf_counter()
    for index in range(count):
        fn(index)
    return (time.perf_counter() - start) / count


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "contract_expert"
        assert main(["sim", "record", "--episodes", str(args.episodes), "--policy", POLICY, "--out", str(root),
                     "--workers", "1", "--steps", str(LENGTH + 1)]) == 0
        jobs = _recorded_jobs(root, LENGTH)
        dataset = LeRobotDataset(default_repo_id(root), root=root, video_backend="pyav")
        episodes = dataset.meta.episodes
        keys = [f"observation.images.{v}" for v in ("wrist", "exterior_1", "exterior_2")]

        def frame_by_frame(i):
            for row in range(episodes[i]["dataset_from_index"], episodes[i]["dataset_to_index"]):
                [dataset[row][k] for k in keys]

        seconds = {
            "decode_one_pass": per_episode(lambda i: [decode_video_frames(p, list(s), jobs[i].tolerance_s, "pyav",
                                                                          return_uint8=True)
                                                      for p, s in jobs[i].videos], args.episodes),
            "decode_getitem": per_episode(frame_by_frame, args.episodes),
            "loader_total": per_episode(lambda i: load_recorded_episodes([root], LENGTH) if i == 0 else None, 1)
            / args.episodes,
            "former_replay_state_only": per_episode(lambda i: simulate_episode(jobs[i].seed, POLICY, True, LENGTH,
                                                                               cameras=False), args.episodes),
            "simulate_with_rendering": per_episode(lambda i: simulate_episode(1000 + i, POLICY, True, LENGTH),
                                                   args.episodes),
        }
    result = {"episodes": args.episodes, "episode_length": LENGTH, "machine": cpu_report(),
              "seconds_per_episode": {k: round(v, 3) for k, v in seconds.items()}}
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    print("| step | s / episode (130 steps, 3 views 128 px) |\n|---|---|")
    for name, value in seconds.items():
        print(f"| {name} | {value:.3f} |")


if __name__ == "__main__":
    main_()
