"""Training loop of the embedded model: forward dynamics, inverse dynamics, policy, state and success heads at once.

Every step samples windows ``(episode, t)``; the conditioning frame is ``t``, the chunk covers ``t .. t+16``.
Forward dynamics predicts all 16 future latents but decodes only ``decoded_steps`` random ones per sample (the
decoder dominates the cost; every step is still trained over the run). Inverse dynamics reads all 17 frames of
part of the batch; the policy imitates the chunks of the noise-free (and lightly noisy) expert episodes only.

Distillation (``train(..., teacher=...)``) trains a cheaper per-frame path (``PER_FRAME``: the FiLM blocks and the
decoder, which run 16 x 3 times per chunk and so set the CPU cost) against the simulator's frames *and* the
teacher's; everything else is the teacher's, copied and frozen, so the student's encoder, context, state and
success heads, inverse dynamics and policy are the teacher's exactly. With ``init`` too, the student ``init`` is
distilled further (a run on a time-limited machine continues the last one).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial
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

LOSS_WEIGHTS = {"frames": 1.0, "state": 0.5, "success": 0.2, "inverse": 1.0, "policy": 1.0, "teacher": 1.0}
PER_FRAME = ("blocks", "decoder")  # EmbeddedNet children that run once per predicted frame: what a student replaces
SHARED_SIZES = ("enc_channels", "hidden", "head_channels", "head_hidden")  # must equal the teacher's in a student


class Batches:
    """Episodes on the training device; draws random windows with a seeded generator on that device, so drawing a
    batch never waits for the GPU (indices drawn on the host would each be a synchronising copy)."""

    def __init__(self, episodes: Episodes, device: torch.device, seed: int):
        self.images = torch.from_numpy(episodes.images).to(device)
        self.states = torch.from_numpy(episodes.states).to(device)
        self.success = torch.from_numpy(episodes.success).to(device).float()
        self.chunks = torch.from_numpy(episodes.chunks).to(device)
        self.deltas = torch.from_numpy(episodes.deltas).to(device)
        self.clone = torch.from_numpy(episodes.clone).to(device)
        self.episodes, self.windows = episodes.chunks.shape[:2]
        self.device = device
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def sample(self, batch: int, decoded_steps: int) -> dict[str, torch.Tensor]:
        g, d = self.generator, self.device
        e = torch.randint(self.episodes, (batch,), generator=g, device=d)
        t = torch.randint(self.windows, (batch,), generator=g, device=d)
        # distinct steps per sample: the first ``decoded_steps`` of a random permutation, all rows at once
        steps = torch.rand(batch, CHUNK, generator=g, device=d).argsort(dim=1)[:, :decoded_steps] + 1
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


def _frame_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target) + F.mse_loss(pred, target)


def _decoded_targets(video: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """The simulator's frames at ``steps`` (1-based into the chunk): ``[B, K, V, 3, H, W]``."""
    return torch.gather(video, 1, steps[:, :, None, None, None, None].expand(-1, -1, *video.shape[2:]))


def losses(model: EmbeddedNet, batch: dict[str, torch.Tensor], id_count: int) -> dict[str, torch.Tensor]:
    video = to_model_images(batch["video"])  # [B, 17, V, 3, H, W]
    steps = batch["steps"]
    out = model.forward_dynamics(video[:, 0], batch["state"], batch["chunk"], steps)
    result = {
        "frames": _frame_loss(out["frames"].float(), _decoded_targets(video, steps)),
        "state": F.mse_loss(out["state"].float(), batch["deltas"] / model.delta_std),
        "success": F.binary_cross_entropy_with_logits(out["success"].float(), batch["success"]),
        "inverse": F.mse_loss(model.inverse_dynamics(video[:id_count]).float(), batch["chunk"][:id_count]),
    }
    clone = batch["clone"]
    if clone.any():
        chunk = model.policy(video[clone, 0], batch["state"][clone]).float()
        result["policy"] = F.mse_loss(chunk, batch["chunk"][clone])
    return result


def distillation_losses(teacher: EmbeddedNet, student: EmbeddedNet, batch: dict[str, torch.Tensor],
                        id_count: int) -> dict[str, torch.Tensor]:
    """The student's frames against the simulator's and the teacher's (its other outputs are the teacher's)."""
    video = to_model_images(batch["video"])
    steps = batch["steps"]
    args = (video[:, 0], batch["state"], batch["chunk"], steps)
    with torch.no_grad():
        taught = teacher.forward_dynamics(*args)["frames"].float()
    pred = student.forward_dynamics(*args)["frames"].float()
    return {"frames": _frame_loss(pred, _decoded_targets(video, steps)), "teacher": _frame_loss(pred, taught)}


def per_frame(name: str) -> bool:
    """Whether the state-dict / parameter ``name`` is a student's own (under ``PER_FRAME``), not its teacher's."""
    return name.split(".")[0] in PER_FRAME


def check_student(teacher: EmbeddedNet, student: EmbeddedNet) -> None:
    """Raise unless ``student`` holds ``teacher``'s weights everywhere outside its per-frame path."""
    taught = teacher.state_dict()
    drifted = [k for k, v in student.state_dict().items() if not per_frame(k) and not torch.equal(v, taught[k])]
    if drifted:
        raise CosmosRoboticsError(f"expected a student of this teacher (--init with --teacher: equal weights "
                                  f"outside {PER_FRAME}), got {len(drifted)} different tensors, e.g. {drifted[0]}")


def student_of(teacher: EmbeddedNet, config: ModelConfig, start: EmbeddedNet | None = None) -> EmbeddedNet:
    """A new model of ``config`` holding the teacher's weights, frozen, everywhere but its per-frame path; per-frame
    tensors of the teacher's name and shape (e.g. a conv student's first FiLM block) are copied as its start, or all
    of them from ``start``, a student of this teacher distilled further."""
    different = {k: (getattr(config, k), getattr(teacher.config, k)) for k in SHARED_SIZES
                 if getattr(config, k) != getattr(teacher.config, k)}
    if different:
        raise CosmosRoboticsError("a student shares everything but its FiLM blocks and decoder with its teacher: "
                                  + ", ".join(f"{k} must be {t}, got {c}" for k, (c, t) in different.items()))
    if start is not None:
        check_student(teacher, start)
    source = (start or teacher).state_dict()
    student = EmbeddedNet(config)
    own = student.state_dict()
    student.load_state_dict({k: v for k, v in source.items() if k in own and v.shape == own[k].shape},
                            strict=False)  # only per-frame tensors can be left out: the shared sizes are equal
    for name, param in student.named_parameters():
        param.requires_grad_(per_frame(name))
    return student


StepLosses = Callable[[EmbeddedNet, dict, int], dict]


def fit_steps(data: Batches, config: TrainConfig, probe: EmbeddedNet, step_losses: StepLosses) -> int:
    """Steps that fit ``time_budget_s``, timed on a throwaway model and batch stream (the real run's are untouched)."""
    device = data.device
    optim = torch.optim.AdamW([p for p in probe.parameters() if p.requires_grad], lr=config.lr)
    id_count = max(1, int(round(config.batch_size * config.id_fraction)))
    timed = 10
    for i in range(timed + 3):
        if i == 3:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            parts = step_losses(probe, data.sample(config.batch_size, config.decoded_steps), id_count)
        total = sum(LOSS_WEIGHTS[k] * v for k, v in parts.items())
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


def checkpoint_dir(name: str | Path) -> Path:
    """A checkpoint directory, or ``bundled``: the shipped weights."""
    return DEFAULT_WEIGHTS if name == "bundled" else Path(name)


def checkpoint_of(name: str | Path) -> tuple[EmbeddedNet, dict]:
    """The model and training log of a checkpoint directory (or ``bundled``)."""
    directory = checkpoint_dir(name)
    return load_checkpoint(directory), load_training_log(directory)


def train(episodes: Episodes, config: TrainConfig, model_config: ModelConfig | None = None,
          device: str | torch.device = "cpu", init: str | Path | None = None,
          teacher: str | Path | None = None) -> tuple[EmbeddedNet, dict]:
    """Train from scratch, fine-tune the checkpoint ``init``, or distil the checkpoint ``teacher`` into a student of
    ``model_config`` (a directory, or ``bundled`` for the shipped one; ``init`` with ``teacher``: distil the student
    ``init`` further). ``init`` keeps its normalization (its weights were learned on it) and ``model_config`` must be
    its own or None. The training logs of ``init`` and ``teacher`` go under those keys in the new one. Returns the
    model (eval mode) and a log for the card."""
    device = torch.device(device)
    torch.manual_seed(config.seed)
    parents: dict[str, dict] = {}
    if init is not None:
        init, parents["init"] = checkpoint_of(init)
        if model_config not in (None, init.config):
            raise CosmosRoboticsError(f"--init keeps its architecture: expected {init.config}, got {model_config}")
        model_config = init.config
    step_losses: StepLosses = losses
    if teacher is not None:
        teacher, parents["teacher"] = checkpoint_of(teacher)
        model_config = model_config or teacher.config
        model = student_of(teacher, model_config, start=init)
        teacher = teacher.to(device).requires_grad_(False)
        step_losses = partial(distillation_losses, teacher)
        new_probe = partial(student_of, teacher, model_config)
    elif init is not None:
        model, new_probe = copy.deepcopy(init).float(), partial(EmbeddedNet, model_config)
    else:
        model_config = model_config or ModelConfig()
        model, new_probe = EmbeddedNet(model_config), partial(EmbeddedNet, model_config)
        fit_normalization(model, episodes)
    model.to(device)
    data = Batches(episodes, device, config.seed)
    if config.time_budget_s > 0:
        probe = new_probe().to(device)
        steps = fit_steps(Batches(episodes, device, config.seed + 1), config, probe, step_losses)
        config = replace(config, steps=min(config.steps, steps), time_budget_s=0.0)
        del probe
    trained = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    # OneCycleLR divides by (pct_start * steps - 1): 20 steps at 5 % warm-up would divide by zero.
    warmup = 0.05 if abs(0.05 * config.steps - 1.0) > 1e-9 else 2.0 / config.steps
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, config.lr, total_steps=config.steps, pct_start=warmup)
    use_amp = device.type == "cuda"
    id_count = max(1, int(round(config.batch_size * config.id_fraction)))
    history: list[dict] = []
    start = time.perf_counter()
    running: dict[str, torch.Tensor] = {}  # summed on the device: read back only when logged
    bar = tqdm(range(config.steps), desc="distilling" if teacher is not None else "training", unit="step")
    model.train()
    for step in bar:
        batch = data.sample(config.batch_size, config.decoded_steps)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            parts = step_losses(model, batch, id_count)
        total = sum(LOSS_WEIGHTS[k] * v for k, v in parts.items())
        optim.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optim.step()
        sched.step()
        for k, v in parts.items():
            running[k] = running.get(k, 0.0) + v.detach().float()
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            n = config.log_every if (step + 1) % config.log_every == 0 else (step + 1) % config.log_every
            row = {"step": step + 1, "seconds": round(time.perf_counter() - start, 1),
                   **{k: round(float(v) / n, 5) for k, v in running.items()}}
            history.append(row)
            bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k not in ("step", "seconds")})
            running = {}
    model.eval()
    log = {"train_config": asdict(config), "model_config": asdict(model_config), "device": str(device),
           "train_seconds": round(time.perf_counter() - start, 1), "episodes": int(len(episodes.seeds)),
           "episode_seeds": [int(episodes.seeds.min()), int(episodes.seeds.max())],
           "parameters": sum(p.numel() for p in model.parameters()), "history": history}
    log.update(parents)
    if teacher is not None:
        log["trained_parameters"] = sum(p.numel() for p in trained)
        log["trained_modules"] = list(PER_FRAME)
    return model, log
