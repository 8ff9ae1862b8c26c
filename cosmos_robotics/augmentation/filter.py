"""Quality filter: is a generated episode consistent with its actions, successful, and made of sane frames?

* cycle consistency -- inverse dynamics of the generated video, window by window (16 actions from 17 frames),
  against the commanded actions, as a mean squared error in the normalized model space (commanded rows clamped to
  [-1, 1] like the model's own outputs). Video that does not show what was commanded scores high;
* success -- the episode's final success (the world model's success head for imagined episodes, the source's
  label for relabelled ones);
* frame quality -- no blank or saturated frame (pixel standard deviation), no jump between consecutive
  frames larger than a real 15 Hz motion makes, and for relabelling the PSNR of the labels' forward-dynamics
  replay against the source video.

Every score is kept, for kept and dropped episodes alike; ``reasons`` name each failed threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cosmos_robotics.augmentation.strategies import EMBODIMENT, Candidate
from cosmos_robotics.embodiments import ActionMode, get_adapter
from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.evaluation.metrics import psnr
from cosmos_robotics.world_models.base import WorldModel, WorldModelRequest


@dataclass(frozen=True)
class FilterConfig:
    """Thresholds; ``None`` disables a check (its score is still computed)."""

    # Calibrated on the embedded model (CPU renders): consistent episodes score 0.003-0.016 (its held-out ID MSE
    # is 0.009 on CPU renders), actions that do not match the video (reversed, mirrored) ~0.32.
    max_cycle_mse: float | None = 0.03
    require_success: bool = True
    min_frame_std: float | None = 4.0  # uint8 levels, per frame
    max_frame_jump: float | None = 40.0  # mean absolute uint8 difference between consecutive frames
    min_replay_psnr: float | None = 20.0  # dB, relabelling only

    def __post_init__(self):
        for name in ("max_cycle_mse", "min_frame_std", "max_frame_jump"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise CosmosRoboticsError(f"filter threshold {name}: expected a number >= 0 or None, got {value}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    kept: bool
    scores: dict[str, float | bool | None]
    reasons: tuple[str, ...]


def cycle_errors(world_model: WorldModel, video: np.ndarray, commanded: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per-window MSE between inverse dynamics of ``video`` ``[L+1, ...]`` and ``commanded`` ``[L, D]``."""
    chunk = get_adapter(EMBODIMENT).preset.chunk_size
    steps = len(commanded)
    if len(video) != steps + 1:
        raise CosmosRoboticsError(f"cycle consistency: expected {steps + 1} frames for {steps} actions, "
                                  f"got {len(video)}")
    starts = range(0, steps, chunk)
    requests = [WorldModelRequest(ActionMode.INVERSE_DYNAMICS, EMBODIMENT, video[t:t + min(chunk, steps - t) + 1],
                                  chunk_size=min(chunk, steps - t), decode_actions=False, seed=seed) for t in starts]
    results = world_model.generate_batch(requests)
    target = np.clip(np.asarray(commanded, np.float64), -1.0, 1.0)
    return np.array([np.mean((r.actions - target[t:t + len(r.actions)]) ** 2)
                     for t, r in zip(starts, results, strict=True)])


def frame_scores(video: np.ndarray) -> dict[str, float]:
    frames = np.asarray(video, np.float32)
    views = frames.reshape(len(frames), -1, 3)
    jumps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3)) if len(frames) > 1 else np.zeros(1)
    return {"min_frame_std": float(views.std(axis=1).mean(axis=1).min()), "max_frame_jump": float(jumps.max())}


def judge(candidate: Candidate, world_model: WorldModel, config: FilterConfig) -> Verdict:
    episode = candidate.episode
    cycle = cycle_errors(world_model, candidate.video, episode.model_actions, candidate.job.seed)
    scores: dict[str, float | bool | None] = {
        "cycle_mse": float(cycle.mean()), "cycle_mse_max_window": float(cycle.max()),
        "success": episode.is_success, **frame_scores(candidate.video),
        "replay_psnr": None if candidate.reference is None else float(np.mean(
            psnr(candidate.video[1:], candidate.reference[1:], axes=(1, 2, 3)))),  # frame 0 is shared
    }
    reasons = []
    if config.max_cycle_mse is not None and scores["cycle_mse"] > config.max_cycle_mse:
        reasons.append(f"cycle_mse {scores['cycle_mse']:.4f} > {config.max_cycle_mse}")
    if config.require_success and not scores["success"]:
        reasons.append("no success")
    if config.min_frame_std is not None and scores["min_frame_std"] < config.min_frame_std:
        reasons.append(f"min_frame_std {scores['min_frame_std']:.2f} < {config.min_frame_std}")
    if config.max_frame_jump is not None and scores["max_frame_jump"] > config.max_frame_jump:
        reasons.append(f"max_frame_jump {scores['max_frame_jump']:.2f} > {config.max_frame_jump}")
    if (config.min_replay_psnr is not None and scores["replay_psnr"] is not None
            and scores["replay_psnr"] < config.min_replay_psnr):
        reasons.append(f"replay_psnr {scores['replay_psnr']:.2f} < {config.min_replay_psnr}")
    return Verdict(not reasons, scores, tuple(reasons))
