"""The one episode loop: a chunk-level policy in a chunk-level env (``SimChunkEnv`` or ``CosmosWorldEnv``).

Every consumer (``sim record``, the embedded model's training data, ``rollout``, the demo, the benchmarks, the
evaluation) runs episodes through ``run_episode``, so an episode means the same thing everywhere: ``L`` control
steps, ``L + 1`` observations (the start and one after each step), per-step success *after* the step (LeRobot's
``next.success``), and the chunks the policy chose with their latencies.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from cosmos_robotics.embodiments.droid import DROID_CAMERAS
from cosmos_robotics.errors import PrivilegedStateError
from cosmos_robotics.policies.base import ActionChunk, Policy


@dataclass
class Episode:
    """What one episode produced; ``observations`` are empty when the run was asked not to keep them."""

    seed: int
    policy: str
    task: str
    observations: list[dict[str, np.ndarray]]  # L + 1: the start, then after each step
    actions: np.ndarray  # [L, A] what the env executed per step (SimDroid: delta actions; world model: model space)
    model_actions: np.ndarray | None  # [L, D] model-space rows, when every chunk carried them
    success: np.ndarray  # bool [L]: success after step t
    chunks: list[ActionChunk]
    timings: dict[str, float] = field(default_factory=dict)
    infos: list[dict[str, Any]] = field(default_factory=list)  # the env's info per chunk, without observations

    @property
    def steps(self) -> int:
        return len(self.success)

    @property
    def is_success(self) -> bool:
        return bool(self.success[-1]) if len(self.success) else False

    def states(self) -> np.ndarray:
        """``observation.state`` of every kept observation, ``[L + 1, S]``."""
        return np.stack([o["observation.state"] for o in self.observations])


def stacked_views(episode: Episode) -> np.ndarray:
    """``[L + 1, 3H, W, 3]``: the three DROID views of every kept observation, stacked vertically."""
    return np.stack([np.concatenate([o[f"observation.images.{v}"] for v in DROID_CAMERAS]) for o in episode.observations])


def policy_input(observation: dict, info: dict, policy: Policy, env_name: str) -> dict:
    """What the policy sees: the observation, the task, and simulator ground truth only for policies that need it."""
    seen = {**observation, "task": info.get("task", "")}
    if policy.needs_privileged_state:
        if info.get("privileged") is None:
            raise PrivilegedStateError(policy.name, env_name)
        seen["privileged"] = info["privileged"]
    return seen


def run_episode(env, policy: Policy, seed: int, keep_observations: bool = True) -> Episode:
    """Reset ``env`` and ``policy`` with ``seed``; act chunk by chunk until the env terminates or truncates."""
    env_name = type(env.unwrapped).__name__
    start = time.perf_counter()
    observation, info = env.reset(seed=seed)
    policy.reset(seed)
    observations = [observation] if keep_observations else []
    actions, model_rows, success, chunks, infos = [], [], [], [], []
    policy_s = env_s = 0.0
    done = False
    while not done:
        t0 = time.perf_counter()
        chunk = policy.select_action_chunk(policy_input(observation, info, policy, env_name))
        t1 = time.perf_counter()
        observation, _, terminated, truncated, info = env.step(chunk)
        t2 = time.perf_counter()
        policy_s, env_s = policy_s + t1 - t0, env_s + t2 - t1
        done = terminated or truncated
        steps = info["executed_steps"]
        chunks.append(chunk.head(steps) if steps < len(chunk) else chunk)
        if keep_observations:
            observations.extend(info["observations"])
        actions.append(np.asarray(info["actions"])[:steps])
        model_rows.append(info.get("model_actions"))
        success.append(np.asarray(info["success"], bool)[:steps])
        infos.append({k: v for k, v in info.items() if k not in ("observations", "frames")})
    fps = chunks[0].fps
    steps = sum(len(s) for s in success)
    wall = time.perf_counter() - start
    return Episode(
        seed=seed, policy=policy.name, task=info.get("task", ""), observations=observations,
        actions=np.concatenate(actions),
        model_actions=None if any(m is None for m in model_rows) else np.concatenate(model_rows),
        success=np.concatenate(success), chunks=chunks, infos=infos,
        timings={"policy_s": policy_s, "env_s": env_s, "wall_s": wall, "real_time_factor": steps / fps / wall},
    )


def run_episodes(env, policy: Policy, seeds: Iterable[int], desc: str | None = None, progress: bool = True,
                 keep_observations: bool = True) -> Iterator[Episode]:
    """``run_episode`` for each seed, with a progress bar (success so far in its postfix)."""
    seeds = list(seeds)
    bar = tqdm(seeds, desc=desc or policy.name, unit="episode", disable=not progress, leave=False)
    successes = 0
    for i, seed in enumerate(bar):
        episode = run_episode(env, policy, seed, keep_observations)
        successes += episode.is_success
        bar.set_postfix(success=f"{successes}/{i + 1}")
        yield episode
