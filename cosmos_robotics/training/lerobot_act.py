"""A small LeRobot ACT policy trained on a ``sim record`` dataset, saved the way ``lerobot-train`` saves one.

The action it learns is the *absolute* flange target of each recorded step -- xyz (m), rotation vector (rad),
gripper (0 open .. 1 closed): ``sim.pose_control.target_from_action`` of the recorded delta action at the recorded
state, i.e. exactly what the expert commanded. Absolute targets are what both chunk envs execute
(``action_type="poses"``), so the saved policy runs in the simulator and in a world model through
``policies.lerobot.LeRobotPolicy``, and in ``lerobot-eval`` through the ``lerobot_env_cosmos_robotics`` plugin.

The folder holds ``config.json`` + ``model.safetensors`` (``PreTrainedPolicy.save_pretrained``), the processor
pipelines (``policy_preprocessor.json`` / ``policy_postprocessor.json`` + statistics) and ``cosmos_robotics.json``
naming the action layout for our adapter.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from cosmos_robotics.data.video_backend import video_backend
from cosmos_robotics.errors import DatasetFormatError

ACTION_LAYOUT = "poses"  # [x, y, z, rx, ry, rz (rotation vector), gripper], absolute, robot base frame


def load_frames(root: Path, cameras: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Every frame of a ``sim record`` dataset: images (float CHW), state, absolute targets, episode index."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from cosmos_robotics.sim.pose_control import target_from_action

    try:
        dataset = LeRobotDataset(f"local/{root.name}", root=root, video_backend=video_backend()[0])
    except (ValueError, KeyError, OSError) as exc:
        raise DatasetFormatError(f"{root}: expected a LeRobot v3 dataset from `sim record`, got: {exc}") from None
    needed = [f"observation.images.{c}" for c in cameras] + ["observation.state", "action"]
    missing = [k for k in needed if k not in dataset.meta.features]
    if missing or tuple(dataset.meta.features["action"]["shape"]) != (7,):
        raise DatasetFormatError(f"{root}: expected `sim record` features {needed} (action [7]); missing {missing}")
    items = [dataset[i] for i in tqdm(range(len(dataset)), desc="reading frames", unit="frame", leave=False)]
    state = torch.stack([it["observation.state"] for it in items]).numpy().astype(np.float64)
    delta = torch.stack([it["action"] for it in items]).numpy().astype(np.float64)
    targets = []
    for s, a in zip(state, delta, strict=True):
        pose = target_from_action(s[:6], a)
        targets.append(np.concatenate([pose[:3, 3], Rotation.from_matrix(pose[:3, :3]).as_rotvec(), a[6:7]]))
    frames = {f"observation.images.{c}": torch.stack([it[f"observation.images.{c}"] for it in items]).numpy()
              for c in cameras}
    return {**frames, "observation.state": state.astype(np.float32), "action": np.asarray(targets, np.float32),
            "episode": np.asarray([int(it["episode_index"]) for it in items])}


def _stats(frames: dict[str, np.ndarray]) -> dict[str, dict[str, torch.Tensor]]:
    stats = {}
    for key, values in frames.items():
        if key == "episode":
            continue
        axes = (0, 2, 3) if values.ndim == 4 else (0,)
        keep = values.ndim == 4
        mean, std = values.mean(axes, keepdims=keep)[0], values.std(axes, keepdims=keep)[0]
        stats[key] = {"mean": torch.tensor(mean), "std": torch.tensor(np.maximum(std, 1e-3)),
                      "min": torch.tensor(values.min(axes, keepdims=keep)[0]),
                      "max": torch.tensor(values.max(axes, keepdims=keep)[0])}
    return stats


def _batch(frames: dict, index: np.ndarray, chunk: int) -> dict[str, torch.Tensor]:
    """Observations at ``index`` and the next ``chunk`` targets of the same episode (padded at its end)."""
    rows, pad = [], []
    for i in index:
        same = np.flatnonzero(frames["episode"] == frames["episode"][i])
        steps = np.minimum(np.arange(i, i + chunk), same[-1])
        rows.append(frames["action"][steps])
        pad.append(np.arange(i, i + chunk) > same[-1])
    batch = {k: torch.from_numpy(v[index]) for k, v in frames.items() if k.startswith("observation.")}
    return {**batch, "action": torch.from_numpy(np.stack(rows)), "action_is_pad": torch.from_numpy(np.stack(pad))}


def train_act(dataset: str | Path, out: str | Path, steps: int = 30, batch_size: int = 4, chunk_size: int = 16,
              n_action_steps: int = 8, cameras: tuple[str, ...] = ("exterior_1",), seed: int = 0) -> Path:
    """Train a small ACT (ResNet-18 from scratch, 2 encoder layers of width 128) and save it in ``out``.

    One exterior camera by default: the ResNet-18 backbone dominates the cost (on 2 CPU cores, ~1 s per step at
    batch 4 on 64 px views); the cube and the plate are both in that view."""
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors

    if steps < 1 or batch_size < 1 or not 1 <= n_action_steps <= chunk_size:
        raise ValueError(f"need steps >= 1, batch_size >= 1, 1 <= n_action_steps <= chunk_size; got {steps}, "
                         f"{batch_size}, {n_action_steps}, {chunk_size}")
    torch.manual_seed(seed)
    frames = load_frames(Path(dataset), tuple(cameras))
    size = frames[f"observation.images.{cameras[0]}"].shape[1:]
    config = ACTConfig(
        input_features={**{f"observation.images.{c}": PolicyFeature(FeatureType.VISUAL, size) for c in cameras},
                        "observation.state": PolicyFeature(FeatureType.STATE, (14,))},
        output_features={"action": PolicyFeature(FeatureType.ACTION, (7,))},
        chunk_size=chunk_size, n_action_steps=n_action_steps, dim_model=128, n_heads=4, dim_feedforward=256,
        n_encoder_layers=2, n_decoder_layers=1, n_vae_encoder_layers=1, pretrained_backbone_weights=None,
        device="cpu", push_to_hub=False, optimizer_lr=1e-4, optimizer_lr_backbone=1e-4)
    policy = ACTPolicy(config)
    preprocessor, postprocessor = make_pre_post_processors(config, dataset_stats=_stats(frames))
    optimizer = torch.optim.AdamW(policy.parameters(), lr=config.optimizer_lr,
                                  weight_decay=config.optimizer_weight_decay)
    rng = np.random.default_rng(seed)
    policy.train()
    losses = []
    for _ in tqdm(range(steps), desc="training ACT", unit="step"):
        loss, _ = policy.forward(preprocessor(_batch(frames, rng.integers(len(frames["action"]), size=batch_size),
                                                     chunk_size)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    policy.save_pretrained(out)
    preprocessor.save_pretrained(out)
    postprocessor.save_pretrained(out)
    (out / "cosmos_robotics.json").write_text(json.dumps(
        {"action_layout": ACTION_LAYOUT, "dataset": str(dataset), "steps": steps, "losses": losses}, indent=1))
    return out
