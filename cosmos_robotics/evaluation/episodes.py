"""Run every policy in the world-model env and in the simulator from the same seeds, one record per episode.

Episodes go through the one rollout runner (``rollout.run_episode``). Each finished episode is written as a small
JSON record plus its last observations (``.npz``, what success detectors judge later), atomically, so a rerun
skips finished episodes (resume) and an interrupted run never leaves half a record. Order is seed-major: at any
moment every policy has (nearly) the same seeds done, so a partial run is still a fair comparison. An
``EpisodeWorker`` runs the episodes (in this process, in worker processes or as Ray actors); ``run_all`` writes
what it yields.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
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


@dataclass
class EpisodeFiles:
    """What one finished episode leaves on disk: built where the episode ran (a Ray worker, say), written by the
    one writer. ``arrays``: the kept observations; ``video``: the three views of every step, for video seeds."""

    env: str
    record: dict
    arrays: dict[str, np.ndarray]
    video: np.ndarray | None
    fps: float


def episode_files(env: str, episode: Episode, video: bool) -> EpisodeFiles:
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
    kept = [episode.observations[i] for i in KEPT_OBSERVATIONS if -i <= len(episode.observations)]
    arrays = {key: np.stack([o[key] for o in kept]) for key in final}
    return EpisodeFiles(env, record, arrays, stacked_views(episode) if video else None, episode.chunks[0].fps)


def write_episode(out: Path, files: EpisodeFiles) -> dict:
    """Write the record (+ last observations, + a video of the three views if any); returns the record."""
    record = files.record
    path = record_path(out, files.env, record["policy"], record["seed"])

    def write_npz(tmp: Path):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **files.arrays)

    _atomic_write(path.with_suffix(".npz"), write_npz)
    if files.video is not None:
        from cosmos_robotics.media import write_video

        write_video(files.video, video_path(out, files.env, record["policy"], record["seed"]), fps=files.fps)
    _atomic_write(path, lambda tmp: tmp.write_text(json.dumps(record, indent=1) + "\n"))
    return record


def load_record(out: Path, env: str, policy: str, seed: int) -> dict | None:
    path = record_path(out, env, policy, seed)
    return json.loads(path.read_text()) if path.is_file() else None


def load_observations(out: Path, env: str, policy: str, seed: int) -> dict[str, np.ndarray]:
    """The kept observations of one episode, ``{key: [K, ...]}`` (last row: the final observation)."""
    with np.load(record_path(out, env, policy, seed).with_suffix(".npz")) as data:
        return {k: data[k] for k in data.files}


def pending(out: Path, policies: list[str], seeds: list[int]) -> list[tuple[int, str, str]]:
    """``(seed, policy name, env)`` of every episode without a record yet, seed-major."""
    return [(seed, p, env) for seed in seeds for p in policies for env in ENVS
            if not record_path(out, env, p, seed).is_file()]


class EpisodeWorker:
    """One process's envs and policies: turns ``(seed, policy name, env)`` into :class:`EpisodeFiles`. The same
    class runs in the evaluating process, in a worker process and as a Ray actor, so all give the same episodes."""

    def __init__(self, envs: dict, policies: list, video_seeds: list[int]):
        self.envs, self.policies, self.video_seeds = envs, {p.name: p for p in policies}, set(video_seeds)

    @classmethod
    def build(cls, backend: str, checkpoint: str | None, options: dict, episode_length: int, specs: list[str],
              video_seeds: list[int], threads: int = 1) -> EpisodeWorker:
        """Its own world model, envs and policies, with ``threads`` torch threads (workers: one each)."""
        import torch

        from cosmos_robotics.world_models.factory import make_world_model

        torch.set_num_threads(threads)
        return cls(make_envs(make_world_model(backend, checkpoint, **options), episode_length), make_policies(specs),
                   video_seeds)

    def run(self, task: tuple[int, str, str]) -> EpisodeFiles:
        seed, policy, env = task
        episode = run_episode(self.envs[env], self.policies[policy], seed)
        return episode_files(env, episode, seed in self.video_seeds)

    def map(self, tasks):
        return map(self.run, tasks)

    def close(self) -> None:
        for env in self.envs.values():
            env.close()


def make_envs(world_model, episode_length: int) -> dict:
    from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv

    return {"world_model": CosmosWorldEnv(world_model, episode_length=episode_length),
            "simulator": SimChunkEnv(episode_length=episode_length)}


def make_policies(policies: list) -> list:
    from cosmos_robotics.policies import make_policy

    return [make_policy(p) if isinstance(p, str) else p for p in policies]


def run_all(out: Path, tasks: list[tuple[int, str, str]], produce, progress: bool = True) -> int:
    """Write the episodes ``produce(tasks)`` yields (in-process, or from worker processes / Ray actors), here,
    one after another. Returns how many were written."""
    bar = tqdm(total=len(tasks), desc="evaluate", unit="episode", disable=not progress)
    for files in produce(tasks):
        write_episode(out, files)
        bar.update()
        bar.set_postfix(policy=files.record["policy"][:24], env=files.env, seed=files.record["seed"])
    bar.close()
    return len(tasks)
