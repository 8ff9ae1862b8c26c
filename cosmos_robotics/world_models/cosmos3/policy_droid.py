"""Cosmos3-Nano-Policy-DROID on diffusers' Cosmos 3 transformer and VAE (the contract diffusers 0.42.1 lacks).

The layout, as the Cosmos framework's RoboLab policy server builds it: a 540x640 concat-view observation
(wrist on top, both exterior cameras below) reflect-padded to the 480-tier canvas 736x544 and VAE-encoded as
latent frame 0 of a 33-frame clip (the other 8 latent frames are noise); 33 action rows of width 8 in domain
``droid_lerobot`` (id 8), row 0 the clean state ``[q(7), 1 - gripper]`` and rows 1..32 noisy; the JSON prompt with
the DROID view description; 4 UniPC steps at flow shift 5 with guidance 3 (optionally only inside a timestep
interval, as Edge-Policy-DROID uses ``[960, 1001]``). With a state row the action rows line up with the video
frames (row k = frame k), so their mRoPE temporal offset is 0 where the pipeline's transition rows use 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.world_models.cosmos3.sampler import Layout, Sample, make_branch, noisy_mask, placement

DOMAIN_NAME = "droid_lerobot"
IMAGE_HW = (540, 640)
VIEW_DESCRIPTION = (
    "The top row is from the wrist-mounted camera. The bottom row contains two horizontally concatenated "
    "third-person perspective views of the scene from opposite sides, with the robot visible."
)


@dataclass(frozen=True)
class PolicyDroidSpec:
    """Contract constants; ``guidance_interval`` (timesteps, 0..1000) is ``None`` for Nano (guidance every step)."""

    action_dim: int = 8
    history_rows: int = 1
    fps: float = 15.0
    resolution_tier: int = 480
    guidance_interval: tuple[float, float] | None = None

    @property
    def action_offset(self) -> int:
        """mRoPE temporal offset of action row 0: history rows sit on the frames they were observed at."""
        return 1 - self.history_rows


def prompt_json(pipe, instruction: str, chunk: int, spec: PolicyDroidSpec, canvas_hw: tuple[int, int]) -> str:
    """The pipeline's action JSON caption with the DROID view description appended to the framing."""
    caption = json.loads(pipe._build_action_json_prompt(
        instruction, view_point="concat_view", num_frames=chunk + 1, fps=spec.fps, height=canvas_hw[0],
        width=canvas_hw[1],
    ))  # fmt: skip
    caption["cinematography"]["framing"] += " " + VIEW_DESCRIPTION
    return json.dumps(caption)


def _canvas(spec: PolicyDroidSpec) -> tuple[int, int]:
    from diffusers.pipelines.cosmos.pipeline_cosmos3_omni import _ACTION_RESOLUTION_BINS
    from diffusers.video_processor import VideoProcessor

    return VideoProcessor.classify_height_width_bin(*IMAGE_HW, ratios=_ACTION_RESOLUTION_BINS[str(spec.resolution_tier)])


def observation_tensor(image: np.ndarray, canvas_hw: tuple[int, int], device, dtype) -> torch.Tensor:
    """uint8 ``[H, W, 3]`` -> ``[1, 3, 1, canvasH, canvasW]`` in [-1, 1]: bilinear to 540x640 when another size
    comes (as the server does), then reflect-padded right/bottom (content top-left)."""
    x = torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    if tuple(x.shape[-2:]) != IMAGE_HW:
        x = F.interpolate(x, size=IMAGE_HW, mode="bilinear", align_corners=False)
    x = F.pad(x, (0, canvas_hw[1] - IMAGE_HW[1], 0, canvas_hw[0] - IMAGE_HW[0]), mode="reflect")
    return x.unsqueeze(2).to(dtype)


@torch.no_grad()
def prepare_policy_droid(pipe, image: np.ndarray, state: np.ndarray, *, instruction: str, chunk: int, seed: int,
                         guided: bool, spec: PolicyDroidSpec = PolicyDroidSpec(), device: torch.device | None = None,
                         dtype: torch.dtype | None = None) -> tuple[Layout, Sample]:
    """One Policy-DROID request as (layout, initial sample); noise drawn like the pipeline (vision, then actions,
    from a CPU generator seeded with ``seed``). ``device`` / ``dtype`` as in ``sampler.prepare_action_call``."""
    from diffusers.pipelines.cosmos.pipeline_cosmos3_omni import _EMBODIMENT_TO_DOMAIN_ID
    from diffusers.utils.torch_utils import randn_tensor

    state = np.asarray(state, dtype=np.float32)
    if state.shape != (spec.action_dim,) or not np.isfinite(state).all():
        raise ActionContractError("droid_joint", "state", f"finite [{spec.action_dim}] = [q(7), 1 - gripper]",
                                  f"{state.dtype} {state.shape}")  # fmt: skip
    if chunk % pipe.vae_scale_factor_temporal:
        raise ActionContractError("droid_joint", "chunk_size", f"a multiple of {pipe.vae_scale_factor_temporal}",
                                  str(chunk))  # fmt: skip
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ActionContractError("droid_joint", "frames[0]", "uint8 [540, 640, 3] concat view",
                                  f"{image.dtype} {image.shape}")  # fmt: skip
    device, dtype = placement(pipe, device, dtype)
    transformer = pipe.transformer
    canvas = _canvas(spec)
    latent0 = pipe._encode_video(observation_tensor(image, canvas, device, pipe.vae.dtype)).float()
    spatial = pipe.vae_scale_factor_spatial
    h, w = IMAGE_HW[0] // spatial, IMAGE_HW[1] // spatial
    latent_frames = chunk // pipe.vae_scale_factor_temporal + 1
    shape = (latent0.shape[1], latent_frames, h, w)
    generator = torch.Generator("cpu").manual_seed(seed)
    vision_noise = randn_tensor((1, *shape), generator=generator, device=device, dtype=torch.float32)[0]
    latents = vision_noise.clone()
    latents[:, 0] = latent0[0, :, 0, :h, :w]
    rows = chunk + spec.history_rows
    action_noise = randn_tensor((rows, transformer.action_dim), generator=generator, device=device,
                                dtype=torch.float32)  # fmt: skip
    actions = action_noise.clone()
    actions[: spec.history_rows] = 0
    actions[0, : spec.action_dim] = torch.from_numpy(state).to(device)
    actions[:, spec.action_dim :] = 0

    prompt = prompt_json(pipe, instruction, chunk, spec, canvas)
    cond_ids, uncond_ids = pipe.tokenize_prompt(
        prompt, None, num_frames=chunk + 1, height=canvas[0], width=canvas[1], fps=spec.fps, use_system_prompt=False,
        add_resolution_template=False, add_duration_template=False,
    )  # fmt: skip
    p = transformer.config.latent_patch_size
    grid = (latent_frames, -(-h // p), -(-w // p))
    layout = Layout(
        grid=grid, latent_hw=(h, w), vision_noisy=noisy_mask(latent_frames, [0]),
        action_noisy=noisy_mask(rows, range(spec.history_rows)), domain_id=_EMBODIMENT_TO_DOMAIN_ID[DOMAIN_NAME],
        raw_action_dim=spec.action_dim,
        cond=make_branch(pipe, cond_ids, grid, spec.fps, rows, spec.action_offset, device, dtype),
        uncond=make_branch(pipe, uncond_ids, grid, spec.fps, rows, spec.action_offset, device, dtype) if guided else None,
    )  # fmt: skip
    return layout, Sample(latents, actions)
