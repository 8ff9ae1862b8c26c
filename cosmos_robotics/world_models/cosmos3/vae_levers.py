"""Opt-in speed levers for diffusers' Wan2.2 VAE (``AutoencoderKLWan``), installed by :mod:`acceleration`.

Why: at the DROID FD shapes the decoder's 3x3x3 convolutions already run at 670-836 TFLOP/s in cuDNN
(``benchmarks/vae_conv_shapes.py``), about half of the ~0.25 s decode; the rest is memory-bound glue around them
(``benchmarks/vae_decode_profile.py``). Each ``WanCausalConv3d`` concatenates its cached frames, pads with
``F.pad`` (a fresh contiguous tensor, even from a channels-last input) and cuDNN then converts that to the weights'
channels-last layout: three full copies of every input. Each RMS norm is several elementwise passes, and every
residual block applies SiLU after it as one more.

* :func:`set_conv_format` stores the convolution weights channels-last (``vae_channels_last``), the 2D ones of the
  spatial upsamplers too: with those left contiguous, every upsampler hands the next block a frame-major tensor
  and each add that meets it runs PyTorch's strided (non-vectorised) kernel;
* :func:`install_norms` compiles each RMS norm into one kernel (``compile_vae_norms``);
* :func:`install_glue` (``compile_vae_glue``) compiles each causal convolution whole: its input (cache concat, pad,
  layout) in one kernel, and its bias added in a vectorised pass (inductor peels the bias off the cuDNN call; eager
  PyTorch adds a broadcast bias to a channels-last output with the strided kernel); each temporal/spatial
  duplication shortcut (``DupUp3D``: two copies) in one kernel that writes its input's layout, so the add it feeds
  is vectorised; each nearest upsampling (``WanUpsample``: upcast, upsample in float32, cast back) in one bfloat16
  pass; and each residual block's norm fused with its SiLU (one rounding less: may move a level or a few). The
  rest is exact: the same cuDNN convolutions, additions and copies.

Installed on the decoder only (:mod:`acceleration`): forward dynamics and policy encode one frame, where each
compiled region's host-side dispatch (~0.3-0.4 ms on an H200 host: 47 of them took ~19 ms for one 540x640 frame,
``benchmarks/fd_call_trace.py``, issue 15 run 11) costs more than the GPU time it saves.

Each installer appends its undo to ``undo``; undos run last-in first-out. The caller raises dynamo's recompile
limit first (one graph per convolution shape and cache state).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F


def set_conv_format(module: torch.nn.Module, channels_last: bool) -> None:
    """Store every 2D / 3D convolution's weight channels-last or contiguous (cuDNN picks kernels for that layout
    and writes its output in it)."""
    for conv in module.modules():
        if isinstance(conv, torch.nn.Conv2d | torch.nn.Conv3d):
            last = torch.channels_last_3d if isinstance(conv, torch.nn.Conv3d) else torch.channels_last
            conv.weight.data = conv.weight.data.to(memory_format=last if channels_last else torch.contiguous_format)


def wan_rms_norm(norm, x: torch.Tensor) -> torch.Tensor:
    """``WanRMS_norm.forward``'s math (normalize in float32, back to the input dtype, scale, shift)."""
    normalized = F.normalize(x.float(), dim=1 if norm.channel_first else -1).to(x.dtype)
    return normalized * norm.scale * norm.gamma + norm.bias


def _norm_silu(norm, x: torch.Tensor) -> torch.Tensor:
    return F.silu(wan_rms_norm(norm, x))


def _causal_conv(conv: torch.nn.Conv3d, x: torch.Tensor, cache_x: torch.Tensor | None, padding: tuple[int, ...],
                 memory_format: torch.memory_format) -> torch.Tensor:
    """``WanCausalConv3d.forward``: cached frames in front, causal / spatial zero padding, the layout the weights
    are stored in, then the convolution (``conv._padding`` is applied here, so ``nn.Conv3d`` pads nothing)."""
    if cache_x is not None:
        x = torch.cat([cache_x, x], dim=2)
    return torch.nn.Conv3d.forward(conv, F.pad(x, padding).contiguous(memory_format=memory_format))


def _dup_up(shortcut, x: torch.Tensor, first_chunk: bool = False) -> torch.Tensor:
    """``DupUp3D.forward``, written in the layout of its input (which is the layout of the tensor it is added to)."""
    channels_last = x.is_contiguous(memory_format=torch.channels_last_3d)
    layout = torch.channels_last_3d if channels_last else torch.contiguous_format
    return type(shortcut).forward(shortcut, x, first_chunk=first_chunk).contiguous(memory_format=layout)


def _upsample(upsample: torch.nn.Upsample, x: torch.Tensor) -> torch.Tensor:
    return type(upsample).forward(upsample, x)


def install_norms(vae, undo: list[Callable[[], None]]) -> None:
    from diffusers.models.autoencoders.autoencoder_kl_wan import WanRMS_norm

    _compile_forwards([m for m in vae.modules() if isinstance(m, WanRMS_norm)], wan_rms_norm, undo)


def install_glue(vae, undo: list[Callable[[], None]]) -> None:
    from diffusers.models.autoencoders.autoencoder_kl_wan import (
        DupUp3D,
        WanCausalConv3d,
        WanResidualBlock,
        WanUpsample,
    )

    causal_conv = torch.compile(_causal_conv, fullgraph=True, dynamic=False)

    def conv_forward(conv, x, cache_x=None):  # WanCausalConv3d.forward, compiled whole
        padding = list(conv._padding)
        if cache_x is not None and conv._padding[4] > 0:
            padding[4] -= cache_x.shape[2]
        else:
            cache_x = None  # as diffusers: a cache is only concatenated where the kernel looks back in time
        channels_last = conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
        layout = torch.channels_last_3d if channels_last else torch.contiguous_format
        return causal_conv(conv, x, None if cache_x is None else cache_x.to(x.device), tuple(padding), layout)

    modules = list(vae.modules())
    _set_forwards([m for m in modules if isinstance(m, WanCausalConv3d)], conv_forward, undo)
    _compile_forwards([m for m in modules if isinstance(m, DupUp3D)], _dup_up, undo)
    _compile_forwards([m for m in modules if isinstance(m, WanUpsample)], _upsample, undo)

    blocks = [m for m in modules if isinstance(m, WanResidualBlock)]
    activations = [block.nonlinearity for block in blocks]
    for block in blocks:  # its two norms are each followed by its SiLU, and nothing else uses the SiLU
        block.nonlinearity = torch.nn.Identity()

    def restore_activations() -> None:
        for block, activation in zip(blocks, activations, strict=True):
            block.nonlinearity = activation

    undo.append(restore_activations)
    _compile_forwards([norm for block in blocks for norm in (block.norm1, block.norm2)], _norm_silu, undo)


def _compile_forwards(modules: list[torch.nn.Module], forward: Callable, undo: list[Callable[[], None]]) -> None:
    """:func:`_set_forwards` with ``forward`` compiled once for all of them (one graph per input shape)."""
    _set_forwards(modules, torch.compile(forward, fullgraph=True, dynamic=False), undo)


def _set_forwards(modules: list[torch.nn.Module], forward: Callable, undo: list[Callable[[], None]]) -> None:
    """Each module's ``forward`` becomes ``forward(module, ...)``; the undo puts back what its instance had."""
    previous = [vars(module).get("forward") for module in modules]
    for module in modules:
        module.forward = functools.partial(forward, module)
    undo.append(lambda: _restore(modules, previous))


def _restore(modules: list[torch.nn.Module], forwards: list) -> None:
    for module, forward in zip(modules, forwards, strict=True):
        if forward is None:
            vars(module).pop("forward", None)
        else:
            module.forward = forward
