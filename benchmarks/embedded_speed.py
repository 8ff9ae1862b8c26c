"""CPU speed of the embedded world model: today's float32 path, the inference paths and levers, side by side.

One forward-dynamics chunk = 3 views (128 px) + state + a 16-step DROID chunk -> 16 future frames x 3 views +
state + success (target: <= 100 ms at batch 1 on 2 cores, i.e. >= 10x real time at 15 Hz). Variants are timed in
interleaved rounds (the 2 cores are shared, so load drifts hit all variants alike) and reported as medians, minima
and ratios to ``v1_today``; the CPU (model, flags, the ISA PyTorch uses, the AVX2 emulation variables) and how idle
it was are recorded beside them.

* ``v1_today``: the float32 path before issue 14 (decoder: nearest upsampling, then a 3 x 3 convolution);
* ``float32`` / ``float32_channels_last`` / ``bfloat16``: ``world_models.embedded.runtime.PATHS`` (the decoder's
  upsampling folded into four 2 x 2 convolutions, exact); ``bfloat16`` only where it is native (elsewhere it is
  emulated: ~12 s per chunk); ``auto`` is what ``EmbeddedWorldModel()`` picks here;
* ``inductor``: ``torch.compile`` (inductor, freezing) of the auto path, with its compile time (``--no-compile``
  skips it);
* ``CANDIDATES``: cheaper per-frame paths, i.e. the students ``train --teacher`` distils (random weights: speed
  does not depend on the values), on the auto path like the shipped model: separable ones and conv ones with
  one FiLM block and / or narrower decoders (quality of the trained students: ``results/embedded_distill.json``).

AVX2-only CPU, emulated on an AVX-512 one:

    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python benchmarks/embedded_speed.py --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from machine import cpu_report, idleness  # benchmarks/machine.py
from torch.utils.flop_counter import FlopCounterMode

from cosmos_robotics.world_models.embedded import model as model_module
from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from cosmos_robotics.world_models.embedded.config import ModelConfig
from cosmos_robotics.world_models.embedded.model import EmbeddedNet
from cosmos_robotics.world_models.embedded.runtime import (
    PATHS,
    choose_path,
    native_bfloat16,
    prepare,
)

RESULT = Path(__file__).parent / "results" / "embedded_speed.json"
CANDIDATES = {
    "sep_lean": ModelConfig(style="separable", enc_channels=(24, 48, 64), dec_channels=(32, 16)),
    "sep_mid": ModelConfig(style="separable", dec_channels=(32, 16)),
    "conv_r1_d32": ModelConfig(res_blocks=1, dec_channels=(32, 16)),
    "conv_r2_d24": ModelConfig(dec_channels=(24, 16)),
    "conv_r1_d48": ModelConfig(res_blocks=1),  # the teacher's decoder: a student that starts as the teacher's parts
    "conv_r2_d32": ModelConfig(dec_channels=(32, 16)),
}


def _upsample_then_conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return F.conv2d(F.interpolate(x, scale_factor=2.0), weight, padding=1)


@contextlib.contextmanager
def todays_decoder():
    """The decoder as it ran before issue 14 (same outputs up to float rounding)."""
    folded = model_module.upsampled_conv
    model_module.upsampled_conv = _upsample_then_conv
    try:
        yield
    finally:
        model_module.upsampled_conv = folded


def inputs(batch: int, gen: torch.Generator):
    """Frames come from uint8 HWC images in the backend, so the image tensor is channels-last in memory."""
    images = torch.randint(0, 256, (batch, 3, 128, 128, 3), generator=gen, dtype=torch.uint8)
    return (model_module.to_model_images(images), torch.randn(batch, 14, generator=gen),
            torch.rand(batch, 16, 10, generator=gen) * 2 - 1)


def interleaved(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, dict]:
    """Median / min wall ms of each call over ``rounds`` rounds, one call of each per round (after one warm-up
    each), and the median CPU ms of this process (all threads): less disturbed when other jobs hold the cores."""
    for fn in calls.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {name: {"median_ms": round(1000 * float(np.median(t)), 1), "min_ms": round(1000 * float(np.min(t)), 1),
                   "cpu_median_ms": round(1000 * float(np.median(cpu[name])), 1), "repeats": rounds}
            for name, t in times.items()}


def fd_gflop(model: EmbeddedNet) -> float:
    images, state, actions = inputs(1, torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model.forward_dynamics(images, state, actions)
    return round(counter.get_total_flops() / 1e9, 2)


def compiled(model: EmbeddedNet, example: tuple) -> tuple[Callable, float]:
    """``torch.compile`` (inductor, weights frozen as constants) of ``forward_dynamics``, and its compile seconds."""
    torch._inductor.config.freezing = True
    fn = torch.compile(model.forward_dynamics)
    start = time.perf_counter()
    with torch.inference_mode():
        fn(*example)
    return fn, round(time.perf_counter() - start, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds at batch 1")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    gen = torch.Generator().manual_seed(0)
    auto = choose_path("auto", torch.device("cpu"))
    result: dict = {"threads": args.threads, "cpu": cpu_report(), "torch": torch.__version__,
                    "idle_start": idleness(), "auto_path": auto.name}
    paths = ["float32", "float32_channels_last"] + (["bfloat16"] if native_bfloat16() else [])
    models = {name: prepare(load_checkpoint(DEFAULT_WEIGHTS), PATHS[name]) for name in paths}
    today = load_checkpoint(DEFAULT_WEIGHTS)
    candidates = {name: prepare(EmbeddedNet(config).eval(), auto) for name, config in CANDIDATES.items()}
    x1, x16 = inputs(1, gen), inputs(16, gen)

    def today_fd(x):
        with todays_decoder():
            return today.forward_dynamics(*x)

    with torch.inference_mode():
        batch1 = {"v1_today": lambda: today_fd(x1),
                  **{name: lambda m=m: m.forward_dynamics(*x1) for name, m in models.items()}}
        if not args.no_compile:
            fn, result["inductor_compile_s"] = compiled(prepare(load_checkpoint(DEFAULT_WEIGHTS), auto), x1)
            batch1["inductor"] = lambda: fn(*x1)
        for name, m in candidates.items():
            batch1[name] = lambda m=m: m.forward_dynamics(*x1)
        fd1 = interleaved(batch1, args.rounds)
        base = fd1["v1_today"]["median_ms"]
        for row in fd1.values():
            row["speedup_vs_v1_today"] = round(base / row["median_ms"], 2)
            row["speedup_vs_v1_today_min"] = round(fd1["v1_today"]["min_ms"] / row["min_ms"], 2)
            row["speedup_vs_v1_today_cpu"] = round(fd1["v1_today"]["cpu_median_ms"] / row["cpu_median_ms"], 2)
        fd1["auto"] = {"path": auto.name, **fd1[auto.name]}
        result["fd_batch1"] = fd1
        fd16 = interleaved({"v1_today": lambda: today_fd(x16),
                            auto.name: lambda: models[auto.name].forward_dynamics(*x16)}, 3)
        for row in fd16.values():
            row["chunks_per_s"] = round(16 / (row["median_ms"] / 1000), 2)
            row["frames_per_s"] = round(16 * 16 * 3 / (row["median_ms"] / 1000), 1)
        result["fd_batch16"] = fd16
        video = model_module.to_model_images(torch.randint(0, 256, (1, 17, 3, 128, 128, 3), generator=gen,
                                                           dtype=torch.uint8))
        fast = models[auto.name]
        result["auto_other"] = interleaved({"id_batch1": lambda: fast.inverse_dynamics(video),
                                            "policy_batch1": lambda: fast.policy(*x1[:2])}, 5)
    with todays_decoder():
        result["gflop_fd_batch1"] = {"v1_today": fd_gflop(today)}
    result["gflop_fd_batch1"].update({"v1_folded": fd_gflop(today), **{n: fd_gflop(m) for n, m in candidates.items()}})
    result["parameters"] = {"v1": sum(p.numel() for p in today.parameters()),
                            **{n: sum(p.numel() for p in m.parameters()) for n, m in candidates.items()}}
    result["configs"] = {n: json.loads(c.to_json()) for n, c in CANDIDATES.items()}
    result["idle_end"] = idleness()
    result["benchmark_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "configs"}, indent=1))


if __name__ == "__main__":
    main()
