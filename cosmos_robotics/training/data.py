"""Training data for the embedded model: SimDroid-v0 episodes simulated in memory, or read back from LeRobot v3
datasets recorded by ``cosmos-robotics sim record``; both give the same arrays (``Episodes``).

Every episode becomes the three views per frame, ``observation.state``, the gripper command, per-frame
``is_success``, and for every window start ``t`` the Cosmos 3 DROID model-space chunk of frames ``t .. t+16``
(``get_adapter("droid").encode_window`` on the measured flange pose and gripper command) plus the future flange
deltas the state head learns.

The data expert is the scripted expert limited to DROID's contract speed (policy spec ``expert:...,contract=1``):
the Cosmos 3 DROID normalization spans about +-1.4 cm and +-0.04 rad per frame, and the raw expert moves up to
3 cm, so ~9 % of its translations would be clamped and the chunks would no longer describe the motion. Limited,
the task takes 85-105 frames, hence 130-step episodes.

Recorded data: one dataset per ladder rung, e.g. ``sim record --policy expert:noise=0.005,contract=1 --steps 131``
(the recorder stores the observation *before* each action, so ``L`` actions need ``--steps L+1``). Per-frame
success is read from the recorder's ``next.success`` column, LeRobot's convention for "success after frame
``t``'s action"; here ``success[t]`` is the success *of* frame ``t``'s observation, so ``success[t] =
next.success[t-1]``, and ``success[0]`` is False because SimDroid-v0 never starts in success (its reset puts the
cube on the table, 17 cm or more from the plate). Chunks and deltas are computed from the recorded states and
gripper commands, as ``simulate_episode`` computes them from the simulated ones: nothing is re-simulated.
Datasets recorded before ``next.success`` existed are refused with the command that re-records them (recording is
deterministic from the stored seeds); they are not labelled by replaying the simulator, which needed a bit-identical
simulator build and took most of the loading time.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from cosmos_robotics.data.video_backend import video_backend
from cosmos_robotics.errors import DatasetFormatError
from cosmos_robotics.export.episode import SUCCESS_KEY
from cosmos_robotics.world_models.embedded.config import CHUNK, IMAGE_SIZE, STATE_DIM, VIEWS

# (policy spec, share of episodes, used for behaviour cloning); specs are canonical ``make_policy(...).name``s
# The near-miss rung (grasps aimed 1.5-4.5 cm off the cube, ~40 % of them close on nothing) was added for the
# fine-tune of the shipped weights: without it the forward dynamics imagined every grasp as held.
LADDER = (("expert:contract=1", 0.3, True), ("expert:noise=0.005,contract=1", 0.2, True),
          ("expert:noise=0.01,slip=0.3,contract=1", 0.1, False), ("expert:noise=0.02,contract=1", 0.1, False),
          ("expert:noise=0.005,miss=1,contract=1", 0.3, False))
CLONED = frozenset(spec for spec, _, clone in LADDER if clone)
CAMERA_KEYS = tuple(f"observation.images.{view}" for view in VIEWS)
STATE_KEY, ACTION_KEY, GRIPPER_ACTION = "observation.state", "action", 6
FIRST_FRAME_SUCCESS = False  # SimDroidEnv.reset keeps the cube off the plate, so no episode starts in success


def ladder_spec(index: int, count: int) -> tuple[str, bool]:
    """Spec of episode ``index`` of ``count``: the ladder's shares, interleaved so any prefix is balanced."""
    shares = np.cumsum([share for _, share, _ in LADDER])
    position = ((index * 0.6180339887) % 1.0)  # low-discrepancy, deterministic
    level = int(np.searchsorted(shares, position, side="right"))
    spec, _, clone = LADDER[min(level, len(LADDER) - 1)]
    return spec, clone


@dataclass
class Episodes:
    """``N`` episodes of ``L+1`` frames each (``L`` actions)."""

    images: np.ndarray  # uint8 [N, L+1, V, H, W, 3]
    states: np.ndarray  # float32 [N, L+1, 14]
    gripper: np.ndarray  # float32 [N, L] gripper command (0 open .. 1 closed)
    success: np.ndarray  # bool [N, L+1]
    chunks: np.ndarray  # float32 [N, L+1-CHUNK, CHUNK, 10] model-space chunk starting at each frame
    deltas: np.ndarray  # float32 [N, L+1-CHUNK, CHUNK, 14] future flange xyz / rotvec deltas, gripper, joint deltas
    clone: np.ndarray  # bool [N] episodes the policy imitates
    seeds: np.ndarray  # int64 [N]

    @property
    def windows(self) -> int:
        return self.chunks.shape[1]

    @staticmethod
    def concat(parts: list[Episodes]) -> Episodes:
        return Episodes(**{f.name: np.stack([getattr(p, f.name) for p in parts]) for f in fields(Episodes)})


def window_targets(states: np.ndarray, gripper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model-space chunks and future flange deltas for every window start of one episode."""
    from cosmos_robotics.embodiments import get_adapter

    droid = get_adapter("droid")
    starts = range(len(states) - CHUNK)
    rot = Rotation.from_euler("xyz", states[:, 3:6])
    chunks, deltas = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rare clamps at contract limits are expected (ClampWarning)
        for t in starts:
            chunks.append(droid.encode_window(states[t:t + CHUNK + 1, :6].astype(np.float64), gripper[t:t + CHUNK]))
            future = slice(t + 1, t + CHUNK + 1)
            dpos = states[future, :3] - states[t, :3]
            drot = (rot[future] * rot[t].inv()).as_rotvec()
            deltas.append(np.concatenate([dpos, drot, states[future, 6:7], states[future, 7:] - states[t, 7:]], 1))
    return np.asarray(chunks, np.float32), np.asarray(deltas, np.float32)


def simulate_episode(seed: int, spec: str, clone: bool, episode_length: int, cameras: bool = True) -> Episodes:
    """Run one episode of policy ``spec`` in SimDroid-v0 and turn it into training arrays."""
    from cosmos_robotics.policies import make_policy
    from cosmos_robotics.rollout import run_episode

    episode = run_episode(_env(episode_length, cameras), make_policy(spec, seed=seed), seed)
    images = (np.asarray([np.stack([o[f"observation.images.{v}"] for v in VIEWS]) for o in episode.observations],
                         np.uint8) if cameras else np.zeros((0,), np.uint8))
    states = episode.states().astype(np.float32)
    gripper = episode.actions[:, 6].astype(np.float32)
    success = np.concatenate([[FIRST_FRAME_SUCCESS], episode.success])
    chunks, deltas = window_targets(states.astype(np.float64), gripper)
    return Episodes(images, states, gripper, success, chunks, deltas, np.asarray(clone), np.asarray(seed))


_ENVS: dict = {}


def _env(episode_length: int, cameras: bool):
    """One env per process and setting (creating a MuJoCo renderer per episode is slow)."""
    from cosmos_robotics.envs import SimChunkEnv
    from cosmos_robotics.sim.env import CAMERAS

    key = (episode_length, cameras)
    if key not in _ENVS:
        _ENVS[key] = SimChunkEnv(cameras=CAMERAS if cameras else (), episode_length=episode_length)
    return _ENVS[key]


def _simulate_job(job: tuple[int, str, bool, int]) -> Episodes:
    return simulate_episode(*job)


def _map(work: Callable, jobs: list, workers: int, desc: str) -> list:
    """``work`` over ``jobs`` in order, in ``workers`` spawned processes (MuJoCo and decoding scale with processes)."""
    if workers <= 1 or len(jobs) <= 1:
        return [work(j) for j in tqdm(jobs, desc=desc, unit="ep")]
    with get_context("spawn").Pool(min(workers, len(jobs))) as pool:
        return list(tqdm(pool.imap(work, jobs), total=len(jobs), desc=desc, unit="ep"))


def generate_episodes(episodes: int, first_seed: int = 0, episode_length: int = 130, workers: int = 1) -> Episodes:
    """``episodes`` ladder episodes with seeds ``first_seed ..``; ``workers`` processes render in parallel."""
    jobs = [(first_seed + i, *ladder_spec(i, episodes), episode_length) for i in range(episodes)]
    return Episodes.concat(_map(_simulate_job, jobs, workers, "simulating"))


@dataclass(frozen=True)
class _RecordedEpisode:
    """What one worker needs to turn a recorded episode into ``Episodes``: where its frames are, its numbers."""

    videos: tuple[tuple[str, tuple[float, ...]], ...]  # per view in VIEWS order: video file, frame timestamps
    tolerance_s: float
    states: np.ndarray  # float32 [L+1, 14]
    gripper: np.ndarray  # float32 [L]
    success: np.ndarray  # bool [L+1], success of each frame's observation (``Episodes.success``)
    seed: int
    clone: bool


def load_recorded_episodes(roots: Sequence[str | Path], episode_length: int = 130, workers: int = 1) -> Episodes:
    """Every episode of the LeRobot v3 datasets ``roots`` (written by ``sim record``), cut to ``episode_length``
    actions; ``workers`` processes decode videos in parallel."""
    if not roots:
        raise DatasetFormatError("expected at least one dataset directory, got none")
    jobs = [job for root in roots for job in _recorded_jobs(Path(root), episode_length)]
    if not any(job.clone for job in jobs):
        warnings.warn(f"no dataset was recorded with a policy the policy head imitates ({', '.join(sorted(CLONED))}):"
                      " the policy head will not train", stacklevel=2)
    return Episodes.concat(_map(_load_recorded, jobs, workers, "loading"))


def _recorded_jobs(root: Path, episode_length: int) -> list[_RecordedEpisode]:
    """Check one dataset against what training needs and list its episodes (numbers read, videos not yet)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from cosmos_robotics.export import default_repo_id, read_provenance
    from cosmos_robotics.policies import make_policy
    from cosmos_robotics.sim import ENV_ID

    if not (root / "meta" / "info.json").is_file():
        raise DatasetFormatError(f"{root}: expected a LeRobot v3 dataset (meta/info.json), found none")
    try:
        dataset = LeRobotDataset(default_repo_id(root), root=root, video_backend=video_backend()[0])
    except (ValueError, KeyError, OSError) as exc:
        raise DatasetFormatError(f"{root}: expected a LeRobot v3 dataset LeRobot can read, got: {exc}") from None
    provenance, notes = read_provenance(root)
    if provenance.generator != f"sim:{ENV_ID}" or "policy" not in provenance.params:
        raise DatasetFormatError(f"{root}: expected a recording of sim:{ENV_ID} with its policy in "
                                 f"meta/cosmos_robotics.json, got generator {provenance.generator!r}")
    if SUCCESS_KEY not in dataset.meta.features:
        params = provenance.params
        raise DatasetFormatError(
            f"{root}: expected per-frame success ({SUCCESS_KEY}), got a dataset recorded without it (by "
            f"cosmos-robotics {provenance.toolkit_version}, before sim record stored it); re-record it with this "
            f"version into a new directory: cosmos-robotics sim record --policy {params['policy']} --seed "
            f"{provenance.seed} --resolution {params.get('resolution')} --steps {params.get('steps')} "
            f"--episodes {len(notes)} --out NEW_DIR")
    _check_features(root, dataset.meta.features)
    policy = make_policy(provenance.params["policy"]).name
    if policy not in {spec for spec, _, _ in LADDER}:
        warnings.warn(f"{root}: policy {policy!r} is not a rung of the training ladder "
                      f"({', '.join(spec for spec, _, _ in LADDER)}); its chunks may leave the contract range",
                      stacklevel=3)
    frames = episode_length + 1
    lengths = [int(ep["length"]) for ep in dataset.meta.episodes]
    if len(notes) != len(lengths) or any(n.seed is None for n in notes):
        raise DatasetFormatError(f"{root}: expected a seed per episode in meta/cosmos_robotics.json for "
                                 f"{len(lengths)} episodes, got {[n.seed for n in notes]}")
    if min(lengths) < frames:
        raise DatasetFormatError(
            f"{root}: expected episodes of >= {frames} frames for --episode-length {episode_length} "
            f"(record with --steps {frames}), got {min(lengths)}")
    if max(lengths) > frames:
        warnings.warn(f"{root}: episodes of {max(lengths)} frames are cut to {frames} "
                      f"(--episode-length {episode_length})", stacklevel=3)
    table = dataset.hf_dataset.with_format("numpy")
    states, actions, timestamps = table[STATE_KEY], table[ACTION_KEY], table["timestamp"]
    next_success = table[SUCCESS_KEY]  # bool [N]: LeRobot stores a (1,)-shaped feature as a scalar column
    jobs = []
    for index, (ep, note) in enumerate(zip(dataset.meta.episodes, notes, strict=True)):
        rows = slice(int(ep["dataset_from_index"]), int(ep["dataset_from_index"]) + frames)
        videos = tuple(
            (str(root / dataset.meta.get_video_file_path(index, key)),
             tuple(float(ep[f"videos/{key}/from_timestamp"] + t) for t in timestamps[rows]))
            for key in CAMERA_KEYS
        )
        success = np.concatenate([[FIRST_FRAME_SUCCESS], next_success[rows][:-1]]).astype(bool)
        jobs.append(_RecordedEpisode(
            videos, dataset.tolerance_s, np.asarray(states[rows], np.float32),
            np.asarray(actions[rows][:-1, GRIPPER_ACTION], np.float32), success, int(note.seed), policy in CLONED))
    return jobs


def _check_features(root: Path, features: dict) -> None:
    """The cameras, state, action and success training reads, with the sizes the model was built for."""
    expected = {key: ("video", (IMAGE_SIZE, IMAGE_SIZE, 3)) for key in CAMERA_KEYS}
    expected |= {STATE_KEY: ("float32", (STATE_DIM,)), ACTION_KEY: ("float32", (GRIPPER_ACTION + 1,)),
                 SUCCESS_KEY: ("bool", (1,))}
    missing = [key for key in expected if key not in features]
    if missing:
        raise DatasetFormatError(f"{root}: expected features {', '.join(expected)}; missing {', '.join(missing)}")
    for key, (dtype, shape) in expected.items():
        got = (features[key]["dtype"], tuple(features[key]["shape"]))
        if got != (dtype, shape):
            hint = " (the embedded model needs sim record --resolution 128)" if dtype == "video" else ""
            raise DatasetFormatError(f"{root}: expected {key} {dtype} {list(shape)}{hint}, got {got[0]} {list(got[1])}")


def _load_recorded(episode: _RecordedEpisode) -> Episodes:
    """Decode each view's frames in one pass (LeRobot's decoder); the targets come from the recorded numbers."""
    from lerobot.datasets.video_utils import decode_video_frames

    views = [decode_video_frames(path, list(stamps), episode.tolerance_s, video_backend()[0], return_uint8=True)
             for path, stamps in episode.videos]  # uint8 [L+1, 3, H, W] each
    images = np.stack([v.permute(0, 2, 3, 1).numpy() for v in views], axis=1)
    chunks, deltas = window_targets(episode.states.astype(np.float64), episode.gripper)
    return Episodes(images, episode.states, episode.gripper, episode.success, chunks, deltas,
                    np.asarray(episode.clone), np.asarray(episode.seed))
