"""``SimChunkEnv``: ``SimDroid-v0`` at the chunk level, so one policy object runs here and in a world-model env.

``step(chunk)`` executes every row of an ``ActionChunk`` (or of the equivalent array) at 15 Hz and returns the
observation after the last row; ``info`` carries what happened at every row (observations, env actions, success)
so the rollout runner can record episodes step by step. Chunks are cut where the episode ends.

Action types (``action_type``), one row per 15 Hz step, at most ``chunk_size`` rows (fewer are accepted):

* ``poses`` -- absolute flange targets in the robot base frame: ``[T, 7]`` = xyz (m), rotation vector (rad),
  gripper (0 open .. 1 closed); an ``ActionChunk`` gives them as ``poses [T, 4, 4]``. Each step aims at the next
  target from the *measured* flange pose (``sim.pose_control.action_toward``), at the env's rate limit.
* ``joints`` -- absolute Franka joint targets ``[T, 8]`` (7 rad + gripper): the Cosmos3-Nano-Policy-DROID
  contract, run by ``SimDroid-v0``'s joint-position control.
* ``model`` -- a Cosmos 3 DROID model-space chunk ``[T, 10]``, decoded by the ``droid`` adapter from the flange
  pose measured when the chunk starts.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.envs.chunks import ACTION_TYPES, StepTiming, as_action_chunk, chunk_space
from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.sim.env import EE_POSE, FPS, SimDroidEnv
from cosmos_robotics.sim.pose_control import action_toward


class SimChunkEnv(gym.Env):
    """The ground-truth simulator behind the chunk interface of ``CosmosWorldEnv``."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": FPS}

    def __init__(self, chunk_size: int = 16, action_type: str = "poses", render_mode: str | None = None,
                 **sim_kwargs):
        if action_type not in ACTION_TYPES:
            raise ActionContractError("SimChunkEnv", "action_type", f"one of {', '.join(ACTION_TYPES)}",
                                      repr(action_type))
        control = "joint" if action_type == "joints" else "pose"
        self.sim = SimDroidEnv(control_mode=control, render_mode=render_mode, **sim_kwargs)
        self.action_type, self.chunk_size = action_type, int(chunk_size)
        self.render_mode = render_mode
        self.observation_space = self.sim.observation_space
        self.action_space = chunk_space(action_type, self.chunk_size)
        self.task = self.sim.task
        self.episode_length = self.sim.episode_length
        self._obs: dict[str, np.ndarray] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._obs, info = self.sim.reset(seed=seed, options=options)
        return self._obs, {**info, "task": self.task, "executed_steps": 0}

    def step(self, action: ActionChunk | np.ndarray):
        start = time.perf_counter()
        chunk = as_action_chunk(action, self.action_type, self.chunk_size, "droid", FPS, self.decode_model_chunk)
        remaining = self.episode_length - self.sim._steps
        chunk = chunk.head(max(1, min(len(chunk), remaining)))
        actions = self._env_actions(chunk)
        observations, env_actions, success = [], [], []
        terminated = truncated = False
        reward, info = 0.0, {}
        for row in range(len(chunk)):
            action = actions[row] if actions is not None else self._pose_action(chunk, row)
            self._obs, reward, terminated, truncated, info = self.sim.step(action)
            observations.append(self._obs)
            env_actions.append(action)
            success.append(info["is_success"])
            if terminated or truncated:
                break
        seconds = time.perf_counter() - start
        info = {**info, "task": self.task, "observations": observations, "actions": np.stack(env_actions),
                "success": np.asarray(success), "executed_steps": len(observations),
                "model_actions": None if chunk.model_actions is None else chunk.model_actions[:len(observations)],
                "timing": StepTiming.of(len(observations), FPS, seconds)}
        return self._obs, reward, terminated, truncated, info

    def render(self):
        return self.sim.render()

    def close(self):
        self.sim.close()

    def _env_actions(self, chunk: ActionChunk) -> np.ndarray | None:
        """Joint chunks map row for row; pose chunks are converted step by step (from the measured pose)."""
        if chunk.kind == "joints":
            return np.concatenate([chunk.joint_positions, chunk.gripper[:, None]], axis=1).astype(np.float32)
        return None

    def _pose_action(self, chunk: ActionChunk, row: int) -> np.ndarray:
        cartesian = self._obs["observation.state"][EE_POSE].astype(np.float64)
        return action_toward(cartesian, chunk.poses[row], float(chunk.gripper[row]))

    def decode_model_chunk(self, model_actions: np.ndarray) -> ActionChunk:
        """A DROID model-space chunk -> flange targets from the flange pose measured now."""
        cartesian = self._obs["observation.state"][EE_POSE].astype(np.float64)
        return ActionChunk.from_model_space(get_adapter("droid"), model_actions, cartesian)

