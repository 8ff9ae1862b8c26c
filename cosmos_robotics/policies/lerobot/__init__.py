"""Any LeRobot ``PreTrainedPolicy`` saved in a local folder, as a ``Policy`` of ours (``lerobot:path=DIR``).

Loading is LeRobot's own: ``PreTrainedConfig.from_pretrained`` + the policy class of its ``type`` +
``make_pre_post_processors(config, pretrained_path=DIR)`` (normalization statistics, device). Observations are
turned into the policy's batch by LeRobot's ``preprocess_observation`` (what ``lerobot-eval`` does: uint8 HWC ->
float CHW in [0, 1]; views are area-resized to the size the policy was trained on); the unnormalized actions become an ``ActionChunk`` in the layout the folder's
``cosmos_robotics.json`` names (``action_layout``; ``training.lerobot_act`` writes it), or the one passed in:

* ``poses`` -- ``[T, 7]`` absolute flange targets xyz + rotation vector + gripper (runs in both chunk envs);
* ``joints`` -- ``[T, 8]`` absolute Franka joint targets + gripper (the simulator's joint mode, Policy-DROID).

Policies that see one observation step get the first ``n_action_steps`` rows of ``predict_action_chunk`` per
call (one model call per chunk, as LeRobot's action queue executes them); policies with an observation history
(``n_obs_steps > 1``, e.g. Diffusion Policy) are asked step by step through ``select_action``, which keeps it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from cosmos_robotics import geometry
from cosmos_robotics.errors import ActionContractError, ModelNotAvailableError
from cosmos_robotics.policies.base import ActionChunk

LAYOUTS = {"poses": 7, "joints": 8}
FPS = 15
IMAGE_PREFIX, STATE_KEY = "observation.images.", "observation.state"


def load_pretrained(path: str | Path, device: str = "cpu"):
    """``(policy, preprocessor, postprocessor)`` from a folder written by ``save_pretrained`` / ``lerobot-train``."""
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    path = Path(path)
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise ModelNotAvailableError(str(path), "expected a LeRobot policy folder with config.json and "
                                     "model.safetensors (checkpoints/last/pretrained_model of lerobot-train)")
    config = PreTrainedConfig.from_pretrained(path)
    config.device = device
    config.pretrained_path = path
    policy = get_policy_class(config.type).from_pretrained(path, config=config)
    policy.eval()
    preprocessor, postprocessor = make_pre_post_processors(
        config, pretrained_path=str(path), preprocessor_overrides={"device_processor": {"device": device}})
    return policy, preprocessor, postprocessor


class LeRobotPolicy:
    """A LeRobot policy on our observation keys, giving robot-space chunks."""

    needs_privileged_state = False

    def __init__(self, path: str | Path, action_layout: str | None = None, device: str = "cpu"):
        self.path = Path(path)
        self.name = f"lerobot:path={path}"
        self.policy, self.preprocessor, self.postprocessor = load_pretrained(self.path, device)
        self.config = self.policy.config
        card = self.path / "cosmos_robotics.json"
        layout = action_layout or (json.loads(card.read_text()).get("action_layout") if card.is_file() else None)
        if layout not in LAYOUTS:
            raise ActionContractError(self.name, "action layout", f"one of {', '.join(LAYOUTS)} (cosmos_robotics.json "
                                      "'action_layout' in the folder, or passed in)", repr(layout))
        width = self.config.output_features["action"].shape[0]
        if width != LAYOUTS[layout]:
            raise ActionContractError(self.name, f"action width for layout {layout!r}", str(LAYOUTS[layout]),
                                      str(width))
        self.layout = layout
        self.cameras = [k[len(IMAGE_PREFIX):] for k in self.config.input_features if k.startswith(IMAGE_PREFIX)]
        self.chunked = getattr(self.config, "n_obs_steps", 1) == 1

    def reset(self, seed: int | None = None) -> None:
        import torch

        if seed is not None:  # sampling policies (diffusion) draw their noise from torch's global generator
            torch.manual_seed(seed)
        self.policy.reset()

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        import torch

        start = time.perf_counter()
        batch = self.preprocessor(self._batch(observation))
        with torch.inference_mode():
            if self.chunked:
                actions = self.policy.predict_action_chunk(batch)[:, : self.config.n_action_steps]
            else:
                actions = self.policy.select_action(batch)[:, None]
        rows = self.postprocessor(actions)[0].cpu().numpy().astype(np.float64)
        if not np.isfinite(rows).all():
            raise ActionContractError(self.name, "policy actions", "finite values", "NaN/inf")
        meta = {"policy": self.name, "latency_s": time.perf_counter() - start}
        if self.layout == "joints":
            return ActionChunk("droid_joint", FPS, rows[:, 7].copy(), joint_positions=rows[:, :7].copy(), metadata=meta)
        from scipy.spatial.transform import Rotation

        poses = geometry.pose_matrix(Rotation.from_rotvec(rows[:, 3:6]).as_matrix(), rows[:, :3])
        return ActionChunk("droid", FPS, rows[:, 6].copy(), poses=poses, metadata=meta)

    def _view(self, observation: dict[str, Any], camera: str) -> np.ndarray:
        """A camera view at the size the policy was trained on (area-resized when the env renders another)."""
        import cv2

        channels, height, width = self.config.input_features[IMAGE_PREFIX + camera].shape
        image = np.asarray(observation[IMAGE_PREFIX + camera])
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != channels:
            raise ActionContractError(self.name, IMAGE_PREFIX + camera, f"uint8 H x W x {channels}",
                                      f"{image.dtype} {image.shape}")
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        return image

    def _batch(self, observation: dict[str, Any]) -> dict[str, Any]:
        """Our observation -> LeRobot's batch of one, through its own ``preprocess_observation``."""
        from lerobot.envs.utils import preprocess_observation

        missing = [IMAGE_PREFIX + c for c in self.cameras if IMAGE_PREFIX + c not in observation]
        if missing or STATE_KEY not in observation:
            raise ActionContractError(self.name, "observation", f"{', '.join(IMAGE_PREFIX + c for c in self.cameras)}"
                                      f" and {STATE_KEY}", f"keys {sorted(observation)}")
        env_obs = {"pixels": {c: self._view(observation, c)[None] for c in self.cameras},
                   "agent_pos": np.asarray(observation[STATE_KEY], np.float32)[None]}
        return {**preprocess_observation(env_obs), "task": [str(observation.get("task", ""))]}
