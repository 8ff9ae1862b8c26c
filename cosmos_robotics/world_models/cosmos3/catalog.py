"""Every Cosmos 3 checkpoint: id, towers, surfaces, modes, embodiments, backends with their exact commands, memory.

Why: "which checkpoint, on which GPU, through which server?" is answered in one place, before anything is
downloaded. Memory figures are not typed in: they come from :mod:`architecture` (layer counts and widths) and
:mod:`memory` (activations of the checkpoint's typical call). Commands and parallel set-ups are the ones upstream
documents (NVIDIA/cosmos README and cookbooks, cosmos-framework, vLLM-Omni); "measured here" marks what this
project ran itself (benchmarks/results/cosmos3_gpu.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cosmos_robotics.errors import InsufficientGpuMemoryError, UnknownCheckpointError
from cosmos_robotics.world_models.cosmos3.architecture import EDGE, NANO, SUPER, Architecture
from cosmos_robotics.world_models.cosmos3.memory import (
    CATALOG_PRECISIONS,
    FitAdvice,
    advise,
    generator_estimate,
    generator_options,
    get_workload,
    reasoner_estimate,
    reasoner_options,
    workloads,
)

REASONER_OVERRIDE = """--hf-overrides '{"architectures": ["Cosmos3ReasonerForConditionalGeneration"]}'"""
GENERATOR_MODES = ("text2image", "text2video", "image2video", "video2video", "video+sound")
ACTION_MODES = ("forward_dynamics", "inverse_dynamics", "policy")
# Adapters this toolkit implements; the model knows more domains (`cosmos-robotics embodiments`).
BASE_EMBODIMENTS = ("av", "droid", "umi")


@dataclass(frozen=True)
class Backend:
    name: str
    command: str
    note: str = ""


@dataclass(frozen=True)
class Checkpoint:
    hf_id: str
    architecture: Architecture
    status: str  # "released" (in the NVIDIA Cosmos 3 collection) or "announced"
    surfaces: tuple[str, ...]  # "reasoner", "generator"
    modes: tuple[str, ...]
    embodiments: tuple[str, ...]
    workload: str  # the call its memory figure is planned for (memory.workloads())
    backends: tuple[Backend, ...]
    parallel: tuple[str, ...]
    notes: str = ""
    max_tensor_parallel: int = 8  # 1: upstream serves it on one GPU only

    def generator_options(self, workload):
        """Ways to run ``workload`` with the backends this checkpoint has (diffusers levers, vLLM-Omni TP)."""
        names = {b.name for b in self.backends}
        return generator_options(self.architecture, workload, diffusers="diffusers" in names,
                                 max_gpus=self.max_tensor_parallel if "vllm-omni" in names else 1)  # fmt: skip

    @property
    def towers(self) -> dict[str, float]:
        """Billions of parameters: Reasoner (tower + embeddings + ViT), Generator (its tower + heads), VAE."""
        arch = self.architecture
        return {"reasoner": arch.reasoner_params / 1e9, "generator": arch.generator_tower_params / 1e9,
                "vae": arch.vae_params / 1e9}  # fmt: skip

    @property
    def name(self) -> str:
        return self.hf_id.split("/")[-1]

    def memory_gib(self) -> dict[str, dict[str, float]]:
        """Peak GiB per precision: the generator's planned call (diffusers, 1 GPU), the Reasoner (vLLM, 32k)."""
        out: dict[str, dict[str, float]] = {}
        if "generator" in self.surfaces:
            workload = get_workload(self.workload)
            out["generator"] = {p: round(generator_estimate(self.architecture, workload, p).peak_gib, 1)
                                for p in CATALOG_PRECISIONS}  # fmt: skip
        if "reasoner" in self.surfaces:
            out["reasoner"] = {p: round(reasoner_estimate(self.architecture, p).peak_gib, 1)
                               for p in CATALOG_PRECISIONS}  # fmt: skip
        return out

    def to_json(self) -> dict:
        return dict(
            hf_id=self.hf_id, status=self.status, architecture=self.architecture.name,
            backbone=self.architecture.backbone, params_billion={k: round(v, 2) for k, v in self.towers.items()},
            surfaces=list(self.surfaces), modes=list(self.modes), embodiments=list(self.embodiments),
            planned_call=get_workload(self.workload).description, memory_gib=self.memory_gib(),
            backends=[dict(name=b.name, command=b.command, note=b.note) for b in self.backends],
            parallel=list(self.parallel), notes=self.notes,
        )  # fmt: skip


def _diffusers(hf_id: str) -> Backend:
    return Backend("diffusers", f'Cosmos3DiffusersBackend.from_pretrained("{hf_id}")',
                   f'= Cosmos3OmniPipeline.from_pretrained("{hf_id}", torch_dtype=torch.bfloat16) + cookbook settings')  # fmt: skip


def _vllm_omni(hf_id: str, extra: str = "") -> Backend:
    return Backend("vllm-omni", f"vllm serve {hf_id} --omni --model-class-name Cosmos3OmniDiffusersPipeline "
                   f"--allowed-local-media-path / --port 8000{extra}", "Docker image vllm/vllm-omni:cosmos3")  # fmt: skip


def _vllm_reasoner(hf_id: str, extra: str = "") -> Backend:
    return Backend("vllm-reasoner", f"vllm serve {hf_id} {REASONER_OVERRIDE} --async-scheduling "
                   f"--allowed-local-media-path / --port 8000{extra}",
                   "vllm==0.21.0 (cu130) + the vllm-cosmos3 plugin (cosmos-framework packages/vllm-cosmos3); "
                   "OpenAI chat completions: `cosmos-robotics reason`")  # fmt: skip


_POLICY_SERVER = "python -m cosmos_framework.scripts.action_policy_server_robolab --port 8000"

CHECKPOINTS: tuple[Checkpoint, ...] = (
    Checkpoint(
        "nvidia/Cosmos3-Nano", NANO, "released", ("reasoner", "generator"), GENERATOR_MODES + ACTION_MODES,
        BASE_EMBODIMENTS, "droid_fd",
        (_diffusers("nvidia/Cosmos3-Nano"), _vllm_omni("nvidia/Cosmos3-Nano"), _vllm_reasoner("nvidia/Cosmos3-Nano"),
         Backend("tensorrt-llm", "trtllm-serve nvidia/Cosmos3-Nano --visual_gen_args "
                 "examples/visual_gen/configs/cosmos3-nano-1gpu.yaml --port 8000"),
         Backend("nim", "NIM container, POST /v1/infer", "cookbooks/cosmos3/nim; reference VRAM 58 GiB bf16, "
                 "31 GiB with layer offload, 44 GiB FP8"),
         Backend("sglang", "sglang serve --model-path nvidia/Cosmos3-Nano", "text2image / text2video / image2video")),
        ("1 GPU, diffusers: measured here (H100 80GB, H200)", "1 GPU, vLLM-Omni / TensorRT-LLM (upstream)"),
    ),
    Checkpoint(
        "nvidia/Cosmos3-Super", SUPER, "released", ("reasoner", "generator"), GENERATOR_MODES + ACTION_MODES,
        BASE_EMBODIMENTS, "droid_fd",
        (_diffusers("nvidia/Cosmos3-Super"),
         _vllm_omni("nvidia/Cosmos3-Super", " --tensor-parallel-size 4 --enable-layerwise-offload"),
         _vllm_reasoner("nvidia/Cosmos3-Super", " --tensor-parallel-size 4"),
         Backend("sglang", "sglang serve --model-path nvidia/Cosmos3-Super --num-gpus 4")),
        ("4 GPUs, vLLM-Omni --tensor-parallel-size 4 (+ --enable-layerwise-offload) (upstream)",),
        "action head shipped (Cosmos3-Super.yaml: action_gen true); not run here",
    ),
    Checkpoint(
        "nvidia/Cosmos3-Super-Text2Image", SUPER, "released", ("generator",), ("text2image",), (), "t2i_720p",
        (_diffusers("nvidia/Cosmos3-Super-Text2Image"),
         Backend("sglang", "sglang serve --model-path nvidia/Cosmos3-Super-Text2Image --num-gpus 4")),
        ("4 GPUs, SGLang --num-gpus 4 (upstream)",),
    ),
    Checkpoint(
        "nvidia/Cosmos3-Super-Image2Video", SUPER, "released", ("generator",), ("image2video",), (), "i2v_720p",
        (_diffusers("nvidia/Cosmos3-Super-Image2Video"),
         Backend("sglang", "sglang serve --model-path nvidia/Cosmos3-Super-Image2Video --num-gpus 4")),
        ("4 GPUs, SGLang --num-gpus 4 (upstream)",),
    ),
    Checkpoint(
        "nvidia/Cosmos3-Nano-Policy-DROID", NANO, "released", ("generator",), ("policy",), ("droid_joint",),
        "policy_droid",
        (Backend("vllm-omni", "vllm serve nvidia/Cosmos3-Nano-Policy-DROID --omni --deploy-config "
                 "vllm_omni/deploy/cosmos3_policy_droid.yaml", "OpenPI websocket /v1/realtime/robot/openpi"),
         Backend("cosmos-framework", _POLICY_SERVER, "RoboLab / OpenPI websocket server"),
         Backend("nim", "NIM nano-droid profile, POST /v1/infer")),
        ("1 GPU only, vLLM-Omni (upstream benchmark: 2.21 s per chunk on H200)",),
        "diffusers 0.42.1 cannot run it (no state row, no guidance interval)", max_tensor_parallel=1,
    ),
    Checkpoint(
        "nvidia/Cosmos3-Edge", EDGE, "announced", ("reasoner", "generator"), ("text2video", "image2video")
        + ACTION_MODES, BASE_EMBODIMENTS, "droid_fd",
        (_diffusers("nvidia/Cosmos3-Edge"),),  # diffusers 0.42.1 builds this layout (hidden_act="relu2")
        ("1 GPU (size)",),
        "announced: 4B = Nemotron-2B-Dense-VL towers (cosmos-framework Cosmos3-Edge.yaml); not in the released "
        "collection; its Reasoner vision encoder is not published, so Reasoner memory counts the towers only",
    ),
    Checkpoint(
        "nvidia/Cosmos3-Edge-Policy-DROID", EDGE, "announced", ("generator",), ("policy",), ("droid_joint",),
        "policy_droid",
        (Backend("cosmos-framework", "python -m cosmos_framework.scripts.action_policy_server_robolab "
                 "--checkpoint-path nvidia/Cosmos3-Edge-Policy-DROID --format-prompt-as-json True "
                 "--guidance-interval 960 1001 --port 8000"),
         Backend("tensorrt-llm", "trtllm-serve (cookbooks/cosmos3/generator/action/run_policy_with_trt_llm.ipynb)",
                 "notebook marked draft")),
        ("1 GPU (size)",),
        "announced (cosmos-framework docs); third-party reports run it on an RTX 4090",
    ),
)


def get_checkpoint(hf_id: str) -> Checkpoint:
    for ckpt in CHECKPOINTS:
        if hf_id in (ckpt.hf_id, ckpt.name):
            return ckpt
    raise UnknownCheckpointError(hf_id, [c.hf_id for c in CHECKPOINTS])


@dataclass(frozen=True)
class CheckpointCheck:
    checkpoint: Checkpoint
    advice: tuple[FitAdvice, ...]
    smaller: Checkpoint | None  # a released-or-announced checkpoint with the same modes that fits as it is

    def lines(self) -> list[str]:
        out = [line for a in self.advice for line in a.lines()]
        if self.smaller is not None:
            out.append(f"  smaller checkpoint with the same modes that fits as it is: {self.smaller.hf_id}"
                       f" ({self.smaller.status})")  # fmt: skip
        return out

    def to_json(self) -> dict:
        return dict(hf_id=self.checkpoint.hf_id, advice=[a.to_json() for a in self.advice],
                    smaller=self.smaller.hf_id if self.smaller else None)  # fmt: skip


def _advice(ckpt: Checkpoint, gpu_gib: float, gpus: int) -> tuple[FitAdvice, ...]:
    out = []
    if "generator" in ckpt.surfaces:
        workload = get_workload(ckpt.workload)
        out.append(advise(f"{ckpt.hf_id} generator, {workload.description}", ckpt.generator_options(workload),
                          gpu_gib, gpus))  # fmt: skip
    if "reasoner" in ckpt.surfaces:
        out.append(advise(f"{ckpt.hf_id} Reasoner (vLLM)", reasoner_options(ckpt.architecture), gpu_gib, gpus))
    return tuple(out)


def check_checkpoint(ckpt: Checkpoint, gpu_gib: float, gpus: int = 1) -> CheckpointCheck:
    """Advice for ``gpus`` GPUs of ``gpu_gib`` each; a smaller checkpoint when the default does not fit."""
    advice = _advice(ckpt, gpu_gib, gpus)
    smaller = None
    if not all(a.fits for a in advice):
        smaller = next((c for c in CHECKPOINTS if c.architecture.reasoner_params < ckpt.architecture.reasoner_params
                        and set(ckpt.modes) <= set(c.modes) and set(ckpt.embodiments) <= set(c.embodiments)
                        and all(a.fits for a in _advice(c, gpu_gib, gpus))), None)  # fmt: skip
    return CheckpointCheck(ckpt, advice, smaller)


# ----------------------------------------------------------------------------------------------------------------
# Before from_pretrained
# ----------------------------------------------------------------------------------------------------------------


def architecture_of(model: str) -> Architecture | None:
    """A local diffusers directory's own configs, else the catalog entry of a hub id; ``None`` when unknown."""
    path = Path(model)
    transformer, vae = path / "transformer" / "config.json", path / "vae" / "config.json"
    if transformer.is_file() and vae.is_file():
        return Architecture.from_diffusers_configs(
            path.name, json.loads(transformer.read_text()), json.loads(vae.read_text())
        )
    try:
        return get_checkpoint(model).architecture
    except UnknownCheckpointError:
        return None


def require_generator_fit(model: str, precision: str, free_gib: float, device: str = "cuda") -> None:
    """Raise :class:`InsufficientGpuMemoryError` when even the lightest action call cannot fit ``free_gib``."""
    arch = architecture_of(model)
    if arch is None:
        return
    lightest = min((w for w in workloads().values() if w.action_tokens),
                   key=lambda w: generator_estimate(arch, w, precision).required_gib)  # fmt: skip
    default = generator_estimate(arch, lightest, precision)
    if default.required_gib <= free_gib:
        return
    options = generator_options(arch, lightest, max_gpus=1)  # what from_pretrained itself can do
    fitting = [o for o in options[1:] if o.required_gib <= free_gib]
    what = "; ".join(f"{o.label} ({o.required_gib:.1f} GiB): {o.how}" for o in fitting) or (
        "nothing on this GPU: use more GPUs (vLLM-Omni --tensor-parallel-size) or a smaller checkpoint")
    raise InsufficientGpuMemoryError(
        f"{model!r} needs ~{default.required_gib:.1f} GiB on {device} for its lightest action call "
        f"({lightest.description}, {precision}: weights {default.weights_gib:.1f} + activations "
        f"{default.activations_gib:.1f} GiB, with allocator slack and CUDA context), but only {free_gib:.1f} GiB are "
        f"free. Nothing was loaded. What fits: {what}. (`cosmos-robotics checkpoints --check` explains the estimate.)"
    )
