"""Training loop of the embedded model: forward dynamics, inverse dynamics, policy, state and success heads at once.

Every step samples windows ``(episode, t)``; the conditioning frame is ``t``, the chunk covers ``t .. t+16``.
Forward dynamics predicts all 16 future latents but decodes only ``decoded_steps`` random ones per sample (the
decoder dominates the cost; every step is still trained over the run). Inverse dynamics reads all 17 frames of
part of the batch; the policy imitates the chunks of the noise-free (and lightly noisy) expert episodes only.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.training.data import Episodes
from cosmos_robotics.world_models.embedded.checkpoint import (
    DEFAULT_WEIGHTS,
    load_checkpoint,
    load_training_log,
)
from cosmos_robotics.world_models.embedded.config import CHUNK, ModelConfig, TrainConfig
from cosmos_robotics.world_models.embedded.model import EmbeddedNet, to_model_images

LOSS_WEIGHTS = {"frames": 1.0, "state": 0.5, "success": 0.2, "inverse": 1.0, "policy": 1.0}


class Batches:
    """Episodes on the training device; draws random windows with a seeded generator."""

    def __init__(self, episodes: Episodes, device: torch.device, seed: int):
        self.images = torch.from_numpy(episodes.images).to(device)
        self.states = torch.from_numpy(episodes.states).to(device)
        self.success = torch.from_numpy(episodes.success).to(device).float()
        self.chunks = torch.from_numpy(episodes.chunks).to(device)
        self.deltas = torch.from_numpy(episodes.deltas).to(device)
        self.clone = torch.from_numpy(episodes.clone).to(device)
        self.episodes, self.windows = episodes.chunks.shape[:2]
        self.device = device
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def sample(self, batch: int, decoded_steps: int) -> dict[str, torch.Tensor]:
        g = self.generator
        e = torch.randint(self.episodes, (batch,), generator=g).to(self.device)
        t = torch.randint(self.windows, (batch,), generator=g).to(self.device)
        steps = torch.stack([torch.randperm(CHUNK, generator=g)[:decoded_steps] + 1 for _ in range(batch)])
        steps = steps.to(self.device)
        span = t[:, None] + torch.arange(CHUNK + 1, device=self.device)  # [B, 17]
        return {
            "video": self.images[e[:, None], span],  # uint8 [B, 17, V, H, W, 3]
            "state": self.states[e, t], "chunk": self.chunks[e, t], "deltas": self.deltas[e, t],
            "success": self.success[e[:, None], span], "clone": self.clone[e], "steps": steps,
        }


def fit_normalization(model: EmbeddedNet, episodes: Episodes) -> None:
    states = episodes.states.reshape(-1, episodes.states.shape[-1])
    deltas = episodes.deltas.reshape(-1, episodes.deltas.shape[-1])
    model.state_mean.copy_(torch.from_numpy(states.mean(0)))
    model.state_std.copy_(torch.from_numpy(states.std(0) + 1e-3))
    model.delta_std.copy_(torch.from_numpy(deltas.std(0) + 1e-3))


def losses(model: EmbeddedNet, batch: dict[str, torch.Tensor], id_count: int) -> dict[str, torch.Tensor]:
    video = to_model_images(batch["video"])  # [B, 17, V, 3, H, W]
    steps = batch["steps"]
    out = model.forward_dynamics(video[:, 0], batch["state"], batch["chunk"], steps)
    target = torch.gather(video, 1, steps[:, :, None, None, None, None].expand(-1, -1, *video.shape[2:]))
    pred = out["frames"].float()
    result = {
        "frames": F.l1_loss(pred, target) + F.mse_loss(pred, target),
        "state": F.mse_loss(out["state"].float(), batch["deltas"] / model.delta_std),
        "success": F.binary_cross_entropy_with_logits(out["success"].float(), batch["success"]),
        "inverse": F.mse_loss(model.inverse_dynamics(video[:id_count]).float(), batch["chunk"][:id_count]),
    }
    clone = batch["clone"]
    if clone.any():
        chunk = model.policy(video[clone, 0], batch["state"][clone]).float()
        result["policy"] = F.mse_loss(chunk, batch["chunk"][clone])
    return result


def fit_steps(episodes: Episodes, config: TrainConfig, model_config: ModelConfig, device: torch.device) -> int:
    """Steps that fit ``time_budget_s``, timed on a throwaway model (the real run's random streams are untouched)."""
    probe = EmbeddedNet(model_config).to(device)
    data = Batches(episodes, device, config.seed + 1)
    optim = torch.optim.AdamW(probe.parameters(), lr=config.lr)
    id_count = max(1, int(round(config.batch_size * config.id_fraction)))
    timed = 10
    for i in range(timed + 3):
        if i == 3:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            total = sum(LOSS_WEIGHTS[k] * v for k, v in losses(probe, data.sample(config.batch_size,
                                                                              config.decoded_steps), id_count).items())
        optim.zero_grad()
        total.backward()
        optim.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    per_step = (time.perf_counter() - start) / timed
    return max(1, int(config.time_budget_s / (per_step * 1.03)))


def training_device(device: str) -> torch.device:
    """The torch device for ``device``, or a typed error at once (before an hour of simulation) if it is absent."""
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise CosmosRoboticsError(f"--device: expected a torch device such as cpu or cuda, got {device!r}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise CosmosRoboticsError(f"--device {device}: no CUDA device is available on this machine; use --device cpu")
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise CosmosRoboticsError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return resolved


def train(episodes: Episodes, config: TrainConfig, model_config: ModelConfig | None = None,
          device: str | torch.device = "cpu", init: str | Path | None = None) -> tuple[EmbeddedNet, dict]:
    """Train from scratch, or fine-tune the checkpoint ``init`` (a directory, or ``bundled`` for the shipped one):
    its normalization is kept (its weights were learned on it), ``model_config`` must be its own or None, and its
    training log goes under ``init`` in the new one. Returns the model (eval mode) and a log for the card."""
    device = torch.device(device)
    init_log = None
    if init is not None:
        directory = DEFAULT_WEIGHTS if init == "bundled" else Path(init)
        init, init_log = load_checkpoint(directory), load_training_log(directory)
    if init is not None and model_config not in (None, init.config):
        raise CosmosRoboticsError(f"fine-tuning keeps the architecture: expected {init.config}, got {model_config}")
    torch.manual_seed(config.seed)
    if init is None:
        model_config = model_config or ModelConfig()
        model = EmbeddedNet(model_config)
        fit_normalization(model, episodes)
    else:
        model_config = init.config
        model = copy.deepcopy(init).float()
    model.to(device)
    data = Batches(episodes, device, config.seed)
    if config.time_budget_s > 0:
        config = replace(config, steps=min(config.steps, fit_steps(episodes, config, model_config, device)),
                         time_budget_s=0.0)
    optim = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    # OneCycleLR divides by (pct_start * steps - 1): 20 steps at 5 % warm-up would divide by zero.
    warmup = 0.05 if abs(0.05 * config.steps - 1.0) > 1e-9 else 2.0 / config.steps
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, config.lr, total_steps=config.steps, pct_start=warmup)
    use_amp = device.type == "cuda"
    id_count = max(1, int(round(config.batch_size * config.id_fraction)))
    history: list[dict] = []
    start = time.perf_counter()
    running: dict[str, float] = {}
    bar = tqdm(range(config.steps), desc="training", unit="step")
    model.train()
    for step in bar:
        batch = data.sample(config.batch_size, config.decoded_steps)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            parts = losses(model, batch, id_count)
        total = sum(LOSS_WEIGHTS[k] * v for k, v in parts.items())
        optim.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        for k, v in parts.items():
            running[k] = running.get(k, 0.0) + float(v.detach())
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            n = config.log_every if (step + 1) % config.log_every == 0 else (step + 1) % config.log_every
            row = {"step": step + 1, "seconds": round(time.perf_counter() - start, 1),
                   **{k: round(v / n, 5) for k, v in running.items()}}
            history.append(row)
            bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k not in ("step", "seconds")})
            running = {}
    model.eval()
    log = {"train_config": asdict(config), "model_config": asdict(model_config), "device": str(device),
           "train_seconds": round(time.perf_counter() - start, 1), "episodes": int(len(episodes.seeds)),
           "episode_seeds": [int(episodes.seeds.min()), int(episodes.seeds.max())],
           "parameters": sum(p.numel() for p in model.parameters()), "history": history}
    if init_log is not None:
        log["init"] = init_log
    return model, log
