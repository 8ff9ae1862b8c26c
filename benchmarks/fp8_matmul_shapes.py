"""FP8 matrix products at the Cosmos3-Nano generation pathway's shapes: which way of calling them is fastest (issue 15).

The four e4m3 products of a layer take ~20 ms of a ~29 ms DROID FD step, at ~1,200 TFLOP/s on average, but the
small-N ones (Q/K/V, the 4096x4096 output projection) run far below that. This measures, per shape, at the DROID FD
token count (1716 generation tokens):

* ``rowwise``: what :func:`~cosmos_robotics.world_models.cosmos3.fp8.fp8_linear` calls today,
  ``torch._scaled_mm(x [M, K], W.T)`` with per-token and per-channel scales;
* ``transposed``: the same product computed as ``(W @ x.T).T`` (cuBLAS then tiles N x M instead of M x N; its
  second operand needs both dims divisible by 16, so M is padded to 1728), with and without the copy back;
* ``padded_m``: M rounded up to a multiple of 128 (how much the last partial row of tiles costs);
* ``triton``: inductor's max-autotune GEMM search (Triton templates against cuBLAS) for the same call.

Usage (GPU): ``python benchmarks/fp8_matmul_shapes.py --out benchmarks/results/fp8_matmul_shapes.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cosmos3_gpu import NANO_TRANSFORMER  # noqa: E402
from machine import cuda_mean_ms  # noqa: E402

from cosmos_robotics.world_models.cosmos3.fp8 import quantize_rows  # noqa: E402

DROID_FD_TOKENS = 1716  # 5 latent frames x 17 x 20 patches + 16 action rows


def layer_shapes() -> dict[str, tuple[int, int]]:
    """(K, N) of the generation pathway's four products, from the Cosmos3-Nano config."""
    c = NANO_TRANSFORMER
    hidden, heads, kv, head_dim = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    return {
        "qkv": (hidden, (heads + 2 * kv) * head_dim),
        "out": (heads * head_dim, hidden),
        "gate_up": (hidden, 2 * c["intermediate_size"]),
        "down": (c["intermediate_size"], hidden),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tokens", type=int, default=DROID_FD_TOKENS)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--no-triton", action="store_true", help="skip the max-autotune search (minutes)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU with FP8 tensor cores (Hopper)")
    torch.manual_seed(0)
    m = args.tokens
    results = {"command": " ".join(["fp8_matmul_shapes.py", *(argv if argv is not None else sys.argv[1:])]),
               "device": torch.cuda.get_device_name(), "torch": torch.__version__, "tokens": m, "shapes": {}}  # fmt: skip
    for name, (k, n) in layer_shapes().items():
        x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        xq, sx = quantize_rows(x)
        wq, sw = quantize_rows(torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * k**-0.5)
        sw_row = sw.view(1, -1)
        pad, pad16 = -(-m // 128) * 128, -(-m // 16) * 16
        xq_pad, sx_pad = torch.cat([xq, xq[: pad - m]]), torch.cat([sx, sx[: pad - m]])
        xq16, sx16 = xq_pad[:pad16], sx_pad[:pad16]

        def rowwise(xq=xq, sx=sx, wq=wq, sw_row=sw_row):
            return torch._scaled_mm(xq, wq.t(), scale_a=sx, scale_b=sw_row, out_dtype=torch.bfloat16)

        def transposed(wq=wq, sw=sw, xq=xq16, sx=sx16):
            return torch._scaled_mm(wq, xq.t(), scale_a=sw, scale_b=sx.view(1, -1), out_dtype=torch.bfloat16)

        reference = rowwise()
        deviation = (transposed().t()[:m] - reference).abs().max().item()
        flop = 2 * m * k * n
        row = {"K": k, "N": n, "gflop": flop / 1e9, "transposed_max_abs_diff": deviation}
        cases = {
            "rowwise": rowwise,
            "transposed": transposed,
            "transposed_then_copy": lambda f=transposed, m=m: f().t()[:m].contiguous(),
            "padded_m": lambda xq=xq_pad, sx=sx_pad, wq=wq, sw_row=sw_row: torch._scaled_mm(
                xq, wq.t(), scale_a=sx, scale_b=sw_row, out_dtype=torch.bfloat16),
        }  # fmt: skip
        if not args.no_triton:
            t0 = time.perf_counter()
            tuned = torch.compile(rowwise, mode="max-autotune-no-cudagraphs", dynamic=False)
            torch.testing.assert_close(tuned().float(), reference.float(), rtol=2e-2, atol=2e-2)
            row["triton_compile_s"] = time.perf_counter() - t0
            cases["max_autotune"] = tuned
        for case, fn in cases.items():
            us = 1e3 * cuda_mean_ms(fn, args.reps)
            row[f"{case}_us"] = us
            row[f"{case}_tflops"] = (2 * pad * k * n if case == "padded_m" else flop) / us / 1e6
        results["shapes"][name] = row
        print(name, {key: round(v, 1) if isinstance(v, float) else v for key, v in row.items()}, flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
