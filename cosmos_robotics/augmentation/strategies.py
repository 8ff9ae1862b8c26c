"""The three ways of making a synthetic episode with a world model; each turns one ``Job`` into a ``Candidate``.

* ``variations`` -- the action chunks of a source episode, perturbed in the DROID model space (a seeded Gaussian
  offset per chunk on the translation rows, i.e. a smoothly different path; rotation and gripper rows are kept:
  noise on rot6d rows is not a rotation), rolled out with forward dynamics from the source's first frame.
  Per-step noise would be too fast for the video to show it, and the cycle check would rightly drop it;
* ``new-starts`` -- a policy closed loop inside the world model from a fresh ``SimDroid-v0`` start state (the job's
  seed), through ``CosmosWorldEnv`` and the one episode loop ``run_episode``;
* ``relabel`` -- a source video labelled by inverse dynamics, window by window; the labels are then rolled out with
  forward dynamics so the filter can check that they reproduce the video.

Imagined episodes are recorded as ``rollout`` records them (``imagined_delta_actions``): the robot-space action is
the SimDroid delta from each imagined flange pose toward the step's target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium as gym
import numpy as np

from cosmos_robotics.embodiments import ActionMode, get_adapter
from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.rollout.runner import Episode, run_episode
from cosmos_robotics.world_models.base import WorldModel, WorldModelRequest

STRATEGIES = ("variations", "new-starts", "relabel")
NEEDS_SOURCE = frozenset({"variations", "relabel"})
EMBODIMENT = "droid"
IMAGE_PREFIX, STATE_KEY = "observation.images.", "observation.state"
TRANSLATION = slice(0, 3)  # DROID model space: translation (3), rotation (6, rot6d), gripper (1)


@dataclass(frozen=True)
class Job:
    """One candidate episode. ``index`` fixes its place in the output; ``seed`` makes it reproducible."""

    index: int
    strategy: str
    seed: int
    source_episode: int | None = None


@dataclass
class Candidate:
    """A generated episode before filtering: ``video`` is what inverse dynamics reads (the world model's layout),
    ``episode.model_actions`` what was commanded, ``reference`` the source video a relabelling must reproduce."""

    job: Job
    episode: Episode
    video: np.ndarray  # uint8 [L + 1, H, W, 3]
    reference: np.ndarray | None = None
    source: dict[str, Any] = field(default_factory=dict)


def plan_jobs(strategies: Sequence[str], count: int, seed: int, source_episodes: int) -> list[Job]:
    """Job ``i``: strategy ``i mod len(strategies)``, seed ``seed + i``, source episodes in turn."""
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise CosmosRoboticsError(f"--strategies: expected one or more of {', '.join(STRATEGIES)}, got "
                                  f"{', '.join(strategies) or 'none'}")
    if NEEDS_SOURCE & set(strategies) and source_episodes < 1:
        raise CosmosRoboticsError(f"strategies {', '.join(sorted(NEEDS_SOURCE & set(strategies)))} need --source "
                                  "DATASET with at least one episode")
    return [Job(i, strategies[i % len(strategies)], seed + i,
                (i // len(strategies)) % source_episodes if strategies[i % len(strategies)] in NEEDS_SOURCE else None)
            for i in range(count)]


class PerturbedReplay:
    """Replays a source episode's model-space chunks with a seeded offset per chunk, decoded from the current
    imagined pose."""

    needs_privileged_state = False

    def __init__(self, chunks: np.ndarray, noise: float, name: str = "variations"):
        self.chunks, self.noise, self.name = chunks, float(noise), name  # chunks: [windows, 16, 10]
        self.adapter = get_adapter(EMBODIMENT)
        self._step, self._rng = 0, np.random.default_rng(0)

    def reset(self, seed: int | None = None) -> None:
        self._step, self._rng = 0, np.random.default_rng(seed)

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        window = min(self._step, len(self.chunks) - 1)  # the last steps come from the last window's tail
        rows = np.array(self.chunks[window][self._step - window:], np.float64)
        rows[:, TRANSLATION] += self._rng.normal(0.0, self.noise, (1, TRANSLATION.stop))  # one offset per chunk
        rows = np.clip(rows, -1.0, 1.0)
        self._step += len(rows)
        command = self.adapter.decode_from_cartesian(rows, np.asarray(observation[STATE_KEY][:6], np.float64))
        return ActionChunk(EMBODIMENT, self.adapter.preset.fps, command.gripper, poses=command.poses[1:],
                           model_actions=rows, metadata={"policy": self.name})


def composed_video(world_model: WorldModel, observations: Sequence[dict]) -> np.ndarray:
    """``[L + 1, H, W, 3]`` frames in the world model's own layout, from LeRobot-keyed observations."""
    cameras = get_adapter(EMBODIMENT).cameras
    return world_model.compose_frame(EMBODIMENT, {c: np.stack([o[IMAGE_PREFIX + c] for o in observations])
                                                  for c in cameras})


def source_observation(source, e: int, t: int) -> dict[str, np.ndarray]:
    """Frame ``t`` of source episode ``e`` (``training.data.Episodes``) as a LeRobot-keyed observation."""
    from cosmos_robotics.world_models.embedded.config import VIEWS

    return {STATE_KEY: source.states[e, t].astype(np.float32),
            **{IMAGE_PREFIX + v: source.images[e, t, i] for i, v in enumerate(VIEWS)}}


def imagined(env, policy, job: Job, start: dict | None, source: dict) -> Candidate:
    """Run ``policy`` in the world-model env from the job's start and record it like ``rollout`` does."""
    from cosmos_robotics.rollout.session import imagined_delta_actions

    episode = run_episode(StartFrom(env, start), policy, job.seed)
    episode = replace(episode, actions=imagined_delta_actions(episode).astype(np.float32))
    return Candidate(job, episode, composed_video(env.world_model, episode.observations), source=source)


class StartFrom(gym.Wrapper):
    """``env`` whose ``reset(seed)`` starts from ``start`` (reset options: an observation, or None for the
    simulator's start state of the seed); ``run_episode`` resets with the seed only."""

    def __init__(self, env, start: dict | None):
        super().__init__(env)
        self.start = start

    def reset(self, *, seed=None, options=None):
        return self.env.reset(seed=seed, options=self.start)


def relabelled(env, source, e: int, job: Job, task: str, source_info: dict) -> Candidate:
    """Inverse dynamics over each 16-step window of source episode ``e`` (states and frames stay the source's);
    the labels are replayed in the world-model env from the source's first frame for the filter's checks."""
    from cosmos_robotics.policies.replay import ChunkReplay
    from cosmos_robotics.rollout.session import imagined_delta_actions

    world_model, adapter = env.world_model, get_adapter(EMBODIMENT)
    observations = [source_observation(source, e, t) for t in range(source.images.shape[1])]
    reference = composed_video(world_model, observations)
    steps, chunk = len(reference) - 1, adapter.preset.chunk_size
    requests = [WorldModelRequest(ActionMode.INVERSE_DYNAMICS, EMBODIMENT, reference[t:t + min(chunk, steps - t) + 1],
                                  chunk_size=min(chunk, steps - t), decode_actions=False, seed=job.seed)
                for t in range(0, steps, chunk)]
    labels = np.concatenate([r.actions for r in world_model.generate_batch(requests)])
    chunks = []
    for t in range(0, steps, chunk):
        command = adapter.decode_from_cartesian(labels[t:t + chunk], source.states[e, t, :6].astype(np.float64))
        chunks.append(ActionChunk(EMBODIMENT, adapter.preset.fps, command.gripper, poses=command.poses[1:],
                                  model_actions=labels[t:t + chunk]))
    episode = Episode(seed=job.seed, policy="inverse-dynamics", task=task, observations=observations,
                      actions=np.zeros((steps, 7), np.float32), model_actions=labels,
                      success=np.asarray(source.success[e, 1:], bool), chunks=chunks)
    episode = replace(episode, actions=imagined_delta_actions(episode).astype(np.float32))
    replayed = run_episode(StartFrom(env, {"observation": observations[0], "task": task}), ChunkReplay(chunks),
                           job.seed)
    return Candidate(job, episode, composed_video(world_model, replayed.observations), reference=reference,
                     source=source_info)
