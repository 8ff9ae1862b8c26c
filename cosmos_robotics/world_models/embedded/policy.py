"""The embedded policy driving SimDroid-v0: plan a 16-step DROID chunk, execute ``replan`` of its steps, repeat."""

from __future__ import annotations

import numpy as np
import torch

from cosmos_robotics.sim.env import EE_POSE
from cosmos_robotics.sim.pose_control import action_toward, chunk_targets
from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from cosmos_robotics.world_models.embedded.config import CHUNK, VIEWS
from cosmos_robotics.world_models.embedded.model import EmbeddedNet, to_model_images


def plan_chunks(model: EmbeddedNet, observations: list[dict]) -> np.ndarray:
    """Observations (SimDroid dicts) -> ``[B, 16, 10]`` model-space chunks, one batched forward pass."""
    device = next(model.parameters()).device
    images = np.stack([np.stack([o[f"observation.images.{v}"] for v in VIEWS]) for o in observations])
    state = np.stack([o["observation.state"] for o in observations]).astype(np.float32)
    with torch.inference_mode():
        chunk = model.policy(to_model_images(torch.from_numpy(images).to(device)), torch.from_numpy(state).to(device))
    # Model space is [-1, 1] (the contract's quantile clamp); the decoder rejects grippers beyond it.
    return chunk.float().clamp(-1.0, 1.0).cpu().numpy().astype(np.float64)


class EmbeddedPolicy:
    """``make_policy("embedded")`` (replan 16: 82 % vs 70 % at 8): closed loop on the three camera views and the robot state only."""

    def __init__(self, replan: float = 16, seed: int | None = None, model: EmbeddedNet | None = None):
        if not 1 <= replan <= CHUNK:
            raise ValueError(f"replan must be in [1, {CHUNK}], got {replan}")
        self.replan = int(replan)
        self.name = f"embedded:replan={self.replan}"
        self.model = model if model is not None else load_checkpoint(DEFAULT_WEIGHTS)
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self._targets: np.ndarray | None = None
        self._gripper: np.ndarray | None = None
        self._index = 0
        self.last_chunk: np.ndarray | None = None

    def act(self, observation: dict, info: dict | None = None) -> np.ndarray:
        cartesian = observation["observation.state"][EE_POSE].astype(np.float64)
        if self._targets is None or self._index >= self.replan:
            self.last_chunk = plan_chunks(self.model, [observation])[0]
            self._targets, self._gripper = chunk_targets(self.last_chunk, cartesian)
            self._index = 0
        action = action_toward(cartesian, self._targets[self._index], float(self._gripper[self._index]))
        self._index += 1
        return action
