"""Speed levers for ``diffusers.Cosmos3OmniPipeline`` that leave its outputs unchanged (up to bf16 rounding).

Why these levers: one Cosmos3-Nano denoising step is ~27 TFLOP, but the stock layer spends about half its time in
un-fused elementwise work (RMSNorm upcasts, RoPE ``cat``/``rotate_half``, K/V concatenation) and re-runs the whole
text ("understanding") pathway every step although that pathway never sees the vision/action tokens: its causal
attention reads text only, so its per-layer output and K/V are identical at every step of a call.
``apply_acceleration`` swaps each ``Cosmos3VLTextMoTDecoderLayer.forward`` for one that

* reuses the text pathway's per-layer K/V and output across steps (``text_kv_reuse``), keyed by the exact text
  token ids and positions, so cond/uncond prompts and new calls never mix;
* runs attention through a chosen PyTorch SDPA kernel (``attention_backend``);
* runs fused Q/K/V and gate/up projections (``fuse_projections``); the original ``nn.Linear`` weights are re-pointed
  at row blocks of the fused tensors, so no memory is duplicated and the plain forward still works;
* compiles the generation-pathway layer body with ``torch.compile`` (``compile_blocks``; one graph shared by all
  36 layers, recompiled per sequence length);

Opt-in levers that change the arithmetic or the call structure (off by default): ``fp8`` runs the generation
pathway's four matrix products in e4m3 (:mod:`fp8`); ``cuda_graphs`` and batching run action calls through our own
denoising loop (:mod:`sampler`), which replays the whole loop from one CUDA graph; ``vae_channels_last`` stores the VAE's
convolution weights channels-last; ``compile_vae_norms`` fuses each Wan RMS norm (upcast, normalize, scale, cast:
about a third of the decode's non-convolution time) into one compiled kernel, ``compile_vae_glue`` the copies, biases and
SiLUs around the convolutions (:mod:`vae_levers`); ``one_pass_reductions`` lets inductor
read each wide row once in the compiled layer body's norm and FP8-quantization kernels.

And, for forward-dynamics / policy calls, VAE-encodes only the conditioning frame (``first_frame_encode``): the
pipeline repeats that frame over the whole clip but keeps only latent frame 0 clean, and the Wan VAE is causal, so
latent frame 0 of the full clip equals the encoding of frame 0 alone. ``cudnn_benchmark`` lets cuDNN pick the
fastest convolution algorithms for the VAE. Action-only calls skip VAE decoding through
``call_action_only``, and video calls can convert frames on the GPU with ``call_frames_uint8``. Everything is undone by ``Acceleration.remove()``.
"""

from __future__ import annotations

import contextlib
import types
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from cosmos_robotics.errors import UnsupportedModeError
from cosmos_robotics.world_models.cosmos3 import vae_levers
from cosmos_robotics.world_models.cosmos3.device_map import transformer_devices
from cosmos_robotics.world_models.cosmos3.fp8 import Fp8Matrix, fp8_linear, quantize_weight

AttentionBackend = Literal["default", "cudnn", "flash", "efficient", "math"]

_SDPA_BACKENDS: dict[str, SDPBackend] = {
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "math": SDPBackend.MATH,
}


@dataclass(frozen=True)
class AccelerationConfig:
    """Which levers to pull. ``AccelerationConfig.none()`` is the plain diffusers pipeline.

    Attributes:
        text_kv_reuse: compute the text pathway once per prompt and reuse its K/V and output at every step.
        attention_backend: ``"default"`` lets SDPA pick (what diffusers' native dispatcher does); ``"cudnn"``,
            ``"flash"``, ``"efficient"``, ``"math"`` force that SDPA kernel (K/V heads are expanded for the kernels
            that lack grouped-query support).
        fuse_projections: one matrix product for Q/K/V and one for gate/up per pathway.
        compile_blocks: ``torch.compile`` the generation-pathway layer body (needs a GPU to pay off).
        compile_mode: ``torch.compile`` mode, e.g. ``"max-autotune-no-cudagraphs"``; ``None`` is the default mode.
        first_frame_encode: VAE-encode only frame 0 for forward-dynamics / policy calls.
        cudnn_benchmark: let cuDNN time its convolution algorithms for the VAE's fixed shapes (process-wide flag,
            restored by ``remove()``; measured no gain on an H100, hence off by default).
        fp8: e4m3 matrix products (row-wise scales) for the generation pathway's Q/K/V, output, gate/up and down
            projections; not exact (the benchmark reports the deviation). Opt-in.
        cuda_graphs: action calls run through :class:`~cosmos_robotics.world_models.cosmos3.sampler.ActionSampler`
            and the whole denoising loop (every transformer forward and the linear scheduler update) is replayed
            from one CUDA graph captured per shape and schedule (eager on a CPU). Exact up to float32 rounding of
            the scheduler's weights. Opt-in.
        vae_channels_last: channels-last VAE convolution weights (3D and 2D). Opt-in.
        compile_vae_norms: ``torch.compile`` the VAE decoder's RMS norms (one fused kernel each; rounding may move
            by a level). Opt-in.
        compile_vae_glue: ``torch.compile`` the glue around the VAE decoder's convolutions (:mod:`vae_levers`):
            each causal convolution whole (cache concat + pad + layout in one kernel, the bias in a vectorised
            pass: exact), the duplication shortcuts and nearest upsamplings (one kernel each, exact) and each
            residual block's RMS norm with its SiLU (rounding may move by a few levels). Opt-in.
        one_pass_reductions: let inductor also generate single-pass ("persistent") versions of the compiled layer
            body's row reductions (RMS norms over 4096 channels, FP8 row amax over 12288) and keep whichever it
            times faster (inductor's multi-kernel); by default rows wider than 1024 are read once per reduction.
            Rounding may move (another summation order). Every process compiles the layer body afresh (inductor's
            on-disk graph cache is bypassed: it breaks this mode). Opt-in; needs ``compile_blocks``.
    """

    text_kv_reuse: bool = True
    attention_backend: AttentionBackend = "cudnn"
    fuse_projections: bool = True
    compile_blocks: bool = True
    compile_mode: str | None = None
    first_frame_encode: bool = True
    cudnn_benchmark: bool = False
    fp8: bool = False
    cuda_graphs: bool = False
    vae_channels_last: bool = False
    compile_vae_norms: bool = False
    compile_vae_glue: bool = False
    one_pass_reductions: bool = False

    @classmethod
    def none(cls) -> AccelerationConfig:
        return cls(
            text_kv_reuse=False,
            attention_backend="default",
            fuse_projections=False,
            compile_blocks=False,
            first_frame_encode=False,
            cudnn_benchmark=False,
        )

    @property
    def replaces_layers(self) -> bool:
        return (
            self.text_kv_reuse
            or self.attention_backend != "default"
            or self.fuse_projections
            or self.compile_blocks
            or self.fp8
        )

    def __post_init__(self) -> None:
        if self.attention_backend != "default" and self.attention_backend not in _SDPA_BACKENDS:
            raise ValueError(
                f"attention_backend: expected one of {['default', *_SDPA_BACKENDS]}, got {self.attention_backend!r}"
            )
        if self.one_pass_reductions and not self.compile_blocks:
            raise ValueError("one_pass_reductions: expected compile_blocks=True (it tunes the compiled layer body)")


# --------------------------------------------------------------------------------------------------------------
# Layer math (same operations, in the same order and dtypes, as diffusers' Cosmos3AttnProcessor and layer forward)
# --------------------------------------------------------------------------------------------------------------


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    return x * cos.unsqueeze(-2) + _rotate_half(x) * sin.unsqueeze(-2)


def _attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool, backend: str) -> torch.Tensor:
    """``q [(B,) N, H, D]``, ``k/v [(B,) M, KV, D]`` -> ``[(B,) N, H*D]`` (grouped-query attention)."""
    single = q.dim() == 3
    q, k, v = (t.transpose(-3, -2) for t in (q, k, v))
    if single:
        q, k, v = q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)
    if backend == "default":
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
    else:
        groups = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        with sdpa_kernel(_SDPA_BACKENDS[backend]):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    out = out.transpose(-3, -2).flatten(-2, -1)
    return out.squeeze(0) if single else out


@dataclass
class _FusedWeights:
    qkv_und: torch.Tensor
    qkv_gen: torch.Tensor
    gate_up_und: torch.Tensor | None
    gate_up_gen: torch.Tensor | None


@dataclass
class _Fp8Layer:
    """The generation pathway's four matrices of one layer in e4m3 (Q/K/V and gate/up stacked)."""

    qkv: Fp8Matrix
    out: Fp8Matrix
    gate_up: Fp8Matrix
    down: Fp8Matrix
    split: tuple[int, int, int]

    @classmethod
    def of(cls, layer) -> _Fp8Layer:
        attn, mlp = layer.self_attn, layer.mlp_moe_gen
        linears = (attn.add_q_proj, attn.add_k_proj, attn.add_v_proj, attn.to_add_out, mlp.up_proj, mlp.down_proj)
        if mlp.hidden_act != "silu" or any(lin.bias is not None for lin in linears):
            raise UnsupportedModeError("fp8: expected bias-free linears and a SiLU-gated MLP (the Cosmos3-Nano layout)")
        qkv = (attn.add_q_proj, attn.add_k_proj, attn.add_v_proj)
        return cls(
            qkv=quantize_weight(torch.cat([lin.weight for lin in qkv])),
            out=quantize_weight(attn.to_add_out.weight),
            gate_up=quantize_weight(torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight])),
            down=quantize_weight(mlp.down_proj.weight),
            split=tuple(lin.out_features for lin in qkv),
        )


def _project(x: torch.Tensor, fused: torch.Tensor | None, linears: tuple[torch.nn.Linear, ...]) -> list[torch.Tensor]:
    if fused is None:
        return [lin(x) for lin in linears]
    bias = None
    if linears[0].bias is not None:
        bias = torch.cat([lin.bias for lin in linears])
    return list(F.linear(x, fused, bias).split([lin.out_features for lin in linears], dim=-1))


def _mlp(mlp: torch.nn.Module, x: torch.Tensor, gate_up: torch.Tensor | None) -> torch.Tensor:
    if gate_up is None:
        return mlp(x)
    gate, up = F.linear(x, gate_up).chunk(2, dim=-1)
    return mlp.down_proj(F.silu(gate) * up)


def _und_pathway(layer, und_seq, cos, sin, fused: _FusedWeights | None, backend: str):
    """Text pathway of one layer -> (layer output, K roped for the generation pathway, V)."""
    attn = layer.self_attn
    x = layer.input_layernorm(und_seq)
    q, k, v = _project(x, fused.qkv_und if fused else None, (attn.to_q, attn.to_k, attn.to_v))
    q = attn.norm_q(q.view(-1, attn.num_attention_heads, attn.head_dim))
    k = attn.norm_k(k.view(-1, attn.num_key_value_heads, attn.head_dim))
    v = v.view(-1, attn.num_key_value_heads, attn.head_dim)
    k_for_gen = attn.k_norm_und_for_gen(k) if attn.k_norm_und_for_gen is not None else k
    q, k, k_for_gen = _rope(q, cos, sin), _rope(k, cos, sin), _rope(k_for_gen, cos, sin)
    residual = und_seq + attn.to_out(_attention(q, k, v, causal=True, backend=backend))
    gate_up = fused.gate_up_und if fused else None
    out = residual + _mlp(layer.mlp, layer.post_attention_layernorm(residual), gate_up)
    return out, k_for_gen, v


def _gen_pathway(layer, gen_seq, k_und, v_und, cos, sin, fused: _FusedWeights | None, backend: str,
                 fp8: _Fp8Layer | None = None):
    """Generation pathway of one layer: vision/action tokens ``[(B,) N, hidden]`` attend to the (shared) text
    K/V ``[M, KV, D]`` and to themselves."""
    attn = layer.self_attn
    lead = gen_seq.shape[:-1]
    x = layer.input_layernorm_moe_gen(gen_seq)
    if fp8 is None:
        q, k, v = _project(x, fused.qkv_gen if fused else None, (attn.add_q_proj, attn.add_k_proj, attn.add_v_proj))
    else:
        q, k, v = fp8_linear(x, fp8.qkv).split(fp8.split, dim=-1)
    q = _rope(attn.norm_added_q(q.view(*lead, attn.num_attention_heads, attn.head_dim)), cos, sin)
    k = _rope(attn.norm_added_k(k.view(*lead, attn.num_key_value_heads, attn.head_dim)), cos, sin)
    v = v.view(*lead, attn.num_key_value_heads, attn.head_dim)
    k_und, v_und = (t.expand(*lead[:-1], *t.shape) for t in (k_und, v_und))
    out = _attention(q, torch.cat([k_und, k], dim=-3), torch.cat([v_und, v], dim=-3), causal=False, backend=backend)
    if fp8 is None:
        residual = gen_seq + attn.to_add_out(out)
        gate_up = fused.gate_up_gen if fused else None
        return residual + _mlp(layer.mlp_moe_gen, layer.post_attention_layernorm_moe_gen(residual), gate_up)
    residual = gen_seq + fp8_linear(out, fp8.out)
    gate, up = fp8_linear(layer.post_attention_layernorm_moe_gen(residual), fp8.gate_up).chunk(2, dim=-1)
    return residual + fp8_linear(F.silu(gate) * up, fp8.down)


def _fuse_rows(linears: tuple[torch.nn.Linear, ...]) -> torch.Tensor:
    """Concatenate weights along the output dim and re-point each Linear at its row block (no extra memory)."""
    fused = torch.cat([lin.weight.data for lin in linears], dim=0)
    start = 0
    for lin in linears:
        lin.weight.data = fused[start : start + lin.out_features]
        start += lin.out_features
    return fused


def _fuse_layer(layer) -> _FusedWeights:
    attn = layer.self_attn
    silu = layer.mlp.hidden_act == "silu"
    return _FusedWeights(
        qkv_und=_fuse_rows((attn.to_q, attn.to_k, attn.to_v)),
        qkv_gen=_fuse_rows((attn.add_q_proj, attn.add_k_proj, attn.add_v_proj)),
        gate_up_und=_fuse_rows((layer.mlp.gate_proj, layer.mlp.up_proj)) if silu else None,
        gate_up_gen=_fuse_rows((layer.mlp_moe_gen.gate_proj, layer.mlp_moe_gen.up_proj)) if silu else None,
    )


# --------------------------------------------------------------------------------------------------------------
# Text K/V cache
# --------------------------------------------------------------------------------------------------------------


@dataclass
class TextKVCache:
    """Per-prompt, per-layer (text output, text K for generation, text V); a few prompts kept (cond + uncond)."""

    max_prompts: int = 4
    entries: OrderedDict = field(default_factory=OrderedDict)
    active_key: Any = None
    hits: int = 0
    misses: int = 0

    def begin_forward(self, key: Any) -> None:
        self.active_key = key
        if key is not None and key not in self.entries:
            self.entries[key] = {}
            while len(self.entries) > self.max_prompts:
                self.entries.popitem(last=False)
        elif key is not None:
            self.entries.move_to_end(key)

    def lookup(self, index: int):
        if self.active_key is None:
            return None
        found = self.entries[self.active_key].get(index)
        self.hits += found is not None
        self.misses += found is None
        return found

    def store(self, index: int, value) -> None:
        if self.active_key is not None:
            self.entries[self.active_key][index] = value

    def clear(self) -> None:
        self.entries.clear()
        self.active_key = None


def _text_key(kwargs: dict[str, Any]) -> Any:
    """Exact identity of the text pathway's inputs: token ids and their (m)RoPE positions."""
    input_ids, position_ids, und_len = kwargs.get("input_ids"), kwargs.get("position_ids"), kwargs.get("und_len")
    if input_ids is None or position_ids is None or und_len is None or torch.is_grad_enabled():
        return None
    return (
        int(und_len),
        str(input_ids.device),
        tuple(input_ids.tolist()),
        tuple(position_ids[..., :und_len].flatten().tolist()),
    )


# --------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Acceleration:
    """What ``apply_acceleration`` changed; ``remove()`` restores the plain pipeline (fused weights stay shared)."""

    pipe: Any
    config: AccelerationConfig
    text_cache: TextKVCache
    fused: list[_FusedWeights | None] = field(default_factory=list)  # per layer (None: unfused)
    fp8: list[_Fp8Layer | None] = field(default_factory=list)  # per layer (None: bf16)
    gen_fn: Callable = _gen_pathway  # the (maybe compiled) generation-pathway layer body
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def remove(self) -> None:
        while self._undo:
            self._undo.pop()()
        self.text_cache.clear()


def apply_acceleration(pipe, config: AccelerationConfig | None = None) -> Acceleration:
    """Install the levers of ``config`` (default: all) on a ``Cosmos3OmniPipeline``; returns an undo handle."""
    config = config or AccelerationConfig()
    transformer = pipe.transformer
    if transformer._cp_shard_fn is not None and config.replaces_layers:
        raise UnsupportedModeError("apply_acceleration: context-parallel transformers are not supported")
    device = transformer.device
    spread = transformer_devices(transformer)
    if config.cuda_graphs and len(spread) > 1:  # a graph captures one device's stream
        raise UnsupportedModeError(f"cuda_graphs: expected the transformer on one device, it is split over "
                                   f"{sorted(str(d) for d in spread)}")
    if config.fp8 and device.type == "cuda" and torch.cuda.get_device_capability(device) < (8, 9):
        raise UnsupportedModeError(f"fp8: expected a GPU with FP8 tensor cores (compute capability >= 8.9), got "
                                   f"{torch.cuda.get_device_name(device)}")  # fmt: skip
    handle = Acceleration(pipe=pipe, config=config, text_cache=TextKVCache())
    if config.replaces_layers:
        _install_layers(transformer, config, handle)
    if config.first_frame_encode:
        _install_first_frame_encode(pipe, handle)
    if config.vae_channels_last:
        vae_levers.set_conv_format(pipe.vae, channels_last=True)
        handle._undo.append(lambda: vae_levers.set_conv_format(pipe.vae, channels_last=False))
    if config.compile_vae_norms or config.compile_vae_glue:
        _raise_recompile_limit(256)
    # The compiled levers go on the decoder only: the encoder sees one frame in FD / policy (vae_levers says why).
    if config.compile_vae_norms:
        vae_levers.install_norms(pipe.vae.decoder, handle._undo)
    if config.compile_vae_glue:
        vae_levers.install_glue(pipe.vae.decoder, handle._undo)
    if config.cudnn_benchmark:
        previous = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = True
        handle._undo.append(lambda: setattr(torch.backends.cudnn, "benchmark", previous))
    return handle


def _raise_recompile_limit(at_least: int) -> None:
    """One compiled graph per shape is more than dynamo's 8: the layer body has one per preset, batch size, prompt
    length and FP8 or not (64); the VAE levers one per convolution of every resolution level and cache state, per
    preset (256)."""
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, at_least)


def _install_layers(transformer, config: AccelerationConfig, handle: Acceleration) -> None:
    cache = handle.text_cache
    gen_fn = _gen_pathway
    if config.compile_blocks:
        _raise_recompile_limit(64)
        mode, options = config.compile_mode, None
        if config.one_pass_reductions:  # torch.compile takes a mode or options, not both
            from torch._inductor import list_mode_options

            # fx_graph_cache off: torch 2.11 fails to load multi-kernel code back from inductor's on-disk cache in
            # a later process ("'NoneType' object does not support the context manager protocol", seen on an H200).
            options = {**(list_mode_options(mode) if mode else {}), "triton.multi_kernel": 1, "fx_graph_cache": False}
            mode = None
        gen_fn = torch.compile(_gen_pathway, mode=mode, options=options, fullgraph=True, dynamic=False)
    handle.gen_fn = gen_fn
    backend = config.attention_backend

    def make_forward(index: int, fused: _FusedWeights | None, fp8: _Fp8Layer | None):
        def forward(layer, und_seq, gen_seq, rotary_emb):
            cos_und, sin_und, cos_gen, sin_gen = rotary_emb
            cached = cache.lookup(index) if config.text_kv_reuse else None
            if cached is None:
                cached = _und_pathway(layer, und_seq, cos_und, sin_und, fused, backend)
                if config.text_kv_reuse:
                    cache.store(index, cached)
            und_out, k_und, v_und = cached
            return und_out, gen_fn(layer, gen_seq, k_und, v_und, cos_gen, sin_gen, fused, backend, fp8)

        return forward

    for index, layer in enumerate(transformer.layers):
        fused = _fuse_layer(layer) if config.fuse_projections else None
        fp8 = _Fp8Layer.of(layer) if config.fp8 else None
        handle.fused.append(fused)
        handle.fp8.append(fp8)
        # A layer dispatched by accelerate (the transformer split over devices) keeps its hook, which moves the
        # inputs to the layer's device and then calls ``_old_forward``: the new body goes there.
        name = "_old_forward" if hasattr(layer, "_hf_hook") else "forward"
        previous = layer.__dict__.get(name)
        setattr(layer, name, types.MethodType(make_forward(index, fused, fp8), layer))
        handle._undo.append(lambda layer=layer, name=name, previous=previous:
                            delattr(layer, name) if previous is None else setattr(layer, name, previous))

    if config.text_kv_reuse:
        hook = transformer.register_forward_pre_hook(
            lambda _module, _args, kwargs: cache.begin_forward(_text_key(kwargs)), with_kwargs=True
        )
        handle._undo.append(hook.remove)


def _install_first_frame_encode(pipe, handle: Acceleration) -> None:
    state = {"first_frame_only": False}
    plain_prepare, plain_encode = pipe.prepare_latents, pipe._encode_video

    def prepare_latents(*args, **kwargs):
        action = kwargs.get("action")
        state["first_frame_only"] = action is not None and action.mode in ("forward_dynamics", "policy")
        try:
            return plain_prepare(*args, **kwargs)
        finally:
            state["first_frame_only"] = False

    def encode_video(x: torch.Tensor) -> torch.Tensor:
        if not state["first_frame_only"] or x.shape[2] == 1:
            return plain_encode(x)
        latent0 = plain_encode(x[:, :, :1])
        latent_frames = (x.shape[2] - 1) // pipe.vae_scale_factor_temporal + 1
        # Frames >= 1 are replaced by noise in these modes (condition mask 0); zeros keep the shape.
        rest = latent0.new_zeros(*latent0.shape[:2], latent_frames - 1, *latent0.shape[3:])
        return torch.cat([latent0, rest], dim=2)

    pipe.prepare_latents, pipe._encode_video = prepare_latents, encode_video

    def undo() -> None:
        del pipe.prepare_latents, pipe._encode_video

    handle._undo.append(undo)


def call_action_only(pipe, *, action, **call_kwargs) -> torch.Tensor:
    """Run an inverse-dynamics or policy call without VAE-decoding the video nobody asked for.

    Returns the ``[chunk_size, raw_action_dim]`` float32 CPU actions (model space), as ``pipe(...).action[0]``.
    """
    if action.mode == "forward_dynamics":
        raise UnsupportedModeError(
            "call_action_only: expected mode 'inverse_dynamics' or 'policy' (forward dynamics returns a video), "
            f"got {action.mode!r}"
        )
    call_kwargs.pop("output_type", None)
    out = pipe(action=action, output_type="latent", **call_kwargs)
    return out.action[0]


def call_frames_uint8(pipe, **call_kwargs) -> tuple[np.ndarray, list[torch.Tensor] | None]:
    """Run a call and return (frames ``uint8 [T, H, W, 3]``, actions or None), converting on the GPU.

    The pipeline's ``"np"``/``"pil"`` outputs convert the float video on the CPU (~60 ms for a DROID chunk); here
    the rounding to 8 bits (same as diffusers' ``numpy_to_pil``) runs on the device and only bytes are copied.
    """
    call_kwargs.pop("output_type", None)
    out = pipe(output_type="pt", **call_kwargs)
    return frames_uint8(out.video), out.action


def frames_uint8(video: torch.Tensor) -> np.ndarray:
    """``[..., T, 3, H, W]`` float in [0, 1] -> uint8 ``[..., T, H, W, 3]``, rounded on the device.

    From a GPU the bytes go into page-locked memory: on an H200 host the 17.8 MB of a DROID FD video took 15.4 ms
    into pageable memory and 0.3 ms into pinned memory (``benchmarks/README.md``, issue 15 run 10)."""
    frames = (video * 255).round().clamp(0, 255).to(torch.uint8).movedim(-3, -1)
    if not frames.is_cuda:
        return frames.numpy()
    host = torch.empty(frames.shape, dtype=torch.uint8, pin_memory=True)
    host.copy_(frames)
    return host.numpy()


@contextlib.contextmanager
def accelerated(pipe, config: AccelerationConfig | None = None):
    """``with accelerated(pipe, cfg): ...`` — levers on inside the block, plain pipeline after it."""
    handle = apply_acceleration(pipe, config)
    try:
        yield handle
    finally:
        handle.remove()
