"""Run every policy in the world-model env and in the simulator from the same seeds, one record per episode.

Episodes go through the one rollout runner (``rollout.run_episode``). Each finished episode is written as a small
JSON record plus its last observations (``.npz``, what success detectors judge later), atomically, so a rerun
skips finished episodes (resume) and an interrupted run never leaves half a record. Order is seed-major: at any
moment every policy has (nearly) the same seeds done, so a partial run is still a fair comparison.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cosmos_robotics.rollout import Episode, run_episode, stacked_views

ENVS = ("world_model", "simulator")
KEPT_OBSERVATIONS = (-16, -8, -4, -1)  # which observations an episode keeps for the detectors (last = final)


def slug(policy_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", policy_name).strip("_")


def record_path(out: Path, env: str, policy: str, seed: int) -> Path:
    return Path(out) / "episodes" / env / slug(policy) / f"{seed}.json"


def video_path(out: Path, env: str, policy: str, seed: int) -> Path:
    return Path(out) / "videos" / slug(policy) / f"{seed}_{env}.mp4"


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    write(tmp)
    os.replace(tmp, path)


def save_episode(out: Path, env: str, episode: Episode, video: bool, fps: float) -> dict:
    """Write the record (+ last observations, + a video of the three views if asked); returns the record."""
    probability = episode.infos[-1].get("success_probability")
    final = episode.observations[-1]
    record = {
        "policy": episode.policy, "env": env, "seed": episode.seed, "task": episode.task, "steps": episode.steps,
        "success": episode.is_success,  # the env's own signal: simulator ground truth, or the backend's at 0.5
        "success_probability": None if probability is None else round(float(np.asarray(probability)[-1]), 6),
        "success_source": episode.infos[-1].get("success_source", "simulator"),
        "final_state": [round(float(v), 6) for v in final["observation.state"]],
        "seconds": {k: round(float(v), 4) for k, v in episode.timings.items()},
    }
    path = record_path(out, env, episode.policy, episode.seed)
    kept = [episode.observations[i] for i in KEPT_OBSERVATIONS if -i <= len(episode.observations)]
    arrays = {key: np.stack([o[key] for o in kept]) for key in final}

    def write_npz(tmp: Path):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    _atomic_write(path.with_suffix(".npz"), write_npz)
    if video:
        from cosmos_robotics.media import write_video

        write_video(stacked_views(episode), video_path(out, env, episode.policy, episode.seed), fps=fps)
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(record, indent=1) + "\n"))
    return record


def load_record(out: Path, env: str, policy: str, seed: int) -> dict | None:
    path = record_path(out, env, policy, seed)
    return json.loads(path.read_text()) if path.is_file() else None


def load_observations(out: Path, env: str, policy: str, seed: int) -> dict[str, np.ndarray]:
    """The kept observations of one episode, ``{key: [K, ...]}`` (last row: the final observation)."""
    with np.load(record_path(out, env, policy, seed).with_suffix(".npz")) as data:
        return {k: data[k] for k in data.files}


def run_all(out: Path, envs: dict, policies: list, seeds: list[int], video_seeds: list[int],
            progress: bool = True) -> int:
    """Run what is missing (seed-major); ``envs`` maps ``ENVS`` names to envs. Returns episodes run now."""
    todo = [(seed, p, env) for seed in seeds for p in policies for env in ENVS
            if not record_path(out, env, p.name, seed).is_file()]
    bar = tqdm(todo, desc="evaluate", unit="episode", disable=not progress)
    for seed, policy, env in bar:
        bar.set_postfix(policy=policy.name[:24], env=env, seed=seed)
        episode = run_episode(envs[env], policy, seed)
        save_episode(out, env, episode, seed in video_seeds, fps=episode.chunks[0].fps)
    return len(todo)
