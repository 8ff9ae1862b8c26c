"""GPU memory of a Cosmos 3 call, from the architecture's numbers plus the call's activations; will it fit here?

Why: a user should learn *before* downloading tens of GiB that a checkpoint does not fit their GPU, and what
would (FP8 weights, offload, tensor parallel, a smaller checkpoint).

Generator (diffusers, one sample, no batching) peak = weights + the largest working set + the call's inputs and
outputs, where the working set is the largest of

* the transformer forward: every token holds ``2 x hidden + mlp_matrices x intermediate`` bf16 values at the MLP
  (residual, normed input, the MLP's intermediate tensors); attention is flash/cuDNN (no ``N^2`` matrix);
* the Wan VAE encode / decode: it runs one latent frame (4 video frames) at a time, so its working set is a
  number of feature maps of its top stage, ``4 x H/2 x W/2 x channels`` each. That number
  (:data:`DECODE_LIVE_MAPS`, :data:`ENCODE_LIVE_MAPS`) is not in any config: it is fitted once to the landed
  H100 benchmark's AV inverse-dynamics runs (plain, with decode: 34.23 GiB; backend, decode skipped: 31.88 GiB).
  DROID forward dynamics is then a prediction (tests/world_models/test_memory_plan.py compares it with the
  measured 33.4 GiB).

Reasoner (vLLM) = weights + the KV cache of one ``max_model_len`` sequence + :data:`REASONER_RUNTIME_GIB` (CUDA
graphs, vision-encoder profiling; an assumption, not measured). vLLM claims ``--gpu-memory-utilization`` (0.9)
of the GPU up front and fills the rest with KV cache, so on a tight GPU raise that flag to cover the estimate.

A GPU must hold the peak plus :data:`ALLOCATOR_SLACK` (the caching allocator reserves more than it hands out) and
:data:`CUDA_CONTEXT_GIB` (context and library workspaces, outside torch's allocator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from cosmos_robotics.world_models.cosmos3.architecture import Architecture

GIB = 2**30
# Bytes per quantizable weight. NVFP4: 4-bit values plus one FP8 scale per 16 values.
PRECISION_BYTES = {"bf16": 2.0, "fp8": 1.0, "nvfp4": 0.5 + 1 / 16, "fp32": 4.0}
CATALOG_PRECISIONS = ("bf16", "fp8", "nvfp4")
DECODE_LIVE_MAPS = 22
ENCODE_LIVE_MAPS = 18
VAE_FRAMES_PER_STEP = 4  # temporal compression: one latent frame <-> 4 video frames
TEXT_TOKENS = 100  # prompt + chat template (the benchmark's und_len: 94 for DROID, 100 for AV)
ALLOCATOR_SLACK = 1.05
CUDA_CONTEXT_GIB = 1.0
REASONER_MAX_MODEL_LEN = 32768
REASONER_RUNTIME_GIB = 2.0


@dataclass(frozen=True)
class Workload:
    """One generator call as the memory planner sees it (sizes are after the pipeline's multiple-of-16 crop)."""

    name: str
    description: str
    frames: int  # video frames in and out (chunk + 1)
    height: int
    width: int
    action_tokens: int
    encode_frames: int  # frames the VAE encodes (the plain pipeline encodes the whole conditioning clip)
    decode: bool = True

    @property
    def tokens(self) -> int:
        latent_frames = (self.frames - 1) // VAE_FRAMES_PER_STEP + 1
        per_frame = math.ceil(self.height / 32) * math.ceil(self.width / 32)  # x16 VAE, then 2x2 patches
        return TEXT_TOKENS + latent_frames * per_frame + self.action_tokens


@cache
def workloads() -> dict[str, Workload]:
    """The calls the catalog plans for; chunk sizes come from the embodiment presets."""
    from cosmos_robotics.embodiments import get_adapter

    def chunk(name: str) -> int:
        return get_adapter(name).preset.chunk_size

    droid, av, umi, policy = chunk("droid"), chunk("av"), chunk("umi"), chunk("droid_joint")
    items = (
        # DROID concat view 640x540 is cropped to 640x528; AV ego camera 832x480; UMI 256x256 at tier 256.
        Workload("droid_fd", f"DROID forward dynamics, {droid}-step chunk, 640x528", droid + 1, 528, 640, droid, droid + 1),
        Workload("av_id", f"AV inverse dynamics, {av + 1} frames 832x480", av + 1, 480, 832, av, av + 1),
        Workload("umi_fd", f"UMI forward dynamics, {umi}-step chunk, 256x256", umi + 1, 256, 256, umi, umi + 1),
        Workload("policy_droid", f"Policy-DROID, {policy}-step chunk + video, 640x528", policy + 1, 528, 640,
                 policy + 1, 1),
        Workload("t2v_720p", "text-to-video, 189 frames 1280x720 (the README default)", 189, 720, 1280, 0, 0),
        Workload("i2v_720p", "image-to-video, 189 frames 1280x720", 189, 720, 1280, 0, 1),
        Workload("t2i_720p", "text-to-image, 1280x720", 1, 720, 1280, 0, 0),
    )  # fmt: skip
    return {w.name: w for w in items}


def get_workload(name: str) -> Workload:
    table = workloads()
    if name not in table:
        raise ValueError(f"workload: expected one of {sorted(table)}, got {name!r}")
    return table[name]


# ----------------------------------------------------------------------------------------------------------------
# Weights and activations
# ----------------------------------------------------------------------------------------------------------------


def _bytes(precision: str) -> float:
    if precision not in PRECISION_BYTES:
        raise ValueError(f"precision: expected one of {sorted(PRECISION_BYTES)}, got {precision!r}")
    return PRECISION_BYTES[precision]


def transformer_weight_bytes(arch: Architecture, precision: str) -> float:
    """Generator transformer; FP8/NVFP4 quantize the block linears only (embeddings, norms, heads stay bf16)."""
    quantized = arch.quantizable_generator_params
    rest = arch.generator_transformer_params - quantized
    return quantized * _bytes(precision) + rest * (4.0 if precision == "fp32" else 2.0)


def vae_weight_bytes(arch: Architecture, precision: str) -> float:
    return arch.vae_params * (4.0 if precision == "fp32" else 2.0)


def reasoner_weight_bytes(arch: Architecture, precision: str) -> float:
    quantized = arch.quantizable_reasoner_params
    return quantized * _bytes(precision) + (arch.reasoner_params - quantized) * 2.0


@dataclass(frozen=True)
class Activations:
    transformer: float
    encode: float
    decode: float
    io: float

    @property
    def peak(self) -> float:
        return max(self.transformer, self.encode, self.decode) + self.io


def activation_bytes(arch: Architecture, workload: Workload, act_bytes: float = 2.0) -> Activations:
    t = arch.tower
    top = min(VAE_FRAMES_PER_STEP, workload.frames) * (workload.height // 2) * (workload.width // 2) * act_bytes
    pixels = 3 * workload.height * workload.width
    return Activations(
        transformer=workload.tokens * (2 * t.hidden + t.mlp_matrices * t.intermediate) * act_bytes,
        encode=ENCODE_LIVE_MAPS * top * arch.vae["base_dim"] if workload.encode_frames else 0.0,
        decode=DECODE_LIVE_MAPS * top * arch.vae["decoder_base_dim"] if workload.decode else 0.0,
        io=workload.encode_frames * pixels * act_bytes + (workload.frames * pixels * 4 if workload.decode else 0),
    )


@dataclass(frozen=True)
class Estimate:
    """Peak allocated memory of one configuration, per GPU, and what a GPU must hold for it."""

    label: str
    how: str
    weights_gib: float
    activations_gib: float
    gpus: int = 1

    @property
    def peak_gib(self) -> float:
        return self.weights_gib + self.activations_gib

    @property
    def required_gib(self) -> float:
        return self.peak_gib * ALLOCATOR_SLACK + CUDA_CONTEXT_GIB

    def to_json(self) -> dict:
        return dict(label=self.label, how=self.how, gpus=self.gpus, weights_gib=round(self.weights_gib, 2),
                    activations_gib=round(self.activations_gib, 2), peak_gib=round(self.peak_gib, 2),
                    required_gib=round(self.required_gib, 2))  # fmt: skip


def generator_estimate(arch: Architecture, workload: Workload, precision: str = "bf16") -> Estimate:
    """The plain diffusers pipeline on one GPU (everything resident)."""
    act = activation_bytes(arch, workload, 4.0 if precision == "fp32" else 2.0)
    weights = transformer_weight_bytes(arch, precision) + vae_weight_bytes(arch, precision)
    how = "Cosmos3DiffusersBackend.from_pretrained(...)" if precision == "bf16" else _PRECISION_HOW[precision]
    return Estimate(f"{precision}, 1 GPU", how, weights / GIB, act.peak / GIB)


def reasoner_estimate(arch: Architecture, precision: str = "bf16", tp: int = 1,
                      max_model_len: int = REASONER_MAX_MODEL_LEN) -> Estimate:  # fmt: skip
    """vLLM serving the Reasoner; weights and KV cache split over ``tp`` GPUs."""
    kv = arch.tower.kv_bytes_per_token() * max_model_len
    how = f"vllm serve <id> --hf-overrides ... --max-model-len {max_model_len}"
    how += f" --tensor-parallel-size {tp}" if tp > 1 else ""
    how += " (FP8: --quantization fp8)" if precision == "fp8" else ""
    label = f"{precision}, {tp} GPU{'s' if tp > 1 else ''}, {max_model_len // 1024}k context"
    return Estimate(label, how, reasoner_weight_bytes(arch, precision) / tp / GIB,
                    kv / tp / GIB + REASONER_RUNTIME_GIB, tp)  # fmt: skip


def reasoner_options(arch: Architecture, max_gpus: int = 8) -> list[Estimate]:
    """Default (bf16, 32k context, 1 GPU) first, then FP8, a shorter context, tensor parallel."""
    options = [reasoner_estimate(arch), reasoner_estimate(arch, "fp8"),
               reasoner_estimate(arch, max_model_len=REASONER_MAX_MODEL_LEN // 4)]  # fmt: skip
    tp = 2
    while tp <= max_gpus:
        options.append(reasoner_estimate(arch, tp=tp))
        tp *= 2
    return options


_PRECISION_HOW = {
    "fp8": "FP8 weight storage: pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, "
    "compute_dtype=torch.bfloat16) (diffusers; compute stays bf16), or an FP8 TensorRT-LLM / NIM profile",
    "nvfp4": "NVFP4 weights (Blackwell; no diffusers path, no published Cosmos 3 NVFP4 checkpoint found)",
    "fp32": "float32 weights",
}


def generator_options(arch: Architecture, workload: Workload, diffusers: bool = True,
                      max_gpus: int = 8) -> list[Estimate]:  # fmt: skip
    """The default (bf16, 1 GPU) first, then FP8, offload (diffusers levers) and tensor parallel (vLLM-Omni)."""
    act = activation_bytes(arch, workload)
    vae = vae_weight_bytes(arch, "bf16")
    transformer = transformer_weight_bytes(arch, "bf16")
    t = arch.tower
    layer = 2 * (t.attention_params + t.mlp_params) * 2.0
    options = [generator_estimate(arch, workload, "bf16")]
    tp = 2
    while tp <= max_gpus:  # vLLM-Omni shards the transformer; the VAE runs whole on each GPU (assumption)
        options.append(Estimate(
            f"bf16, tensor parallel {tp}", f"vllm serve <id> --omni ... --tensor-parallel-size {tp}",
            (transformer / tp + vae) / GIB,
            (max(act.transformer / tp, act.encode, act.decode) + act.io) / GIB, tp))  # fmt: skip
        tp *= 2
    if not diffusers:
        return options
    options.append(generator_estimate(arch, workload, "fp8"))
    # Model CPU offload: the transformer and the VAE take turns on the GPU.
    options.append(Estimate(
        "bf16, model CPU offload", "Cosmos3DiffusersBackend.from_pretrained(..., cpu_offload=True) (slower)",
        max(transformer + act.transformer, vae + max(act.encode, act.decode)) / GIB, act.io / GIB))  # fmt: skip
    # Group offload streams one block at a time (plus one prefetched); embeddings and heads stay resident.
    resident = transformer - t.layers * layer + 2 * layer + vae
    options.append(Estimate(
        "bf16, group offload", "Cosmos3DiffusersBackend.from_pretrained(..., group_offload=True) (much slower)",
        resident / GIB, act.peak / GIB))  # fmt: skip
    return options


# ----------------------------------------------------------------------------------------------------------------
# This machine's GPUs
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    total_gib: float
    free_gib: float


def local_gpus() -> list[Gpu]:
    """CUDA GPUs torch can see (empty on a machine without one)."""
    import torch

    if not torch.cuda.is_available():
        return []
    gpus = []
    for i in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(i)
        gpus.append(Gpu(i, torch.cuda.get_device_name(i), total / GIB, free / GIB))
    return gpus


# ----------------------------------------------------------------------------------------------------------------
# Advice
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitAdvice:
    """Whether the default configuration fits ``gpus`` x ``gpu_gib``, and which alternatives do."""

    subject: str
    gpu_gib: float
    gpus: int
    default: Estimate
    fitting: tuple[Estimate, ...]  # alternatives that fit the GPUs at hand, fastest first
    with_more_gpus: Estimate | None  # the smallest tensor-parallel setup that would fit GPUs of this size

    @property
    def fits(self) -> bool:
        return self.default.required_gib <= self.gpu_gib

    def lines(self) -> list[str]:
        head = (f"{self.subject}: {self.default.label} needs {self.default.required_gib:.1f} GiB "
                f"(peak {self.default.peak_gib:.1f} = weights {self.default.weights_gib:.1f} + activations "
                f"{self.default.activations_gib:.1f}, +{ALLOCATOR_SLACK - 1:.0%} allocator slack, "
                f"+{CUDA_CONTEXT_GIB:g} GiB CUDA context) on {self.gpus} x {self.gpu_gib:.1f} GiB: "
                + ("fits" if self.fits else "does NOT fit"))  # fmt: skip
        out = [head]
        if not self.fits:
            for option in self.fitting:
                out.append(f"  fits: {option.label} ({option.required_gib:.1f} GiB per GPU): {option.how}")
            if self.with_more_gpus is not None:
                o = self.with_more_gpus
                out.append(f"  with {o.gpus} such GPUs: {o.label} ({o.required_gib:.1f} GiB per GPU): {o.how}")
        return out

    def to_json(self) -> dict:
        return dict(subject=self.subject, gpu_gib=round(self.gpu_gib, 2), gpus=self.gpus, fits=self.fits,
                    default=self.default.to_json(), fitting=[o.to_json() for o in self.fitting],
                    with_more_gpus=self.with_more_gpus.to_json() if self.with_more_gpus else None)  # fmt: skip


def advise(subject: str, options: list[Estimate], gpu_gib: float, gpus: int = 1) -> FitAdvice:
    """``options[0]`` is the default; the rest are tried in order (cheapest in speed first)."""
    if gpu_gib <= 0 or gpus < 1:
        raise ValueError(f"GPU: expected a positive size and count, got {gpus} x {gpu_gib} GiB")
    ordered = sorted(options[1:], key=lambda o: (o.gpus == 1 and "offload" in o.label, o.gpus))
    fitting = tuple(o for o in ordered if o.gpus <= gpus and o.required_gib <= gpu_gib)
    more = None
    if not any(o.gpus > 1 for o in fitting):  # tensor parallel is faster than offload: say how many GPUs it takes
        more = next((o for o in ordered if o.gpus > gpus and o.required_gib <= gpu_gib), None)
    return FitAdvice(subject, gpu_gib, gpus, options[0], fitting, more)
