"""FP8 (e4m3) matrix products for the generation pathway's linear layers (opt-in, not exact).

Weights are quantized once with one scale per output row; activations are quantized per token (row) on the fly.
On CUDA the product runs through ``torch._scaled_mm`` with row-wise scales (Hopper FP8 tensor cores, bf16 out);
inside the compiled layer body the activation's amax and cast fuse into the kernel before it, which is what makes
FP8 pay at this model's token counts (a separate quantization pass eats the gain). Elsewhere (CPU, where
``_scaled_mm`` only takes per-tensor scales) the same quantized operands are multiplied after dequantization, so
tests exercise the same rounding of weights and activations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

E4M3 = torch.float8_e4m3fn
E4M3_MAX = float(torch.finfo(E4M3).max)  # 448
_TINY = 1e-12


@dataclass
class Fp8Matrix:
    """``weight`` ``[N, K]`` e4m3 (row-major, so ``weight.t()`` is the column-major operand) and ``scale [N]``."""

    weight: torch.Tensor
    scale: torch.Tensor

    @property
    def out_features(self) -> int:
        return self.weight.shape[0]


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x [..., K]`` -> (e4m3 values, float32 scale ``[..., 1]``) with ``x ~= values * scale`` per row."""
    scale = x.abs().amax(dim=-1, keepdim=True).float().clamp(min=_TINY) / E4M3_MAX
    values = (x.float() / scale).clamp(-E4M3_MAX, E4M3_MAX).to(E4M3)
    return values, scale


def quantize_weight(weight: torch.Tensor) -> Fp8Matrix:
    if weight.shape[0] % 16 or weight.shape[1] % 16:
        raise ValueError(f"FP8 weights: expected both dims divisible by 16, got {tuple(weight.shape)}")
    values, scale = quantize_rows(weight.detach())
    return Fp8Matrix(values.contiguous(), scale.flatten().contiguous())


def fp8_linear(x: torch.Tensor, matrix: Fp8Matrix) -> torch.Tensor:
    """``x [..., K] @ W.T`` with both operands in e4m3; result in ``x.dtype``."""
    lead = x.shape[:-1]
    values, scale = quantize_rows(x.reshape(-1, x.shape[-1]))
    if x.is_cuda:
        out = torch._scaled_mm(values, matrix.weight.t(), scale_a=scale, scale_b=matrix.scale.view(1, -1),
                               out_dtype=x.dtype)  # fmt: skip
    else:
        dequant_w = matrix.weight.float() * matrix.scale[:, None]
        out = ((values.float() * scale) @ dequant_w.t()).to(x.dtype)
    return out.reshape(*lead, matrix.out_features)
