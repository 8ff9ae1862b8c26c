"""LeRobot env plugin: ``lerobot-eval --env.type=cosmos_sim`` (SimDroid-v0) and ``--env.type=cosmos_world_model``
(the same task inside a world model, default the embedded one), so LeRobot's own tools evaluate policies in ours.

LeRobot 0.6.1 imports this package at start-up because its distribution name starts with ``lerobot_env_``
(``register_third_party_plugins``); importing it registers the two ``EnvConfig`` choices below.

LeRobot steps one action per control step; our envs take chunks. ``StepEnv`` gives lerobot-eval the step view of a
chunk env: one 15 Hz step per ``step``, the action being one ``poses`` row (absolute flange target xyz + rotation
vector + gripper, what ``training.lerobot_act`` policies output), observations in lerobot-eval's ``pixels/<camera>``
+ ``agent_pos`` layout, and ``is_success`` in ``info``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import cv2
import gymnasium as gym
import numpy as np
from gymnasium import spaces
from lerobot.configs import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig

from cosmos_robotics.errors import ClampWarning

CAMERAS = ("wrist", "exterior_1", "exterior_2")
STATE_DIM, ACTION_DIM, FPS = 14, 7, 15


class StepEnv(gym.Env):
    """One chunk env (``SimChunkEnv`` / ``CosmosWorldEnv``, ``action_type="poses"``) stepped one row at a time."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": FPS}

    def __init__(self, chunk_env: gym.Env, episode_length: int, image_size: int):
        self.env = chunk_env
        self.render_mode = "rgb_array"
        self._max_episode_steps = int(episode_length)
        self.task_description = ""
        size = (image_size, image_size, 3)  # a world model renders at its own size; views are resized to this
        self.observation_space = spaces.Dict({
            "pixels": spaces.Dict({c: spaces.Box(0, 255, size, np.uint8) for c in CAMERAS}),
            "agent_pos": spaces.Box(-np.inf, np.inf, (STATE_DIM,), np.float32)})
        low, high = chunk_env.action_space.low[0], chunk_env.action_space.high[0]
        self.action_space = spaces.Box(low, high, dtype=np.float32)
        self._frame = None

    def _convert(self, obs: dict) -> dict:
        size = self.observation_space["pixels"][CAMERAS[0]].shape[:2]
        views = {c: obs[f"observation.images.{c}"] for c in CAMERAS}
        if views[CAMERAS[0]].shape[:2] != size:
            views = {c: cv2.resize(v, size[::-1], interpolation=cv2.INTER_AREA) for c, v in views.items()}
        self._frame = views[CAMERAS[1]]
        return {"pixels": views, "agent_pos": np.asarray(obs["observation.state"], np.float32)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)  # options: lerobot-eval passes {"lerobot_new_rollout": True}; nothing to do
        obs, info = self.env.reset(seed=seed)
        self.task_description = info.get("task", "")
        return self._convert(obs), {"is_success": False}

    def step(self, action):
        row = np.array(action, np.float32).reshape(1, ACTION_DIM)
        if not 0.0 <= row[0, 6] <= 1.0 and np.isfinite(row[0, 6]):
            warnings.warn(ClampWarning(f"gripper target {row[0, 6]:.4f} clamped to [0, 1]", count=1, dims=(6,)),
                          stacklevel=2)
            row[0, 6] = np.clip(row[0, 6], 0.0, 1.0)
        obs, reward, terminated, truncated, info = self.env.step(row)
        return self._convert(obs), float(reward), terminated, truncated, {"is_success": bool(info["success"][-1])}

    def render(self):
        return self._frame

    def close(self):
        self.env.close()


def _features(image_size: int) -> dict[str, PolicyFeature]:
    return {"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,)),
            "agent_pos": PolicyFeature(FeatureType.STATE, (STATE_DIM,)),
            **{f"pixels/{c}": PolicyFeature(FeatureType.VISUAL, (image_size, image_size, 3)) for c in CAMERAS}}


def _features_map() -> dict[str, str]:
    return {"action": "action", "agent_pos": "observation.state",
            **{f"pixels/{c}": f"observation.images.{c}" for c in CAMERAS}}


@dataclass
class _CosmosEnvConfig(EnvConfig):
    task: str | None = "pick-and-place"
    fps: int = FPS
    episode_length: int = 100
    image_size: int = 128
    features: dict[str, PolicyFeature] = field(default_factory=lambda: _features(128))
    features_map: dict[str, str] = field(default_factory=_features_map)

    def __post_init__(self):
        self.features = _features(self.image_size)

    @property
    def gym_kwargs(self) -> dict:
        return {"episode_length": self.episode_length}

    def chunk_env(self) -> gym.Env:
        raise NotImplementedError

    def create_envs(self, n_envs: int, use_async_envs: bool = False):
        """Sync vector env (MuJoCo rendering contexts stay in this process), autoreset on the same step."""
        from gymnasium.vector import AutoresetMode

        envs = [lambda: StepEnv(self.chunk_env(), self.episode_length, self.image_size) for _ in range(n_envs)]
        return {self.type: {0: gym.vector.SyncVectorEnv(envs, autoreset_mode=AutoresetMode.SAME_STEP)}}


@EnvConfig.register_subclass("cosmos_sim")
@dataclass
class CosmosSimEnvConfig(_CosmosEnvConfig):
    """SimDroid-v0 (MuJoCo), pose-target control."""

    def chunk_env(self) -> gym.Env:
        from cosmos_robotics.envs import SimChunkEnv

        return SimChunkEnv(chunk_size=1, action_type="poses", episode_length=self.episode_length,
                           image_size=(self.image_size, self.image_size))


@EnvConfig.register_subclass("cosmos_world_model")
@dataclass
class CosmosWorldModelEnvConfig(_CosmosEnvConfig):
    """The task inside a world model (``world_model``: a backend of ``cosmos_robotics.world_models.factory``)."""

    world_model: str = "embedded"

    def chunk_env(self) -> gym.Env:
        from cosmos_robotics.envs import CosmosWorldEnv

        return CosmosWorldEnv(self.world_model, action_type="poses", chunk_size=1,
                              episode_length=self.episode_length)
