"""A world-model planner: sampling-based MPC (the cross-entropy method) over forward dynamics, scored by the
world model's success signal.

Each call samples ``samples`` model-space chunks around a mean (the proposal policy's chunk, or a hold-still
chunk), imagines all of them in one ``generate_batch``, keeps the ``elites`` with the highest predicted success
and refits the mean for ``iterations`` rounds. Only translation and gripper dimensions are perturbed: rot6d rows
off the proposal's rotation would no longer be rotations. Candidate 0 is always the current mean, so the planner
never picks a chunk the world model itself rates below its proposal's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from cosmos_robotics.embodiments import ActionMode, get_adapter
from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.policies.base import ActionChunk, Policy
from cosmos_robotics.world_models.base import WorldModel, WorldModelRequest

PERTURBED = np.array([0, 1, 2, 9])  # DROID model space: translation (3) and gripper; rot6d (3..8) kept
IMAGE_PREFIX, STATE_KEY = "observation.images.", "observation.state"


def _hold_still(adapter) -> np.ndarray:
    """Model-space rows of no motion with the gripper open (the normalized zero delta is not 0)."""
    return adapter.encode_poses(np.repeat(np.eye(4)[None], adapter.preset.chunk_size + 1, axis=0),
                                np.zeros(adapter.preset.chunk_size))


class WorldModelPlanner:
    """CEM over imagined chunks; works wherever observations have the embodiment's cameras and state."""

    needs_privileged_state = False

    def __init__(self, world_model: WorldModel, proposal: Policy | None = None, embodiment: str = "droid",
                 samples: int = 8, iterations: int = 2, elites: int = 2, noise: float = 0.3, seed: int = 0):
        if samples < 1 or iterations < 1 or not 1 <= elites <= samples or not noise >= 0:
            raise ActionContractError(embodiment, "planner settings", "samples >= 1, iterations >= 1, "
                                      "1 <= elites <= samples, noise >= 0",
                                      f"samples {samples}, iterations {iterations}, elites {elites}, noise {noise}")
        if proposal is not None and proposal.needs_privileged_state:
            raise ActionContractError(embodiment, "planner proposal", "a policy without privileged state",
                                      proposal.name)
        self.world_model, self.proposal, self.adapter = world_model, proposal, get_adapter(embodiment)
        self.samples, self.iterations, self.elites, self.noise = samples, iterations, elites, float(noise)
        base = "planner" if proposal is None else f"planner[{proposal.name}]"
        self.name = f"{base}:samples={samples},iterations={iterations},elites={elites},noise={noise:g}"
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        if self.proposal is not None:
            self.proposal.reset(seed)

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        start = time.perf_counter()
        views = {c: observation[IMAGE_PREFIX + c] for c in self.adapter.cameras}
        frame = self.world_model.compose_frame(self.adapter.name, views)
        state = np.asarray(observation[STATE_KEY], np.float64)
        mean = (self.proposal.select_action_chunk(observation).model_actions if self.proposal is not None
                else _hold_still(self.adapter))
        if mean is None:
            raise ActionContractError(self.adapter.name, "planner proposal chunk", "model-space actions", "targets only")
        best, best_score = mean, -np.inf
        for _ in range(self.iterations):
            candidates = np.repeat(mean[None], self.samples, axis=0)
            noise = self._rng.normal(0.0, self.noise, (self.samples - 1, len(mean), len(PERTURBED)))
            candidates[1:, :, PERTURBED] = np.clip(candidates[1:, :, PERTURBED] + noise, -1.0, 1.0)
            requests = [WorldModelRequest(ActionMode.FORWARD_DYNAMICS, self.adapter.name, frame[None], actions=c,
                                          state=state.astype(np.float32), decode_video=False) for c in candidates]
            results = self.world_model.generate_batch(requests)
            if "success_probability" not in results[0].extras:
                raise ActionContractError(self.adapter.name, "planner world model",
                                          "a backend with a success signal (e.g. embedded)", self.world_model.name)
            scores = np.array([np.max(r.extras["success_probability"]) for r in results])
            order = np.argsort(-scores, kind="stable")
            if scores[order[0]] > best_score:
                best, best_score = candidates[order[0]], scores[order[0]]
            mean = candidates[order[: self.elites]].mean(axis=0)
        return ActionChunk.from_model_space(self.adapter, best, state[:6],
                                            {"policy": self.name, "predicted_success": float(best_score),
                                             "latency_s": time.perf_counter() - start})
