"""Where the Wan2.2 VAE decode of a DROID FD chunk spends its time, and what fusing its glue would save (issue 15).

The decode's 3x3x3 convolutions run at 670-836 TFLOP/s at these shapes (``vae_conv_shapes.py``), i.e. ~0.13 s of
the ~0.25 s decode; the rest is memory-bound glue. Each ``WanCausalConv3d`` concatenates the cached frames, pads
(``F.pad``: a contiguous copy even of a channels-last tensor) and cuDNN then converts the padded input to the
weights' channels-last layout; each residual block applies SiLU after its (compiled) RMS norm as a separate pass.
Variants, on the same latents, full-size decoder with random bf16 weights, the backend's kept VAE levers on
(``vae_channels_last``, ``compile_vae_norms``):

* ``kept``: as the backend runs them before ``compile_vae_glue`` (``sampler.decode_frames``);
* ``glue``: + ``compile_vae_glue`` (:mod:`~cosmos_robotics.world_models.cosmos3.vae_levers`: each causal
  convolution compiled whole, shortcuts and upsamplings in one kernel each, each residual block's norm + SiLU in
  one). Its committed results (run 10) predate the whole-convolution / shortcut / upsampling part (run 12).

Prints decode medians, the deviation from ``kept`` in uint8 levels, and kernel-time tables of one decode each.

Usage (GPU): ``python benchmarks/vae_decode_profile.py --out benchmarks/results/vae_decode_profile.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cosmos3_gpu import build_pipeline  # noqa: E402

from cosmos_robotics.world_models.cosmos3.acceleration import AccelerationConfig, apply_acceleration  # noqa: E402
from cosmos_robotics.world_models.cosmos3.sampler import decode_frames  # noqa: E402

DROID_FD_LATENT = (48, 5, 33, 40)


def timed_decodes(pipe, latents, reps: int) -> tuple[float, list[float], np.ndarray]:
    video = decode_frames(pipe, latents)[0]  # compile
    walls = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t = time.perf_counter()
        video = decode_frames(pipe, latents)[0]
        torch.cuda.synchronize()
        walls.append(time.perf_counter() - t)
    return statistics.median(walls), walls, video


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU")
    device = torch.device("cuda")
    pipe = build_pipeline(False, device, torch.bfloat16)
    latents = torch.randn(1, *DROID_FD_LATENT, device=device, generator=torch.Generator(device).manual_seed(0))
    results = {"command": " ".join(["vae_decode_profile.py", *(argv if argv is not None else sys.argv[1:])]),
               "device": torch.cuda.get_device_name(), "torch": torch.__version__, "latent": DROID_FD_LATENT,
               "variants": {}}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    kept = AccelerationConfig(compile_blocks=False, vae_channels_last=True, compile_vae_norms=True)
    reference = None
    for name, config in (("kept", kept), ("glue", replace(kept, compile_vae_glue=True))):
        handle = apply_acceleration(pipe, config)
        median, walls, video = timed_decodes(pipe, latents, args.reps)
        row = {"decode_s": median, "calls_s": walls}
        if reference is not None:
            diff = np.abs(video.astype(np.int16) - reference.astype(np.int16))
            row["deviation_levels"] = {"max": int(diff.max()), "mean": float(diff.mean())}
        reference = video if reference is None else reference
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            decode_frames(pipe, latents)
            torch.cuda.synchronize()
        handle.remove()
        events = prof.key_averages()
        row["kernel_total_ms"] = sum(e.self_device_time_total for e in events) / 1e3
        row["convolution_ms"] = sum(e.self_device_time_total for e in events if "fprop" in e.key or "conv" in e.key.lower()) / 1e3
        results["variants"][name] = row
        print(name, {k: v for k, v in row.items() if k != "calls_s"}, flush=True)
        args.out.with_suffix(f".{name}.profile.txt").write_text(
            events.table(sort_by="self_cuda_time_total", row_limit=30, max_name_column_width=70))
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
