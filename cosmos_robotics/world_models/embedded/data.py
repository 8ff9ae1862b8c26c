"""Training data for the embedded model: episodes of SimDroid-v0 generated in memory (LeRobot v3 input: not yet).

Every episode becomes the same arrays (``Episodes``): the three views per frame, ``observation.state``, the
gripper command, per-frame ``is_success``, and for every window start ``t`` the Cosmos 3 DROID model-space chunk
of frames ``t .. t+16`` (``get_adapter("droid").encode_window`` on the measured flange pose and gripper command)
plus the future flange deltas the state head learns.

The data expert is the scripted expert limited to DROID's contract speed: the Cosmos 3 DROID normalization spans
about +-1.4 cm and +-0.04 rad per frame, and the raw expert moves up to 3 cm, so ~9 % of its translations would
be clamped and the chunks would no longer describe the motion. Limited, the task takes 85-105 frames, hence
130-frame episodes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields
from multiprocessing import get_context

import numpy as np
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from cosmos_robotics.world_models.embedded.config import CHUNK, VIEWS

# Per-axis limits (m, rad) inside the DROID q01..q99 range of framewise flange deltas.
CONTRACT_LOW = np.array([-0.0125, -0.012, -0.0135, -0.04, -0.04, -0.04])
CONTRACT_HIGH = np.array([0.0135, 0.0105, 0.0135, 0.04, 0.04, 0.04])
# (spec, share of episodes, used for behaviour cloning)
LADDER = (("expert", 0.4, True), ("expert:noise=0.005", 0.2, True), ("expert:noise=0.01,slip=0.3", 0.2, False),
          ("expert:noise=0.02", 0.2, False))


class ContractSpeedExpert:
    """The scripted expert with its per-frame motion limited to the DROID contract's range."""

    def __init__(self, spec: str, seed: int):
        from cosmos_robotics.policies import make_policy

        self.expert = make_policy(spec, seed=seed)

    def act(self, observation: dict, info: dict) -> np.ndarray:
        action = self.expert.act(observation, info)
        action[:6] = np.clip(action[:6], CONTRACT_LOW, CONTRACT_HIGH)
        return action


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
    """Run one contract-speed expert episode in SimDroid-v0 and turn it into training arrays."""
    from cosmos_robotics.sim.env import SimDroidEnv

    env = _env(episode_length, cameras)
    policy = ContractSpeedExpert(spec, seed)
    obs, info = env.reset(seed=seed)
    images, states, gripper, success = [], [], [], []
    for step in range(episode_length + 1):
        if cameras:
            images.append(np.stack([obs[f"observation.images.{v}"] for v in VIEWS]))
        states.append(obs["observation.state"])
        success.append(info["is_success"])
        if step == episode_length:
            break
        action = policy.act(obs, info)
        gripper.append(action[6])
        obs, _, _, _, info = env.step(action)
    assert isinstance(env, SimDroidEnv)
    states_a = np.asarray(states, np.float32)
    gripper_a = np.asarray(gripper, np.float32)
    chunks, deltas = window_targets(states_a.astype(np.float64), gripper_a)
    return Episodes(np.asarray(images, np.uint8) if cameras else np.zeros((0,), np.uint8), states_a, gripper_a,
                    np.asarray(success), chunks, deltas, np.asarray(clone), np.asarray(seed))


_ENVS: dict = {}


def _env(episode_length: int, cameras: bool):
    """One env per process and setting (creating a MuJoCo renderer per episode is slow)."""
    from cosmos_robotics.sim.env import CAMERAS, SimDroidEnv

    key = (episode_length, cameras)
    if key not in _ENVS:
        _ENVS[key] = SimDroidEnv(cameras=CAMERAS if cameras else (), episode_length=episode_length)
    return _ENVS[key]


def _simulate_job(job: tuple[int, str, bool, int]) -> Episodes:
    return simulate_episode(*job)


def generate_episodes(count: int, first_seed: int = 0, episode_length: int = 130, workers: int = 1) -> Episodes:
    """``count`` ladder episodes with seeds ``first_seed ..``; ``workers`` processes render in parallel."""
    jobs = [(first_seed + i, *ladder_spec(i, count), episode_length) for i in range(count)]
    if workers <= 1:
        parts = [_simulate_job(j) for j in tqdm(jobs, desc="simulating", unit="ep")]
    else:
        with get_context("spawn").Pool(workers) as pool:
            parts = list(tqdm(pool.imap(_simulate_job, jobs), total=count, desc="simulating", unit="ep"))
    return Episodes.concat(parts)
