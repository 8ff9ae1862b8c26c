"""``CosmosWorldEnv``: a gymnasium env whose dynamics is a world model (any ``WorldModel`` backend + adapter).

``step(chunk)`` asks the world model for forward dynamics of the chunk from the current (imagined) frame and
state; the next observation is the last predicted frame split back into camera views. Same chunk interface,
observation keys and ``info`` as ``SimChunkEnv``, so one policy object runs in both and outcomes compare.

Start states (``reset(seed, options)``):

* default: ``SimDroid-v0`` reset with ``seed``, rendered at the world model's view size (the same start state the
  simulator env gets from the same seed);
* ``options={"observation": {...}, "task": "..."}``: camera images (LeRobot keys) and ``observation.state``;
* ``options={"dataset": DIR, "episode": i, "frame": j}``: frame ``j`` of episode ``i`` of a LeRobot v3 dataset.

Success: the backend's success signal (``extras["success_probability"]``, the embedded model's head) when it has
one, else a ``success_detector(frames, task) -> verdict`` (with ``.success``); ``info["success_source"]`` says
which. State after a chunk: the backend's predicted state when it has one, else the commanded flange targets and
gripper (joints carried over); ``info["state_source"]`` says which.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from scipy.spatial.transform import Rotation

from cosmos_robotics.embodiments import ActionMode, get_adapter
from cosmos_robotics.envs.chunks import ACTION_TYPES, StepTiming, as_action_chunk, chunk_space
from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.world_models.base import WorldModel, WorldModelRequest, WorldModelResult

IMAGE_PREFIX = "observation.images."
STATE_KEY = "observation.state"
SUCCESS_THRESHOLD = 0.5


class CosmosWorldEnv(gym.Env):
    """Policies act in imagination: chunk in, predicted observation out."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, world_model: WorldModel | str = "embedded", embodiment: str = "droid",
                 chunk_size: int | None = None, action_type: str = "poses", episode_length: int = 100,
                 terminate_on_success: bool = False, success_detector=None, decode_video: bool = True,
                 image_size: tuple[int, int] = (128, 128), render_mode: str | None = None,
                 world_model_options: dict | None = None):
        if isinstance(world_model, str):
            from cosmos_robotics.world_models.factory import make_world_model

            options = dict(world_model_options or {})
            world_model = make_world_model(world_model, options.pop("checkpoint", None), **options)
        if action_type not in ("poses", "model"):
            raise ActionContractError(embodiment, "action_type (world-model env)", "poses or model",
                                      f"{action_type!r} (one of {', '.join(ACTION_TYPES)}; joint targets need a "
                                      "backend with a joint-space forward model)")
        self.world_model, self.adapter = world_model, get_adapter(embodiment)
        self.embodiment, self.fps = embodiment, float(self.adapter.preset.fps)
        self.chunk_size = int(chunk_size or self.adapter.preset.chunk_size)
        self.action_type, self.episode_length = action_type, int(episode_length)
        self.terminate_on_success, self.success_detector = terminate_on_success, success_detector
        self.decode_video, self.render_mode = decode_video, render_mode
        self.image_size = tuple(image_size)
        self.action_space = chunk_space(action_type, self.chunk_size)
        obs = {STATE_KEY: spaces.Box(-np.inf, np.inf, (14,), np.float32)}  # imagined state: no physical bounds
        for cam in self.adapter.cameras:
            obs[IMAGE_PREFIX + cam] = spaces.Box(0, 255, (*self.image_size, 3), np.uint8)
        self.observation_space = spaces.Dict(obs)
        self._start_env = None
        self._frame: np.ndarray | None = None
        self._state: np.ndarray | None = None
        self.task, self._steps, self._chunk_index, self._seed = "", 0, 0, 0

    # ----------------------------------------------------------------- gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._seed = 0 if seed is None else int(seed)
        observation, self.task = self._start(seed, options or {})
        self._set(observation)
        self._steps = self._chunk_index = 0
        return self._observation(), {"task": self.task, "executed_steps": 0}

    def step(self, action: ActionChunk | np.ndarray):
        start = time.perf_counter()
        request, chunk = self.request(action)
        result = self.world_model.generate(request)
        return self.advance(chunk, result, time.perf_counter() - start)

    def render(self):
        return None if self.render_mode != "rgb_array" else self._frame

    def close(self):
        if self._start_env is not None:
            self._start_env.close()
            self._start_env = None

    # ----------------------------------------------------------------- one chunk, split for batching
    def request(self, action: ActionChunk | np.ndarray) -> tuple[WorldModelRequest, ActionChunk]:
        """The forward-dynamics request for ``action`` from the current imagined frame and state."""
        if self._frame is None:
            raise ActionContractError(self.embodiment, "step", "reset() before step()", "step() first")
        chunk = as_action_chunk(action, self.action_type, self.chunk_size, self.embodiment, self.fps,
                                self.decode_model_chunk)
        chunk = chunk.head(max(1, min(len(chunk), self.episode_length - self._steps)))
        model_actions = chunk.model_actions
        if model_actions is None:
            start = self.adapter.poses_from_cartesian(self._state[None, :6])
            model_actions = self.adapter.encode_poses(np.concatenate([start, chunk.poses]), chunk.gripper)
        request = WorldModelRequest(ActionMode.FORWARD_DYNAMICS, self.embodiment, self._frame[None],
                                    actions=model_actions, state=self._state.astype(np.float32),
                                    seed=self._seed * 1000 + self._chunk_index, decode_video=self.decode_video)
        return request, chunk

    def advance(self, chunk: ActionChunk, result: WorldModelResult, seconds: float):
        """Take a forward-dynamics result as the new imagined state; returns gymnasium's step tuple."""
        steps = len(result.actions)
        states = self._predicted_states(chunk, result)
        views = self.world_model.split_frame(self.embodiment, result.frames[1:])
        observations = [{STATE_KEY: states[t].astype(np.float32), **{IMAGE_PREFIX + c: views[c][t] for c in views}}
                        for t in range(steps)]
        success, source = self._success(result)
        self._frame, self._state = result.frames[-1], states[-1]
        self._steps += steps
        self._chunk_index += 1
        is_success = bool(success[-1])
        terminated = bool(self.terminate_on_success and is_success)
        truncated = self._steps >= self.episode_length
        info = {"task": self.task, "observations": observations, "actions": result.actions, "success": success,
                "is_success": is_success, "success_source": source, "executed_steps": steps,
                "model_actions": result.actions, "frames": result.frames, "timing": StepTiming.of(steps, self.fps, seconds),
                "state_source": "backend" if "state" in result.extras else "commanded targets",
                "success_probability": result.extras.get("success_probability")}
        return observations[-1], float(is_success), terminated, truncated, info

    def decode_model_chunk(self, model_actions: np.ndarray) -> ActionChunk:
        """A model-space chunk -> flange targets from the current imagined flange pose."""
        return ActionChunk.from_model_space(self.adapter, model_actions, self._state[:6])

    # ----------------------------------------------------------------- helpers
    def _start(self, seed: int | None, options: dict) -> tuple[dict, str]:
        if "observation" in options:
            return dict(options["observation"]), str(options.get("task", ""))
        if "dataset" in options:
            from cosmos_robotics.data.lerobot_frames import read_observation

            return read_observation(options["dataset"], int(options.get("episode", 0)), int(options.get("frame", 0)),
                                    self.adapter.cameras)
        if self._start_env is None:
            from cosmos_robotics.sim.env import SimDroidEnv

            self._start_env = SimDroidEnv(image_size=self.image_size)
        observation, _ = self._start_env.reset(seed=seed)
        return observation, self._start_env.task

    def _set(self, observation: dict) -> None:
        views = {c: observation.get(IMAGE_PREFIX + c) for c in self.adapter.cameras}
        missing = [IMAGE_PREFIX + c for c, v in views.items() if v is None]
        if missing or STATE_KEY not in observation:
            raise ActionContractError(self.embodiment, "start observation",
                                      f"{', '.join(IMAGE_PREFIX + c for c in self.adapter.cameras)} and {STATE_KEY}",
                                      f"keys {sorted(observation)}")
        for c, v in views.items():
            if np.shape(v) != (*self.image_size, 3):
                raise ActionContractError(self.embodiment, IMAGE_PREFIX + c, f"uint8 {(*self.image_size, 3)}",
                                          f"{np.asarray(v).dtype} {np.shape(v)}")
        self._frame = self.world_model.compose_frame(self.embodiment, {c: np.asarray(v, np.uint8)
                                                                       for c, v in views.items()})
        self._state = np.asarray(observation[STATE_KEY], np.float64)

    def _observation(self) -> dict[str, np.ndarray]:
        views = self.world_model.split_frame(self.embodiment, self._frame)
        return {STATE_KEY: self._state.astype(np.float32), **{IMAGE_PREFIX + c: v for c, v in views.items()}}

    def _predicted_states(self, chunk: ActionChunk, result: WorldModelResult) -> np.ndarray:
        if "state" in result.extras:
            return np.asarray(result.extras["state"], np.float64)
        steps = len(result.actions)
        states = np.repeat(self._state[None], steps, axis=0)
        poses = chunk.poses[:steps]
        states[:, :3] = poses[:, :3, 3]
        states[:, 3:6] = Rotation.from_matrix(poses[:, :3, :3]).as_euler("xyz")
        states[:, 6] = chunk.gripper[:steps]
        return states

    def _success(self, result: WorldModelResult) -> tuple[np.ndarray, str]:
        if "success_probability" in result.extras:
            return np.asarray(result.extras["success_probability"])[1:] > SUCCESS_THRESHOLD, "backend"
        steps = len(result.actions)
        if self.success_detector is None or result.frames is None:
            return np.zeros(steps, bool), "none"
        verdict = self.success_detector(result.frames, self.task)
        return np.full(steps, bool(verdict.success)), type(self.success_detector).__name__
