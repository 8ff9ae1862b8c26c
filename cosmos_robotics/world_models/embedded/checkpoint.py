"""Save/load the embedded model: ``model.safetensors`` (float16) + ``config.json`` + ``training.json``."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.world_models.embedded.config import ModelConfig
from cosmos_robotics.world_models.embedded.model import EmbeddedNet

DEFAULT_WEIGHTS = Path(__file__).parent / "weights"
WEIGHTS_FILE = "model.safetensors"


def save_checkpoint(model: EmbeddedNet, directory: Path, training: dict) -> None:
    """float16 halves the size (the model runs in float32; the rounding costs < 0.05 dB PSNR)."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}
    tmp = directory / (WEIGHTS_FILE + ".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(directory / WEIGHTS_FILE)
    (directory / "config.json").write_text(model.config.to_json() + "\n")
    (directory / "training.json").write_text(json.dumps(training, indent=1) + "\n")


def load_training_log(directory: Path = DEFAULT_WEIGHTS) -> dict:
    """``training.json`` of a checkpoint: the provenance a fine-tune of it carries on (under ``init``)."""
    path = Path(directory) / "training.json"
    if not path.is_file():
        raise CosmosRoboticsError(f"embedded checkpoint without its training log: expected {path}")
    return json.loads(path.read_text())


def load_checkpoint(directory: Path = DEFAULT_WEIGHTS, device: str | torch.device = "cpu") -> EmbeddedNet:
    weights = Path(directory) / WEIGHTS_FILE
    if not weights.is_file():
        raise CosmosRoboticsError(f"embedded world model weights not found: expected {weights}")
    model = EmbeddedNet(ModelConfig.from_json((Path(directory) / "config.json").read_text()))
    state = {k: v.float() for k, v in load_file(str(weights)).items()}
    model.load_state_dict(state)
    return model.to(device).eval()
