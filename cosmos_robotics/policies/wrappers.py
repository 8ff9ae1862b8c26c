"""How chunks are executed, as wrappers around any ``Policy``: k of N, temporal ensembling, step-wise policies.

* ``ExecuteK`` runs the first ``k`` rows of every chunk, then asks again (receding horizon).
* ``TemporalEnsemble`` asks every step and executes the exponentially weighted mean of all predictions made for
  this step (ACT, Zhao et al. 2023: ``w_i = exp(-m i)``, ``i = 0`` the oldest prediction). Targets are absolute,
  so predictions made from different states average meaningfully; rotations average on SO(3).
* ``StepPolicy`` turns a SimDroid step policy (``act(observation, info) -> delta action``) into chunks of one.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics import geometry
from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.policies.base import ActionChunk, Policy


def with_parameter(spec: str, parameter: str) -> str:
    """``expert`` + ``k=v`` -> ``expert:k=v``; ``expert:a=1`` -> ``expert:a=1,k=v`` (names stay valid specs)."""
    return spec + ("," if ":" in spec else ":") + parameter


class ExecuteK:
    """Execute ``k`` rows of each chunk of ``policy``, then re-plan."""

    def __init__(self, policy: Policy, k: int):
        if k < 1:
            raise ActionContractError(policy.name, "k (rows executed per chunk)", ">= 1", str(k))
        self.policy, self.k = policy, int(k)
        self.name = with_parameter(policy.name, f"replan={self.k}")
        self.needs_privileged_state = policy.needs_privileged_state

    def reset(self, seed: int | None = None) -> None:
        self.policy.reset(seed)

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        return self.policy.select_action_chunk(observation).head(self.k)


class TemporalEnsemble:
    """Query ``policy`` every step; execute the weighted mean of every prediction that covers this step."""

    def __init__(self, policy: Policy, m: float = 0.01):
        if not m >= 0:
            raise ActionContractError(policy.name, "ensemble weight decay m", ">= 0", str(m))
        self.policy, self.m = policy, float(m)
        self.name = with_parameter(policy.name, f"ensemble={self.m:g}")
        self.needs_privileged_state = policy.needs_privileged_state
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self.policy.reset(seed)
        self._chunks: deque[tuple[int, ActionChunk]] = deque()  # (step the chunk starts at, chunk)
        self._step = 0

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        chunk = self.policy.select_action_chunk(observation)
        self._chunks.append((self._step, chunk))
        while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) <= self._step:
            self._chunks.popleft()
        rows = [(c, self._step - start) for start, c in self._chunks]  # oldest first
        weights = np.exp(-self.m * np.arange(len(rows)))
        weights /= weights.sum()
        gripper = np.array([sum(w * c.gripper[i] for w, (c, i) in zip(weights, rows, strict=True))])
        meta = {**chunk.metadata, "ensembled": len(rows)}
        self._step += 1
        if chunk.kind == "joints":
            joints = sum(w * c.joint_positions[i] for w, (c, i) in zip(weights, rows, strict=True))
            return ActionChunk(chunk.embodiment, chunk.fps, gripper, joint_positions=joints[None], metadata=meta)
        poses = np.stack([c.poses[i] for c, i in rows])
        mean = Rotation.from_matrix(poses[:, :3, :3]).mean(weights=weights).as_matrix()
        return ActionChunk(chunk.embodiment, chunk.fps, gripper, metadata=meta,
                           poses=geometry.pose_matrix(mean, weights @ poses[:, :3, 3])[None])


class StepPolicy:
    """A SimDroid step policy (``act(observation, info) -> 7D delta action``) as chunks of one absolute target."""

    def __init__(self, policy, needs_privileged_state: bool):
        self.policy = policy
        self.name = policy.name
        self.needs_privileged_state = needs_privileged_state

    def reset(self, seed: int | None = None) -> None:
        self.policy.reset(seed)

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        from cosmos_robotics.sim.env import EE_POSE, FPS
        from cosmos_robotics.sim.pose_control import target_from_action

        info = {"privileged": observation.get("privileged")}
        action = np.asarray(self.policy.act(observation, info), np.float64)
        cartesian = np.asarray(observation["observation.state"][EE_POSE], np.float64)
        pose = target_from_action(cartesian, action)
        return ActionChunk("droid", FPS, action[6:7], poses=pose[None], metadata={"policy": self.name})


class ActionNoise:
    """Degrade ``policy`` by a constant per-chunk bias on the model-space translation rows, ``N(0, sigma)``.

    A bias held over a chunk drifts the flange by up to ``16 * sigma`` contract steps (sigma 0.1: ~2 cm), which is
    what makes grasps miss by centimetres: graded policies whose failures a world model has to imagine. The chunk
    is re-decoded from the observed flange pose, so the simulator and a world model execute the same chunk; the
    bias sequence depends only on the seed given to ``reset``.
    """

    def __init__(self, policy: Policy, sigma: float):
        if not sigma >= 0:
            raise ActionContractError(policy.name, "action noise sigma", ">= 0", str(sigma))
        self.policy, self.sigma = policy, float(sigma)
        self.name = with_parameter(policy.name, f"noise={self.sigma:g}")
        self.needs_privileged_state = policy.needs_privileged_state
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self.policy.reset(seed)
        self._rng = np.random.default_rng(seed)

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        from cosmos_robotics.embodiments import get_adapter
        from cosmos_robotics.sim.env import EE_POSE

        chunk = self.policy.select_action_chunk(observation)
        if chunk.model_actions is None:
            raise ActionContractError(self.policy.name, "noisy policy chunk", "model-space actions", "targets only")
        rows = chunk.model_actions.copy()
        rows[:, :3] = np.clip(rows[:, :3] + self._rng.normal(0.0, self.sigma, 3), -1.0, 1.0)
        adapter = get_adapter(chunk.embodiment)
        command = adapter.decode_from_cartesian(rows, np.asarray(observation["observation.state"][EE_POSE]))
        return ActionChunk(chunk.embodiment, chunk.fps, command.gripper, poses=command.poses[1:], model_actions=rows,
                           metadata={**chunk.metadata, "policy": self.name})
