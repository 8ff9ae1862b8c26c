"""The one policy protocol: observation in, a chunk of robot-space targets out.

Policies act at the *chunk* level because that is how Cosmos 3 (16 end-effector or 32 joint targets per call),
ACT, pi0 and Diffusion Policy act; a step-wise policy is a chunk of one (``policies.wrappers.StepPolicy``).
The same policy object runs in the simulator and in a world-model env (``cosmos_robotics.envs``), so their
outcomes are comparable.

An ``ActionChunk`` holds *absolute* targets, what an adapter's ``decode`` produces: flange poses in the robot base
frame (``poses [T, 4, 4]``) or joint targets (``joint_positions [T, 7]``), plus the gripper command
``gripper [T]`` (0 open .. 1 closed), one row per control step at ``fps``. It may also carry the model-space chunk
the targets were decoded from (``model_actions [T, D]``), which a world model can take without re-encoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from cosmos_robotics.errors import ActionContractError


@dataclass(frozen=True)
class ActionChunk:
    """``T`` control steps of absolute targets (poses or joints) + gripper, and optionally their model space."""

    embodiment: str
    fps: float
    gripper: np.ndarray  # [T] 0 open .. 1 closed
    poses: np.ndarray | None = None  # [T, 4, 4] flange targets, robot base frame
    joint_positions: np.ndarray | None = None  # [T, 7] rad
    model_actions: np.ndarray | None = None  # [T, D] the adapter's model space, row t = step t
    metadata: dict[str, Any] = field(default_factory=dict)  # policy name, latency_s, ...

    def __post_init__(self):
        if (self.poses is None) == (self.joint_positions is None):
            raise ActionContractError(self.embodiment, "action chunk", "exactly one of poses or joint_positions",
                                      "both" if self.poses is not None else "neither")
        targets = self.targets
        rows = len(self.gripper)
        if rows == 0 or len(targets) != rows:
            raise ActionContractError(self.embodiment, "action chunk", "targets and gripper of one length >= 1",
                                      f"{len(targets)} targets, {rows} gripper values")
        if self.model_actions is not None and len(self.model_actions) != rows:
            raise ActionContractError(self.embodiment, "model_actions", f"{rows} rows (one per target)",
                                      f"{len(self.model_actions)}")

    @classmethod
    def from_model_space(cls, adapter, model_actions: np.ndarray, cartesian: np.ndarray,
                         metadata: dict | None = None) -> ActionChunk:
        """A DROID-style model-space chunk decoded to flange targets from the flange pose ``cartesian [6]``."""
        command = adapter.decode_from_cartesian(model_actions, cartesian)
        return cls(adapter.name, adapter.preset.fps, command.gripper, poses=command.poses[1:],
                   model_actions=model_actions, metadata=metadata or {})

    @property
    def kind(self) -> str:
        return "poses" if self.poses is not None else "joints"

    @property
    def targets(self) -> np.ndarray:
        return self.poses if self.poses is not None else self.joint_positions

    def __len__(self) -> int:
        return len(self.gripper)

    def head(self, steps: int) -> ActionChunk:
        """The first ``steps`` rows (execute k of N)."""
        if steps < 1:
            raise ActionContractError(self.embodiment, "steps", ">= 1", str(steps))
        cut = slice(0, steps)

        def part(a):
            return None if a is None else a[cut]

        return replace(self, gripper=self.gripper[cut], poses=part(self.poses),
                       joint_positions=part(self.joint_positions), model_actions=part(self.model_actions))


@runtime_checkable
class Policy(Protocol):
    """``reset(seed)`` at episode start, then ``select_action_chunk(observation)`` whenever a chunk is used up.

    ``observation`` has LeRobot keys (``observation.images.<camera>`` uint8 HxWx3, ``observation.state``), plus
    ``task`` (the instruction) and, for policies with ``needs_privileged_state``, ``privileged`` (simulator ground
    truth, which only the simulator can give: in a world-model env such policies are refused).
    """

    name: str
    needs_privileged_state: bool

    def reset(self, seed: int | None = None) -> None: ...

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk: ...
