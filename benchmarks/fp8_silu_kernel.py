"""The down projection's input quantization alone (issue 15): our one-pass Triton kernel against inductor's.

Cosmos3-Nano's MLP at DROID FD's 1,716 generation tokens: ``gate_up [1716, 2 x 12288]`` bf16 ->
``quantize_rows(silu(gate) * up)`` (e4m3 values + a float32 scale per row). Both run compiled (``fullgraph``)
as inside the layer body; time per call from CUDA events over 50 calls; the bytes a single pass must move
(read gate/up once, write values + scales) over that time give the bandwidth; agreement in values and scales.

    python benchmarks/fp8_silu_kernel.py --out benchmarks/results/fp8_silu_kernel.json   # needs a CUDA GPU
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosmos_robotics.world_models.cosmos3 import fp8_kernels  # noqa: E402
from cosmos_robotics.world_models.cosmos3.fp8 import silu_mul_quantize_rows  # noqa: E402


def time_us(fn, x: torch.Tensor, calls: int = 50) -> float:
    for _ in range(3):
        fn(x)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(calls):
        fn(x)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / calls * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tokens", type=int, default=1716)
    parser.add_argument("--width", type=int, default=12288)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU (the kernel is Triton on CUDA)")
    gate_up = torch.randn(args.tokens, 2 * args.width, device="cuda", dtype=torch.bfloat16,
                          generator=torch.Generator("cuda").manual_seed(0)) * 3  # fmt: skip
    inductor = torch.compile(silu_mul_quantize_rows, fullgraph=True)
    ref_values, ref_scale = inductor(gate_up)
    moved = gate_up.numel() * 2 + ref_values.numel() + ref_scale.numel() * 4
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "tokens": args.tokens,
              "width": args.width, "single_pass_bytes": moved, "rows": {}}  # fmt: skip
    candidates = {f"triton, {w} warps": functools.partial(fp8_kernels.launch, num_warps=w) for w in (4, 8, 16, 32)}
    candidates[f"triton op, compiled ({fp8_kernels.NUM_WARPS} warps)"] = torch.compile(fp8_kernels.silu_mul_quantize_rows, fullgraph=True)
    candidates["inductor (today)"] = inductor
    for name, fn in candidates.items():
        try:
            values, scale = fn(gate_up)
            us = time_us(fn, gate_up)
        except Exception as error:  # a configuration that does not compile is reported
            result["rows"][name] = {"error": f"{type(error).__name__}: {str(error)[-400:]}"}
            print(name, result["rows"][name], flush=True)
            continue
        result["rows"][name] = {"us": us, "tb_per_s": moved / us / 1e6,
                                "scale_max_rel_diff": ((scale / ref_scale) - 1).abs().max().item(),
                                "values_fraction_differing": (values.float() != ref_values.float()).float().mean().item()}  # fmt: skip
        print(name, result["rows"][name], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
