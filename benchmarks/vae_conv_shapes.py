"""The Wan2.2 decoder's 3x3x3 causal convolutions at the DROID FD shapes: cuDNN's conv3d against the same product
as one conv2d over the three time taps stacked on the channels (issue 15).

Why: the decode of a DROID FD chunk is ~95 TFLOP of these convolutions and runs at ~430 TFLOP/s, about half the
bf16 matmul ceiling. With the causal cache each call sees only 1-4 output frames, which conv3d kernels may tile
poorly; a conv2d on ``[T, 3*C, H+2, W+2]`` (batch = output frames) computes exactly the same sums (another
order) at the price of writing the input three times. Shapes (input channels, output channels, output frames,
height, width) are the decoder's heaviest, found with forward hooks on the meta device; all bf16, channels-last,
input already padded as ``WanCausalConv3d`` pads it.

Usage (GPU): ``python benchmarks/vae_conv_shapes.py --out benchmarks/results/vae_conv_shapes.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cuda_mean_ms  # noqa: E402

# (C_in, C_out, T_out, H, W): calls per DROID FD decode in the comment
SHAPES = {
    "512x4x136x160": (512, 512, 4, 136, 160),  # 20 calls, 24.6 TFLOP
    "256x4x272x320": (256, 256, 4, 272, 320),  # 20 calls, 24.6 TFLOP
    "1024x2x68x80": (1024, 1024, 2, 68, 80),  # 24 calls, 14.8 TFLOP
    "1024to512x4x136x160": (1024, 512, 4, 136, 160),  # 4 calls, 9.9 TFLOP
    "1024x1x34x40": (1024, 1024, 1, 34, 40),  # 50 calls, 3.9 TFLOP
}


def conv3d(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return F.conv3d(x, w)


def stack_taps(x: torch.Tensor) -> torch.Tensor:
    """``x [1, C, T+2, H+2, W+2]`` -> ``[T, 3C, H+2, W+2]`` (frames t, t+1, t+2 on the channels), channels-last."""
    t = x.shape[2] - 2
    frames = x[0].permute(1, 0, 2, 3)  # [T+2, C, H+2, W+2] (a view)
    return torch.cat([frames[k : k + t] for k in range(3)], dim=1).contiguous(memory_format=torch.channels_last)


def stacked_conv2d(x: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """``x [1, C, T+2, H+2, W+2]`` -> ``[1, C_out, T, H, W]`` through one conv2d with the time taps on the channels."""
    return F.conv2d(stack_taps(x), w2).permute(1, 0, 2, 3).unsqueeze(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU")
    torch.manual_seed(0)
    results = {"command": " ".join(["vae_conv_shapes.py", *(argv if argv is not None else sys.argv[1:])]),
               "device": torch.cuda.get_device_name(), "torch": torch.__version__,
               "cudnn": torch.backends.cudnn.version(), "shapes": {}}  # fmt: skip
    for name, (c_in, c_out, t, h, w) in SHAPES.items():
        x = torch.randn(1, c_in, t + 2, h + 2, w + 2, device="cuda", dtype=torch.bfloat16)
        x = x.contiguous(memory_format=torch.channels_last_3d)
        weight = (torch.randn(c_out, c_in, 3, 3, 3, device="cuda", dtype=torch.bfloat16) * (27 * c_in) ** -0.5)
        weight3 = weight.contiguous(memory_format=torch.channels_last_3d)
        weight2 = weight.permute(0, 2, 1, 3, 4).reshape(c_out, 3 * c_in, 3, 3).contiguous(memory_format=torch.channels_last)
        reference = conv3d(x, weight3)
        deviation = (stacked_conv2d(x, weight2).float() - reference.float()).abs().max().item()
        flop = 2 * c_out * t * h * w * 27 * c_in
        row = {"flop_t": flop / 1e12, "max_abs_diff": deviation, "ref_abs_max": reference.abs().max().item()}
        stacked = stack_taps(x)
        cases = {"conv3d": partial(conv3d, x, weight3), "stacked_conv2d": partial(stacked_conv2d, x, weight2),
                 "conv2d_on_stacked_input": partial(F.conv2d, stacked, weight2)}  # fmt: skip
        for case, fn in cases.items():
            ms = cuda_mean_ms(fn, args.reps, warmup=2)
            row[f"{case}_ms"], row[f"{case}_tflops"] = ms, flop / ms / 1e9
        results["shapes"][name] = row
        print(name, {k: round(v, 3) for k, v in row.items()}, flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
