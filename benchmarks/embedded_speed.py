"""CPU speed of the embedded world model: the shipped model, its inference levers, and leaner configs side by side.

One forward-dynamics chunk = 3 views (128 px) + state + a 16-step DROID chunk -> 16 future frames x 3 views +
state + success (target: <= 100 ms at batch 1 on 2 cores, i.e. >= 10x real time at 15 Hz); also batch 16,
inverse dynamics (17 frames) and the policy. Variants are timed in interleaved rounds (the 2 cores are shared,
so load drifts hit all variants alike) and reported as medians and as ratios to the shipped model.

* ``v1_recompute_skips``: the v1 forward as first shipped (skips expanded to all 48 frame-views, then convolved);
* ``v1``: the shipped weights as the backend runs them now (the skips' share of the decoder convolutions and the
  first FiLM block's first convolution run once per view: exact, same outputs);
* ``v1_no_grad`` / ``v1_channels_last`` / ``v1_autocast_bf16``: the other cheap levers on top of ``v1``;
* ``v1_bf16``: the network cast to bfloat16 (``EmbeddedNet.cast``), what ``EmbeddedWorldModel(precision="auto")``
  runs on a CPU with native bfloat16 (quality: ``results/embedded_eval_cpu_precision.json``);
* ``CANDIDATES``: separable configs (random weights: speed does not depend on the values), trained once on the
  GPU machine; their quality is in ``results/embedded_candidates.json``.

    .venv/bin/python benchmarks/embedded_speed.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.profiler import profile
from torch.utils.flop_counter import FlopCounterMode

from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from cosmos_robotics.world_models.embedded.config import ModelConfig
from cosmos_robotics.world_models.embedded.model import EmbeddedNet

RESULT = Path(__file__).parent / "results" / "embedded_speed.json"
CANDIDATES = {
    "sep_lean": ModelConfig(style="separable", enc_channels=(24, 48, 64), dec_channels=(32, 16)),
    "sep_mid": ModelConfig(style="separable", dec_channels=(32, 16)),
    "sep_wide": ModelConfig(style="separable", dec_channels=(48, 16)),
}


def forward_recomputing_skips(model: EmbeddedNet, images, state, actions) -> torch.Tensor:
    """v1's frame path as first shipped: conditioning-frame tensors copied to every step before each convolution."""
    b, v = images.shape[:2]
    k = actions.shape[1]
    s1, s2, z = model.encode(images)
    ctx = model.context(state, actions)
    model.state_head(torch.cat([ctx, z.mean((2, 3)).unflatten(0, (b, v)).flatten(1)[:, None].expand(-1, k + 1, -1)],
                               -1)[:, 1:])
    view_ctx = (ctx[:, 1:, None] + model.ctx_view).flatten(0, 2)

    def rep(x):
        return x.unflatten(0, (b, 1, v)).expand(-1, k, -1, *x.shape[1:]).flatten(0, 2)

    h = rep(z)
    for block in model.blocks:
        h = block(h, view_ctx, k)
    dec = model.decoder
    h = dec.up2(torch.cat([F.interpolate(h, scale_factor=2.0), rep(s2)], 1))
    h = dec.up1(torch.cat([F.interpolate(h, scale_factor=2.0), rep(s1)], 1))
    raw = F.pixel_shuffle(dec.out(h), 2)
    return torch.sigmoid(raw[:, 3:]) * torch.tanh(raw[:, :3]) + (1 - torch.sigmoid(raw[:, 3:])) * rep(
        images.flatten(0, 1))


def inputs(batch: int, gen: torch.Generator, channels_last: bool = False):
    images = torch.rand(batch, 3, 3, 128, 128, generator=gen) * 2 - 1
    if channels_last:
        images = images.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, (batch, 3))
    return images, torch.randn(batch, 14, generator=gen), torch.rand(batch, 16, 10, generator=gen) * 2 - 1


def interleaved(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, dict]:
    """Median / min ms of each call over ``rounds`` rounds, one call of each per round (after one warm-up each)."""
    for fn in calls.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: {"median_ms": round(1000 * float(np.median(t)), 1), "min_ms": round(1000 * float(np.min(t)), 1),
                   "repeats": rounds} for name, t in times.items()}


def fd_gflop(model: EmbeddedNet, batch: int = 1) -> float:
    images, state, actions = inputs(batch, torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model.forward_dynamics(images, state, actions)
    return round(counter.get_total_flops() / 1e9, 2)


def group_norm_share(model: EmbeddedNet, images, state, actions) -> float:
    """Share of FD CPU time spent in GroupNorm (an upper bound of what removing it at inference could save)."""
    with profile() as prof, torch.inference_mode():
        model.forward_dynamics(images, state, actions)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    return round(sum(e.self_cpu_time_total for e in events if "group_norm" in e.key) / total, 3)


def bf16(fn: Callable[[], object]) -> Callable[[], object]:
    def run():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fn()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds at batch 1")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    shipped = load_checkpoint(DEFAULT_WEIGHTS)
    shipped_cl = load_checkpoint(DEFAULT_WEIGHTS).to(memory_format=torch.channels_last)
    shipped_bf16 = load_checkpoint(DEFAULT_WEIGHTS).cast(torch.bfloat16)
    candidates = {name: EmbeddedNet(config).eval() for name, config in CANDIDATES.items()}
    candidates_bf16 = {name: EmbeddedNet(config).eval().cast(torch.bfloat16) for name, config in CANDIDATES.items()}
    x1, x16 = inputs(1, gen), inputs(16, gen)
    x1_cl = inputs(1, gen, channels_last=True)
    result: dict = {"threads": args.threads, "cpu": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), "torch": torch.__version__,
                    "load_avg_1min_start": round(os.getloadavg()[0], 2)}
    with torch.inference_mode():
        batch1 = {
            "v1_recompute_skips": lambda: forward_recomputing_skips(shipped, *x1),
            "v1": lambda: shipped.forward_dynamics(*x1),
            "v1_channels_last": lambda: shipped_cl.forward_dynamics(*x1_cl),
            "v1_autocast_bf16": bf16(lambda: shipped.forward_dynamics(*x1)),
            "v1_bf16": lambda: shipped_bf16.forward_dynamics(*x1),
        }
        for name, model in candidates.items():
            batch1[name] = lambda model=model: model.forward_dynamics(*x1)
            batch1[f"{name}_bf16"] = lambda model=candidates_bf16[name]: model.forward_dynamics(*x1)
        fd1 = interleaved(batch1, args.rounds)
    with torch.no_grad():  # the inference_mode lever: the same call under no_grad
        fd1.update(interleaved({"v1_no_grad": lambda: shipped.forward_dynamics(*x1)}, max(3, args.rounds // 2)))
    base = fd1["v1"]["median_ms"]
    for row in fd1.values():
        row["speedup_vs_v1"] = round(base / row["median_ms"], 2)
        row["chunks_per_s"] = round(1000 / row["median_ms"], 2)
    result["fd_batch1"] = fd1
    with torch.inference_mode():
        fd16 = interleaved({"v1": lambda: shipped.forward_dynamics(*x16),
                            "v1_bf16": lambda: shipped_bf16.forward_dynamics(*x16),
                            **{n: lambda m=m: m.forward_dynamics(*x16) for n, m in candidates.items()},
                            **{f"{n}_bf16": lambda m=m: m.forward_dynamics(*x16) for n, m in candidates_bf16.items()}},
                           3)
        for row in fd16.values():
            row["chunks_per_s"] = round(16 / (row["median_ms"] / 1000), 2)
            row["frames_per_s"] = round(16 * 16 * 3 / (row["median_ms"] / 1000), 1)
        result["fd_batch16"] = fd16
        video = torch.rand(1, 17, 3, 3, 128, 128, generator=gen) * 2 - 1
        result["v1_other"] = interleaved({"id_batch1": lambda: shipped.inverse_dynamics(video),
                                          "id_batch1_bf16": lambda: shipped_bf16.inverse_dynamics(video),
                                          "policy_batch1": lambda: shipped.policy(*x1[:2]),
                                          "policy_batch1_bf16": lambda: shipped_bf16.policy(*x1[:2])}, 5)
    result["gflop_fd_batch1"] = {"v1": fd_gflop(shipped), **{n: fd_gflop(m) for n, m in candidates.items()}}
    result["parameters"] = {"v1": sum(p.numel() for p in shipped.parameters()),
                            **{n: sum(p.numel() for p in m.parameters()) for n, m in candidates.items()}}
    result["group_norm_share_v1"] = group_norm_share(shipped, *x1)
    result["configs"] = {n: json.loads(c.to_json()) for n, c in CANDIDATES.items()}
    result["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "configs"}, indent=1))


if __name__ == "__main__":
    main()
