"""One-pass SiLU-gated product + FP8 row quantization (Triton), for the MLP between gate/up and down.

Why: the down projection's input ``silu(gate) * up`` is 12288 wide; quantizing it per row needs the row's amax
before any value can be cast. Inductor's kernel for this reads the 2 x 12288-wide gate/up row twice (once for the
amax, once to cast; its single-pass variant lost its own timing), ~1.9 ms of every Cosmos3-Nano step. Here one
program holds a whole row in registers: gate and up are read once, e4m3 values and the scale written once.
Same arithmetic as :func:`~cosmos_robotics.world_models.cosmos3.fp8.quantize_rows` of ``F.silu(gate) * up``
(SiLU and product rounded to bfloat16, scale = amax / 448 in float32).

Imported only where it runs (CUDA, or Triton's CPU interpreter with ``TRITON_INTERPRET=1`` in tests).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch.library import triton_op, wrap_triton

from cosmos_robotics.world_models.cosmos3.fp8 import _TINY, E4M3, E4M3_MAX


@triton.jit
def _silu_mul_quantize_kernel(gate_up_ptr, values_ptr, scale_ptr, n_cols, gate_up_stride, values_stride,
                              TINY: tl.constexpr, E4M3_MAX: tl.constexpr, BLOCK: tl.constexpr):  # fmt: skip
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    start = gate_up_ptr + row * gate_up_stride
    gate = tl.load(start + cols, mask=mask, other=0.0)
    up = tl.load(start + n_cols + cols, mask=mask, other=0.0)
    g = gate.to(tl.float32)
    silu = (g / (1.0 + tl.exp(-g))).to(tl.bfloat16)
    h = (silu.to(tl.float32) * up.to(tl.float32)).to(tl.bfloat16).to(tl.float32)
    scale = tl.maximum(tl.max(tl.abs(h), axis=0), TINY) / E4M3_MAX
    values = tl.minimum(tl.maximum(h / scale, -E4M3_MAX), E4M3_MAX).to(tl.float8e4nv)
    tl.store(values_ptr + row * values_stride + cols, values, mask=mask)
    tl.store(scale_ptr + row, scale)


NUM_WARPS = 16  # fastest of 4 / 8 / 16 / 32 on an H200 at 1716 x 12288 (benchmarks/fp8_silu_kernel.py)


def launch(gate_up: torch.Tensor, num_warps: int = NUM_WARPS, kernel=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``gate_up [M, 2N]`` bf16 (gate first) -> (e4m3 ``[M, N]``, float32 scale ``[M, 1]``). ``kernel``: the
    Triton kernel as called (the op passes it through ``wrap_triton`` so ``torch.compile`` can trace it)."""
    if gate_up.dtype != torch.bfloat16:
        raise TypeError(f"silu_mul_quantize_rows: expected bfloat16 gate/up, got {gate_up.dtype}")
    rows, width = gate_up.shape
    n = width // 2
    values = torch.empty((rows, n), dtype=E4M3, device=gate_up.device)
    scale = torch.empty((rows, 1), dtype=torch.float32, device=gate_up.device)
    (kernel or _silu_mul_quantize_kernel)[(rows,)](
        gate_up, values, scale, n, gate_up.stride(0), values.stride(0),
        TINY=_TINY, E4M3_MAX=E4M3_MAX, BLOCK=triton.next_power_of_2(n), num_warps=num_warps,
    )  # fmt: skip
    return values, scale


@triton_op("cosmos_robotics::silu_mul_quantize_rows", mutates_args=())
def silu_mul_quantize_rows(gate_up: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The op ``torch.compile`` sees through (its graph calls the Triton kernel, CUDA graphs capture it)."""
    return launch(gate_up.contiguous(), kernel=wrap_triton(_silu_mul_quantize_kernel))
