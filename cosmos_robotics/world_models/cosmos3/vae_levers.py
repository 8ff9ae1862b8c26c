"""Opt-in speed levers for diffusers' Wan2.2 VAE (``AutoencoderKLWan``), installed by :mod:`acceleration`.

Why: at the DROID FD shapes the decoder's 3x3x3 convolutions already run at 670-836 TFLOP/s in cuDNN
(``benchmarks/vae_conv_shapes.py``), about half of the ~0.25 s decode; the rest is memory-bound glue around them
(``benchmarks/vae_decode_profile.py``). Each ``WanCausalConv3d`` concatenates its cached frames, pads with
``F.pad`` (a fresh contiguous tensor, even from a channels-last input) and cuDNN then converts that to the weights'
channels-last layout: three full copies of every input. Each RMS norm is several elementwise passes, and every
residual block applies SiLU after it as one more.

* :func:`set_conv_format` stores the convolution weights channels-last (``vae_channels_last``);
* :func:`install_norms` compiles each RMS norm into one kernel (``compile_vae_norms``);
* :func:`install_glue` assembles each causal convolution's input (cache concat, pad, layout) in one compiled kernel
  (same values: exact) and fuses each residual block's norm with its SiLU (one rounding less: may move a level or
  a few) (``compile_vae_glue``).

Each installer appends its undo to ``undo``; undos run last-in first-out. The caller raises dynamo's recompile
limit first (one graph per convolution shape and cache state).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F


def set_conv_format(module: torch.nn.Module, memory_format: torch.memory_format) -> None:
    """Store every 3D convolution's weight in ``memory_format`` (cuDNN then picks kernels for that layout)."""
    for conv in module.modules():
        if isinstance(conv, torch.nn.Conv3d):
            conv.weight.data = conv.weight.data.to(memory_format=memory_format)


def wan_rms_norm(norm, x: torch.Tensor) -> torch.Tensor:
    """``WanRMS_norm.forward``'s math (normalize in float32, back to the input dtype, scale, shift)."""
    normalized = F.normalize(x.float(), dim=1 if norm.channel_first else -1).to(x.dtype)
    return normalized * norm.scale * norm.gamma + norm.bias


def _norm_silu(norm, x: torch.Tensor) -> torch.Tensor:
    return F.silu(wan_rms_norm(norm, x))


def _conv_input(x: torch.Tensor, cache_x: torch.Tensor | None, padding: tuple[int, ...],
                memory_format: torch.memory_format) -> torch.Tensor:
    """``WanCausalConv3d``'s input assembly: cached frames in front, causal / spatial zero padding, the layout the
    weights are stored in."""
    if cache_x is not None:
        x = torch.cat([cache_x, x], dim=2)
    return F.pad(x, padding).contiguous(memory_format=memory_format)


def install_norms(vae, undo: list[Callable[[], None]]) -> None:
    from diffusers.models.autoencoders.autoencoder_kl_wan import WanRMS_norm

    compiled = torch.compile(wan_rms_norm, fullgraph=True, dynamic=False)
    norms = [m for m in vae.modules() if isinstance(m, WanRMS_norm)]
    previous = [vars(norm).get("forward") for norm in norms]
    for norm in norms:
        norm.forward = functools.partial(compiled, norm)
    undo.append(lambda: _restore(norms, previous))


def install_glue(vae, undo: list[Callable[[], None]]) -> None:
    from diffusers.models.autoencoders.autoencoder_kl_wan import WanCausalConv3d, WanResidualBlock

    assemble = torch.compile(_conv_input, fullgraph=True, dynamic=False)

    def conv_forward(conv, x, cache_x=None):  # WanCausalConv3d.forward with the input built in one kernel
        padding = list(conv._padding)
        if cache_x is not None and conv._padding[4] > 0:
            padding[4] -= cache_x.shape[2]
        else:
            cache_x = None  # as diffusers: a cache is only concatenated where the kernel looks back in time
        channels_last = conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
        layout = torch.channels_last_3d if channels_last else torch.contiguous_format
        return torch.nn.Conv3d.forward(conv, assemble(x, None if cache_x is None else cache_x.to(x.device),
                                                      tuple(padding), layout))  # fmt: skip

    convs = [m for m in vae.modules() if isinstance(m, WanCausalConv3d)]
    previous_convs = [vars(conv).get("forward") for conv in convs]
    for conv in convs:
        conv.forward = functools.partial(conv_forward, conv)

    norm_silu = torch.compile(_norm_silu, fullgraph=True, dynamic=False)
    blocks = [m for m in vae.modules() if isinstance(m, WanResidualBlock)]
    activations = [block.nonlinearity for block in blocks]
    norms = [norm for block in blocks for norm in (block.norm1, block.norm2)]
    previous_norms = [vars(norm).get("forward") for norm in norms]
    for block in blocks:  # its two norms are each followed by its SiLU, and nothing else uses the SiLU
        block.nonlinearity = torch.nn.Identity()
        for norm in (block.norm1, block.norm2):
            norm.forward = functools.partial(norm_silu, norm)

    def restore() -> None:
        _restore(convs, previous_convs)
        _restore(norms, previous_norms)
        for block, activation in zip(blocks, activations, strict=True):
            block.nonlinearity = activation

    undo.append(restore)


def _restore(modules: list[torch.nn.Module], forwards: list) -> None:
    for module, forward in zip(modules, forwards, strict=True):
        if forward is None:
            vars(module).pop("forward", None)
        else:
            module.forward = forward
