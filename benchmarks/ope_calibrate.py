"""Calibrate the success detectors' thresholds on held-out simulator episodes (never on evaluation seeds).

Runs a mix of policies in ``SimChunkEnv`` from seeds ``--seed-start``.. (3,000,000+: disjoint from training,
0-511, and from the evaluation seeds, 2,000,000+), takes every ``--stride``-th observation of the last
``--last`` steps with the simulator's label for it, scores them with each detector and keeps the threshold of best
balanced accuracy. Writes ``cosmos_robotics/evaluation/calibration.json`` (thresholds + the seed range, which every
evaluation then refuses) and ``benchmarks/results/ope_calibration.json``.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/ope_calibrate.py --seeds 12
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from machine import cpu_report  # benchmarks/machine.py

from cosmos_robotics.envs import SimChunkEnv
from cosmos_robotics.evaluation.success import CALIBRATION, FrameDetector, HeadDetector, best_threshold
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout import run_episodes
from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

RESULT = Path(__file__).parent / "results" / "ope_calibration.json"
POLICIES = ("expert:noise=0.02", "expert:noise=0.01,slip=0.3", "embedded:noise=0.2", "embedded:noise=0.1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--seed-start", type=int, default=3_000_000)
    parser.add_argument("--episode-length", type=int, default=130)
    parser.add_argument("--last", type=int, default=40)
    parser.add_argument("--stride", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    env = SimChunkEnv(episode_length=args.episode_length)
    seeds = list(range(args.seed_start, args.seed_start + args.seeds))
    samples, labels, episodes = [], [], []
    for spec in POLICIES:
        for episode in run_episodes(env, make_policy(spec), seeds, desc=spec):
            rows = range(max(1, episode.steps - args.last), episode.steps + 1, args.stride)
            for t in rows:  # observation t is after step t - 1
                samples.append({k: v[None] for k, v in episode.observations[t].items()})
                labels.append(bool(episode.success[t - 1]))
            episodes.append({"policy": spec, "seed": episode.seed, "success": episode.is_success})
    env.close()
    labels = np.array(labels)
    world_model = EmbeddedWorldModel()
    detectors = {"head": HeadDetector(world_model, 0.5), "frame": FrameDetector(0.5)}
    calibration = {"seeds": [seeds[0], seeds[-1]], "policies": list(POLICIES), "episode_length": args.episode_length,
                   "frames": len(labels), "positives": int(labels.sum()), "detectors": {}}
    for name, detector in detectors.items():
        scores = np.concatenate([detector.scores(samples[i:i + 32], "") for i in range(0, len(samples), 32)])
        threshold, accuracy = best_threshold(scores, labels)
        calibration["detectors"][name] = {
            "threshold": round(threshold, 6), "balanced_accuracy": round(float(accuracy), 4),
            "accuracy": round(float(((scores > threshold) == labels).mean()), 4),
            "seeds": [seeds[0], seeds[-1]], "frames": len(labels), "positives": int(labels.sum())}
    CALIBRATION.write_text(json.dumps({k: calibration[k] for k in ("seeds", "policies", "episode_length", "frames",
                                                                   "positives", "detectors")}, indent=1) + "\n")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps({**calibration, "episodes": episodes, "seconds": round(time.perf_counter() - start, 1),
                                  "command": "benchmarks/ope_calibrate.py " + " ".join(
                                      f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
                                  "cpu": cpu_report()}, indent=1) + "\n")
    print(json.dumps(calibration["detectors"], indent=1))


if __name__ == "__main__":
    main()
