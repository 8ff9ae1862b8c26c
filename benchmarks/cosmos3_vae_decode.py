"""Wan2.2 VAE decode of one DROID forward-dynamics chunk under each decode lever (issue 15), side by side.

Why: after FP8 and CUDA graphs the decode is ~0.3 s of the 1.40 s FD call; this measures what each lever buys on
its own shape (latent ``[1, 48, 5, 34, 40]`` -> 17 frames of 544x640, ~110 TFLOP of 3D convolutions) without
building the 15 B transformer. Rows (medians of ``--reps`` decodes after warm-up, CUDA events):

* ``default``: bf16 weights, contiguous (what the default backend runs);
* ``channels_last``: ``AccelerationConfig(vae_channels_last=True)``'s weight layout;
* ``+ cudnn_benchmark``: cuDNN times its algorithms for these fixed shapes;
* ``+ compile_vae_norms``: the fused RMS norms of ``acceleration._install_vae_norms``;
* ``+ vae_cuda_graph``: the whole decode (5 latent frames, causal caches) replayed from one CUDA graph.

Each row reports ms, effective TFLOP/s and the deviation of its frames from ``default`` in uint8 levels.

    python benchmarks/cosmos3_vae_decode.py --out benchmarks/results/cosmos3_vae_decode.json   # GPU
    python benchmarks/cosmos3_vae_decode.py --device cpu --tiny --reps 1 --out /tmp/d.json     # dry run
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosmos_robotics.world_models.cosmos3.acceleration import (  # noqa: E402
    AccelerationConfig,
    apply_vae_acceleration,
    frames_uint8,
)
from cosmos_robotics.world_models.cosmos3.architecture import WAN22_VAE  # noqa: E402

LATENT = (1, 48, 5, 34, 40)  # DROID FD chunk 16: 17 frames, 540x640 concat view padded to 544x640


def decode_flops(vae, z: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        vae.decode(z[:, :, :2])  # the first two latent frames, then scaled: frames >= 1 cost the same
    two = counter.get_total_flops()
    with FlopCounterMode(display=False) as first, torch.no_grad():
        vae.decode(z[:, :, :1])
    one = first.get_total_flops()
    return float(one + (two - one) * (z.shape[2] - 1))


def time_decode(fn, z: torch.Tensor, reps: int, warmup: int) -> tuple[list[float], torch.Tensor]:
    out = None
    for _ in range(warmup):
        out = fn(z)
    times = []
    for _ in range(reps):
        if z.is_cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            out = fn(z)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1000)
        else:
            t0 = time.perf_counter()
            out = fn(z)
            times.append(time.perf_counter() - t0)
    return times, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="8-channel VAE (a CPU dry run of the code path)")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    from diffusers import AutoencoderKLWan

    device = torch.device(args.device)
    torch.manual_seed(0)
    config = {**WAN22_VAE, "base_dim": 8, "decoder_base_dim": 8} if args.tiny else WAN22_VAE
    with torch.device(device):
        vae = AutoencoderKLWan(**config).to(torch.bfloat16).eval()
    z = torch.randn(*LATENT, device=device, dtype=torch.bfloat16)
    flops = decode_flops(vae, z)
    none = vars(AccelerationConfig.none())
    rows = [
        ("default", {}),
        ("channels_last", {"vae_channels_last": True}),
        ("channels_last + cudnn_benchmark", {"vae_channels_last": True, "cudnn_benchmark": True}),
        ("channels_last + cudnn_benchmark + compile_vae_norms",
         {"vae_channels_last": True, "cudnn_benchmark": True, "compile_vae_norms": True}),
        ("channels_last + compile_vae_norms + vae_cuda_graph",
         {"vae_channels_last": True, "compile_vae_norms": True, "vae_cuda_graph": True}),
        ("channels_last + cudnn_benchmark + compile_vae_norms + vae_cuda_graph",
         {"vae_channels_last": True, "cudnn_benchmark": True, "compile_vae_norms": True, "vae_cuda_graph": True}),
    ]  # fmt: skip
    results, reference = [], None
    for name, levers in rows:
        handle = apply_vae_acceleration(vae, AccelerationConfig(**{**none, **levers}))
        try:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            times, out = time_decode(lambda latent: vae.decode(latent).sample, z, args.reps, warmup=3)
            frames = frames_uint8(((out.float() + 1) / 2).clamp(0, 1)[0].movedim(0, 1))
            median = statistics.median(times)
            row = {"config": name, "median_s": median, "min_s": min(times), "tflops": flops / median / 1e12}
            if device.type == "cuda":
                row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
            if reference is None:
                reference = frames
            else:
                diff = np.abs(reference.astype(np.int16) - frames.astype(np.int16))
                row["vs_default_levels"] = {"max": int(diff.max()), "mean": float(diff.mean())}
            if handle.decode_graphs is not None:
                row["graphs_captured"] = handle.decode_graphs.captures
                row["graph_failures"] = dict(handle.decode_graphs.failures)
        finally:
            handle.remove()
        print(json.dumps(row), flush=True)
        results.append(row)
    report = {"latent": list(LATENT), "decode_tflop": flops / 1e12, "device": str(device),
              "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
              "torch": torch.__version__, "tiny": args.tiny, "reps": args.reps, "rows": results}
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
