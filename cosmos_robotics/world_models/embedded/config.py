"""Sizes and training settings of the embedded world model, saved beside its weights so a checkpoint rebuilds itself."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from cosmos_robotics.embodiments.droid import DROID_CAMERAS

VIEWS = DROID_CAMERAS  # order of the views inside the model (concat_view order)
IMAGE_SIZE = 128
STATE_DIM = 14  # SimDroid-v0 observation.state
ACTION_DIM = 10  # Cosmos 3 DROID end-effector contract, normalized
CHUNK = 16
STATE_OUT = 14  # predicted flange xyz delta (m), rotation delta (rotvec, rad), gripper (0 open .. 1 closed), joint deltas


STYLES = ("conv", "separable")


@dataclass(frozen=True)
class ModelConfig:
    """Widths of the convolutional encoder/decoder and the latent dynamics (defaults: the shipped v1 model).

    ``style`` picks the per-frame path (FiLM blocks + decoder), which runs 16 x 3 times per chunk and so sets the
    CPU cost: ``conv`` (v1: full 3 x 3 convolutions, ~0.5 GFLOP per frame-view) or ``separable`` (1 x 1 + depthwise
    convolutions, no normalization above 16 px, ~20x fewer FLOPs; trained but not shipped: it missed the FD PSNR
    target, see ``weights/MODEL_CARD.md``). Config files written before ``style`` existed load as v1.
    """

    enc_channels: tuple[int, int, int] = (24, 48, 96)  # at 64, 32 and 16 px
    hidden: int = 256  # action/state context width
    res_blocks: int = 2  # FiLM residual blocks of the latent dynamics (16 x 16)
    head_channels: int = 64  # ID / policy trunk width at 8 x 8
    head_hidden: int = 512
    style: str = "conv"
    dec_channels: tuple[int, int] = (48, 32)  # decoder widths at 32 and 64 px

    def __post_init__(self):
        if self.style not in STYLES:
            raise ValueError(f"ModelConfig.style must be one of {STYLES}, got {self.style!r}")
        if self.res_blocks < 1:
            raise ValueError(f"ModelConfig.res_blocks must be >= 1 (FiLM is how actions enter), got {self.res_blocks}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known})


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on: same config + same seed -> same weights (on the same device)."""

    seed: int = 0
    steps: int = 3000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    decoded_steps: int = 4  # future frames decoded per sample and step (all 16 are predicted in latent space)
    id_fraction: float = 0.5  # share of each batch that also trains inverse dynamics (17 frames each)
    episode_length: int = 130
    log_every: int = 100
    time_budget_s: float = 0.0  # > 0: fit ``steps`` to this budget after timing a few steps (the log keeps it)

    @staticmethod
    def load(path: Path) -> TrainConfig:
        return TrainConfig(**json.loads(path.read_text()))
