"""Record policy rollouts in ``SimDroid-v0`` as a LeRobot v3 dataset (what ``cosmos-robotics sim record`` runs).

Worker processes simulate and render (MuJoCo on CPU scales with processes, not threads); the parent process owns
the crash-safe writer and commits every ``commit_every`` episodes. Episode ``i`` always uses seed ``seed + i``,
so an interrupted recording rerun with the same arguments continues at the first missing episode and produces
the same data an uninterrupted run would have.

Each frame stores the success after its action as LeRobot's ``next.success``, so consumers that need per-frame
success labels (``training.data``) read them instead of re-simulating; the episode's final flag also goes to
``meta/cosmos_robotics.json``. Datasets recorded before this column existed lack it, and resuming one is refused
(the features differ).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.export import IMAGE_PREFIX, DatasetSpec, EpisodeRecord, LeRobotEpisodeWriter, Provenance
from cosmos_robotics.export.model_actions import DROID_MODEL_ACTION_NAMES, droid_model_actions
from cosmos_robotics.rollout.runner import Episode, run_episode


@dataclass(frozen=True)
class RecordingSummary:
    root: Path
    episodes: int
    successes: int
    recorded_now: int


def record_dataset(out: Path, episodes: int, policy: str, workers: int = 2, seed: int = 0, resolution: int = 128,
                   steps: int = 100, commit_every: int = 10) -> RecordingSummary:
    """Make ``out`` hold ``episodes`` episodes of ``policy`` (resuming what it already holds)."""
    for name, value in (("episodes", episodes), ("workers", workers), ("resolution", resolution), ("steps", steps),
                        ("commit_every", commit_every)):
        if value < 1:
            raise CosmosRoboticsError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    from cosmos_robotics.policies import make_policy

    policy_name = make_policy(policy).name  # validates the spec before any process starts
    quiet_libraries()
    with LeRobotEpisodeWriter(out, sim_spec(resolution), sim_provenance(policy_name, seed, resolution, steps)) as writer:
        start = writer.num_committed
        todo = [((policy_name, resolution, steps), seed + i) for i in range(start, episodes)]
        if todo:
            # Spawned workers: no inherited EGL/OpenMP state; one llvmpipe thread each (processes scale, threads don't).
            os.environ.setdefault("LP_NUM_THREADS", "1")
            workers = min(workers, len(todo))
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
                progress = tqdm(total=episodes, initial=start, unit="episode", desc=f"recording {out.name}")
                for record in ordered_results(pool, todo, window=2 * workers):
                    writer.add(record)
                    if writer.num_pending >= commit_every:
                        writer.commit()
                    progress.update(1)
                    progress.set_postfix(committed=writer.num_committed)
                progress.close()
            writer.commit()
        return RecordingSummary(out, writer.num_committed, sum(e.success for e in writer.episodes), len(todo))


def sim_spec(resolution: int) -> DatasetSpec:
    """The recorded features: three cameras, state, action, DROID model-space actions and ``next.success``."""
    from cosmos_robotics.sim import ACTION_NAMES, CAMERAS, STATE_NAMES

    return DatasetSpec(
        fps=15,
        cameras={cam: (resolution, resolution) for cam in CAMERAS},
        state_names=tuple(STATE_NAMES),
        action_names=tuple(ACTION_NAMES),
        model_action_names=DROID_MODEL_ACTION_NAMES,
        frame_success=True,
        robot_type="franka_panda_robotiq_2f85_sim",
    )


def ordered_results(pool: ProcessPoolExecutor, jobs: list, window: int) -> Iterator[EpisodeRecord]:
    """Episodes in index order, at most ``window`` in flight: the writer (video encoding) can be the slower side,
    and unbounded prefetch would pile up ~15 MB per finished episode. A worker that dies raises
    ``BrokenProcessPool`` here instead of hanging."""
    pending: deque = deque()
    for job in jobs:
        pending.append(pool.submit(simulate_record, job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def quiet_libraries() -> None:
    """Keep the progress bar readable: no per-file ``datasets`` bars, no libav muxer chatter."""
    import av

    import datasets

    datasets.disable_progress_bars()
    av.logging.set_libav_level(av.logging.ERROR)  # lerobot restores libav's own stderr logger after encoding


def sim_provenance(policy_name: str, seed: int, resolution: int, steps: int) -> Provenance:
    import mujoco

    from cosmos_robotics.sim import ENV_ID

    return Provenance(
        generator=f"sim:{ENV_ID}",
        synthetic=True,
        seed=seed,
        backend=f"mujoco {mujoco.__version__}",
        params={
            "policy": policy_name,
            "resolution": resolution,
            "steps": steps,
            "episode_seed": "seed + episode_index",
            "action.cosmos3": "DROID 10D (droid_lerobot), quantile-normalized, unclamped, row t = frame t -> t+1",
        },
    )


def episode_record(episode: Episode) -> EpisodeRecord:
    """A simulated episode as the writer's record: the ``L`` frames before each action, their actions, the
    DROID model-space actions of the ``L`` transitions (needing the state after the last action too)."""
    frames = {key.removeprefix(IMAGE_PREFIX): np.stack([o[key] for o in episode.observations[:-1]])
              for key in episode.observations[0] if key.startswith(IMAGE_PREFIX)}
    states = episode.states()
    actions = episode.actions.astype(np.float32)
    return EpisodeRecord(
        frames=frames, states=states[:-1], actions=actions,
        model_actions=droid_model_actions(states[:, :6].astype(np.float64), actions[:, 6].astype(np.float64)),
        frame_success=episode.success, task=episode.task, success=episode.is_success, seed=episode.seed,
    )


_ENVS: dict = {}


def simulate_record(job: tuple[tuple[str, int, int], int]) -> EpisodeRecord:
    """One rollout in a worker process (the env is built once per process and configuration)."""
    (policy_name, resolution, steps), seed = job
    from cosmos_robotics.envs import SimChunkEnv
    from cosmos_robotics.policies import make_policy

    key = (resolution, steps)
    if key not in _ENVS:
        _ENVS[key] = SimChunkEnv(image_size=(resolution, resolution), episode_length=steps)
    return episode_record(run_episode(_ENVS[key], make_policy(policy_name, seed=seed), seed))
