"""Cosmos3-Nano latency on one GPU: plain diffusers call vs. our accelerated path (issue 5, item 7).

Builds the full-size Cosmos3-Nano architecture with random bf16 weights directly on the GPU (transformer defaults =
the Qwen3-VL-8B layout, ``action_gen=True``, ``action_dim=64``, 32 domains; Wan2.2 TI2V-5B VAE), then times

* DROID forward dynamics (16-step chunk, tier 480, 640x540 concat view, 30 steps, guidance 1.0),
* AV inverse dynamics (60-step chunk, 61 frames 832x480, 30 steps, guidance 1.0),

through (a) a plain ``Cosmos3OmniPipeline`` call with the cookbook settings and (b) our backend with its default
settings, ``Cosmos3DiffusersBackend(pipe).generate(WorldModelRequest(...))`` (DROID FD: concat-view frame + 16-step
model-space chunk; AV ID: 61 frames, ``decode_video=False``). (a) is split by hooks into prompt, VAE encode,
denoising (per step), VAE decode and output conversion; (b) is timed per ``generate`` call and split by the
backend's own ``timings`` (prepare, denoise, decode). Both record peak memory; (b)'s outputs are compared with (a)'s
(same seed, same CPU-generated initial noise). Afterwards each lever is measured on DROID FD on its own, and an
opt-in fast mode (fewer steps) with its deviation from the 30-step plain output.

    python benchmarks/cosmos3_gpu.py --out benchmarks/results/cosmos3_gpu.json     # on a GPU (full size)
    python benchmarks/cosmos3_gpu.py --device cpu --out /tmp/cosmos3_cpu.json       # tiny dry run on CPU

Random weights measure speed only; the deviation figures say how far the fast path's arithmetic drifts from the
plain one under identical inputs, not how good the outputs are.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from diffusers import AutoencoderKLWan, Cosmos3OmniPipeline, CosmosActionCondition  # noqa: E402
from diffusers.models.transformers.transformer_cosmos3 import Cosmos3OmniTransformer  # noqa: E402
from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler  # noqa: E402

from cosmos_robotics.embodiments import ActionMode  # noqa: E402
from cosmos_robotics.errors import ActionContractError  # noqa: E402
from cosmos_robotics.world_models.base import WorldModelRequest  # noqa: E402
from cosmos_robotics.world_models.cosmos3.acceleration import (  # noqa: E402
    AccelerationConfig,
    accelerated,
    call_frames_uint8,
)
from cosmos_robotics.world_models.cosmos3.architecture import NANO, WAN22_VAE  # noqa: E402
from cosmos_robotics.world_models.cosmos3.diffusers_backend import Cosmos3DiffusersBackend  # noqa: E402
from cosmos_robotics.world_models.cosmos3.offline_tokenizer import build_offline_qwen_tokenizer  # noqa: E402

TINY_VAE = {**WAN22_VAE, "base_dim": 8, "decoder_base_dim": 8}
# Transformer: the Cosmos3-Nano (Qwen3-VL-8B) layout with the action head on (one home: cosmos3/architecture.py).
NANO_TRANSFORMER = NANO.transformer_kwargs()
TINY_TRANSFORMER = dict(
    NANO_TRANSFORMER, hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, head_dim=32, rope_axes_dim=[6, 5, 5], vocab_size=2048,
)  # fmt: skip
# Cookbook scheduler: converted-checkpoint UniPC, then the action notebooks' override (flow_shift 10, no Karras).
CHECKPOINT_SCHEDULER = dict(
    use_karras_sigmas=True, use_flow_sigmas=True, prediction_type="flow_prediction", sigma_max=200.0, sigma_min=0.147
)
BF16_DATASHEET_TFLOPS = {"H100": 989.0, "H200": 989.0}


@dataclass(frozen=True)
class Task:
    name: str
    mode: str
    domain: str
    chunk: int
    tier: int
    fps: float
    view_point: str
    prompt: str
    frame_hw: tuple[int, int]
    steps: int = 30
    guidance: float = 1.0


def tasks(tiny: bool) -> list[Task]:
    if tiny:  # same code paths, CPU-sized (tier, fps and view point stay the presets' so the backend can run them)
        return [
            Task("droid_fd", "forward_dynamics", "droid_lerobot", 4, 480, 15.0, "concat_view",
                 "Put the marker in the cup.", (540, 640), steps=2),
            Task("av_id", "inverse_dynamics", "av", 8, 480, 10.0, "ego_view",
                 "You are an autonomous vehicle planning system.", (480, 832), steps=2),
        ]  # fmt: skip
    return [
        Task("droid_fd", "forward_dynamics", "droid_lerobot", 16, 480, 15.0, "concat_view",
             "Put the marker in the cup.", (540, 640)),
        Task("av_id", "inverse_dynamics", "av", 60, 480, 10.0, "ego_view",
             "You are an autonomous vehicle planning system.", (480, 832)),
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# Construction
# --------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


@torch.no_grad()
def build_pipeline(tiny: bool, device: torch.device, dtype: torch.dtype, seed: int = 0) -> Cosmos3OmniPipeline:
    """Random-weight Cosmos3-Nano pipeline, parameters allocated and initialised directly on ``device``."""
    torch.manual_seed(seed)
    with torch.device(device), _default_dtype(dtype):
        transformer = Cosmos3OmniTransformer(**(TINY_TRANSFORMER if tiny else NANO_TRANSFORMER))
        vae = AutoencoderKLWan(**(TINY_VAE if tiny else WAN22_VAE))
    # nn.Embedding's N(0, 1) init makes the per-domain action projections ~sqrt(fan_in) too large.
    for head in (transformer.action_proj_in, transformer.action_proj_out):
        head.fc.weight.normal_(0.0, head.input_size**-0.5)
        head.bias.weight.zero_()
    transformer.time_embedder.float()  # `_keep_in_fp32_modules`, as from_pretrained(torch_dtype=bf16) does
    transformer.eval()
    vae.eval()
    scheduler = UniPCMultistepScheduler(**CHECKPOINT_SCHEDULER)
    scheduler = UniPCMultistepScheduler.from_config(scheduler.config, flow_shift=10.0, use_karras_sigmas=False)
    return Cosmos3OmniPipeline(
        transformer=transformer,
        text_tokenizer=build_offline_qwen_tokenizer(),
        vae=vae,
        scheduler=scheduler,
        enable_safety_checker=False,
    )


def make_inputs(task: Task, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Random uint8 frames ``[F, H, W, 3]`` (1 for FD, chunk + 1 for ID) and, for FD, a model-space chunk."""
    rng = np.random.default_rng(seed)
    h, w = task.frame_hw
    count = 1 if task.mode == "forward_dynamics" else task.chunk + 1
    frames = rng.integers(0, 256, size=(count, h, w, 3), dtype=np.uint8)
    if task.mode != "forward_dynamics":
        return frames, None
    raw_width = 10 if task.domain == "droid_lerobot" else 9
    return frames, rng.uniform(-1, 1, size=(task.chunk, raw_width)).astype(np.float32)


def make_request(task: Task, seed: int = 0) -> dict:
    """Keyword arguments of the plain pipeline call (a)."""
    frames, actions = make_inputs(task, seed)
    action_kwargs = dict(
        mode=task.mode, chunk_size=task.chunk, domain_name=task.domain, resolution_tier=task.tier,
        view_point=task.view_point,
    )  # fmt: skip
    if task.mode == "forward_dynamics":
        action_kwargs["image"] = Image.fromarray(frames[0])
        action_kwargs["raw_actions"] = torch.from_numpy(actions)
    else:
        action_kwargs["video"] = [Image.fromarray(f) for f in frames]
    return dict(
        prompt=task.prompt,
        action=CosmosActionCondition(**action_kwargs),
        fps=task.fps,
        num_inference_steps=task.steps,
        guidance_scale=task.guidance,
        use_system_prompt=False,
    )


def make_world_model_request(task: Task, seed: int = 0) -> WorldModelRequest:
    """The same call as ``make_request`` through the WorldModel interface of path (b)."""
    frames, actions = make_inputs(task, seed)
    return WorldModelRequest(
        ActionMode(task.mode), task.domain, frames, actions=actions, prompt=task.prompt, chunk_size=task.chunk,
        seed=seed, num_inference_steps=task.steps, guidance_scale=task.guidance, flow_shift=10.0,
        decode_video=task.mode == "forward_dynamics",
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------------------


class PhaseTimer:
    """Marks the phases of a pipeline call with CUDA events (host clock on CPU) without touching the pipeline."""

    def __init__(self, pipe: Cosmos3OmniPipeline, cuda: bool):
        self.cuda = cuda
        self.marks: list[tuple[str, object]] = []
        self.seq_info: dict = {}
        self._wrap(pipe, "tokenize_prompt", "prompt")
        self._wrap(pipe.vae, "encode", "vae_encode")
        self._wrap(pipe.vae, "decode", "vae_decode")
        self._wrap(pipe.video_processor, "postprocess_video", "output_conversion")
        pipe.transformer.register_forward_pre_hook(self._on_forward, with_kwargs=True)

    def _now(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def mark(self, label: str) -> None:
        self.marks.append((label, self._now()))

    def _wrap(self, owner, name: str, phase: str) -> None:
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            self.mark(f"{phase}:start")
            try:
                return inner(*args, **kwargs)
            finally:
                self.mark(f"{phase}:end")

        setattr(owner, name, timed)

    def _on_forward(self, _module, _args, kwargs) -> None:
        if not any(label == "denoise:start" for label, _ in self.marks):
            self.mark("denoise:start")
        self.seq_info = {"und_len": int(kwargs["und_len"]), "sequence_length": int(kwargs["sequence_length"])}

    def step_callback(self, _pipe, _i, _t, callback_kwargs):
        self.mark("step")
        return callback_kwargs

    def _elapsed(self, a, b) -> float:
        return a.elapsed_time(b) / 1e3 if self.cuda else b - a

    def phases(self) -> dict:
        if self.cuda:
            torch.cuda.synchronize()
        out: dict = {"prompt": 0.0, "vae_encode": 0.0, "vae_decode": 0.0, "output_conversion": 0.0}
        opened: dict = {}
        steps, last = [], None
        for label, t in self.marks:
            if label.endswith(":start"):
                opened[label[:-6]] = t
                if label == "denoise:start":
                    last = t
            elif label.endswith(":end") and label != "call:end":
                phase = label[:-4]
                out[phase] += self._elapsed(opened.pop(phase), t)
            elif label == "step":
                steps.append(self._elapsed(last, t))
                last = t
        out["denoise"] = sum(steps)
        out["steps"] = steps
        out["total"] = self._elapsed(self.marks[0][1], self.marks[-1][1])
        named = out["prompt"] + out["vae_encode"] + out["denoise"] + out["vae_decode"] + out["output_conversion"]
        out["other"] = out["total"] - named
        return out


def _median_phases(runs: list[dict]) -> dict:
    keys = ("total", "prompt", "vae_encode", "denoise", "vae_decode", "output_conversion", "other")
    result = {k: statistics.median(r[k] for r in runs) for k in keys}
    result["step_median"] = statistics.median(s for r in runs for s in r["steps"])
    result["steps_per_call"] = len(runs[0]["steps"])
    result["totals"] = [r["total"] for r in runs]
    return result


def run_calls(pipe, timer: PhaseTimer, call, reps: int, warmup: int, cuda: bool):
    """``warmup`` untimed calls, then ``reps`` timed ones; returns (median phases, peak GiB, last output, 1st s)."""
    first_call_s = None
    for i in range(warmup):
        t0 = time.perf_counter()
        call(None)
        if cuda:
            torch.cuda.synchronize()
        if i == 0:
            first_call_s = time.perf_counter() - t0
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    runs, output = [], None
    for _ in range(reps):
        timer.marks.clear()
        timer.mark("call:start")
        output = call(timer.step_callback)
        timer.mark("call:end")
        runs.append(timer.phases())
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    return _median_phases(runs), peak, output, first_call_s


# --------------------------------------------------------------------------------------------------------------
# FLOPs and deviations
# --------------------------------------------------------------------------------------------------------------


def flops_per_forward(cfg, und_len: int, seq_len: int, text_reused: bool) -> float:
    """Matrix FLOPs of one transformer forward (projections, MLPs, attention) from the shapes."""
    hidden, heads, kv, hd, inter = (
        cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim, cfg.intermediate_size,
    )  # fmt: skip
    gen_len = seq_len - und_len
    per_token = 2 * (hidden * heads * hd * 2 + hidden * kv * hd * 2 + 3 * hidden * inter)
    text_tokens = 0 if text_reused else und_len
    linear = per_token * (text_tokens + gen_len)
    attn_gen = 4 * gen_len * seq_len * heads * hd
    attn_und = 0 if text_reused else 2 * und_len * und_len * heads * hd  # causal: half of 4*N*N*H*D
    io = 2 * gen_len * (2 * cfg.patch_latent_dim * hidden)
    return float(cfg.num_hidden_layers * (linear + attn_gen + attn_und) + io)


def _video_array(video) -> np.ndarray:
    """Either output form (PIL list from the plain call, uint8 array from ours) as uint8 [T, H, W, 3]."""
    if isinstance(video, list):
        return np.stack([np.asarray(f) for f in video])
    return np.asarray(video, dtype=np.uint8)


def deviation(task: Task, reference, candidate) -> dict:
    if task.mode == "forward_dynamics":
        ref, got = _video_array(reference).astype(np.int16), _video_array(candidate).astype(np.int16)
        diff = np.abs(ref - got)
        return {"what": "decoded video, uint8 levels", "max_abs": int(diff.max()), "mean_abs": float(diff.mean()),
                "frac_pixels_over_8_levels": float((diff > 8).mean())}  # fmt: skip
    ref, got = reference[0].double(), candidate.double()
    return {"what": "actions, model space", "rel_l2": float((got - ref).norm() / ref.norm()),
            "max_abs": float((got - ref).abs().max()), "ref_rms": float(ref.pow(2).mean().sqrt())}  # fmt: skip


def measure_matmul_peak(device: torch.device) -> float | None:
    """bf16 8192^3 matrix-product rate on random data, TFLOP/s (the ceiling the % figures use)."""
    if device.type != "cuda":
        return None
    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(20):
        a @ b
    end.record()
    torch.cuda.synchronize()
    return 20 * 2 * 8192**3 / (start.elapsed_time(end) / 1e3) / 1e12


def profile_call(pipe, task: Task, config: AccelerationConfig, device: torch.device, path: Path) -> None:
    """Where the host and device time of one accelerated call goes (top ops by CPU and by device time)."""
    request = make_request(task)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with accelerated(pipe, config):
        pipe(output_type="np", generator=torch.Generator(device).manual_seed(0), **request)  # warm
        with torch.profiler.profile(activities=activities) as prof:
            pipe(output_type="np", generator=torch.Generator(device).manual_seed(0), **request)
    averages = prof.key_averages()
    tables = [averages.table(sort_by="cpu_time_total", row_limit=40)]
    if device.type == "cuda":
        tables.append(averages.table(sort_by="cuda_time_total", row_limit=40))
    path.write_text("\n\n".join(tables))


# --------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON results path")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny config (implied on CPU)")
    parser.add_argument("--reps", type=int, default=3, help="timed calls per measurement (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls before each measurement")
    parser.add_argument("--skip-levers", action="store_true", help="skip the one-lever-at-a-time DROID runs")
    parser.add_argument("--fast-steps", type=int, default=10, help="denoising steps of the opt-in fast mode")
    parser.add_argument("--profile", action="store_true", help="write a torch.profiler table of one fast FD call")
    parser.add_argument("--steps", type=int, default=None, help="override the 30 cookbook steps (smoke runs only)")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    tiny = args.tiny or not cuda
    torch.backends.cuda.matmul.allow_tf32 = True
    results: dict = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "tiny": tiny,
        "device": torch.cuda.get_device_name(device) if cuda else platform.processor() or "cpu",
        "torch": torch.__version__,
        "diffusers": __import__("diffusers").__version__,
        "transformers": __import__("transformers").__version__,
        "path_b": "Cosmos3DiffusersBackend(pipe) with default settings (acceleration='auto'), called through "
        "backend.generate(WorldModelRequest(...)); split from the backend's timings dict",
    }
    peak = measure_matmul_peak(device)
    results["bf16_matmul_peak_tflops_measured"] = peak
    print(f"device {results['device']}; bf16 matmul peak {peak and round(peak)} TFLOP/s", flush=True)

    t0 = time.perf_counter()
    pipe = build_pipeline(tiny, device, torch.bfloat16)
    if cuda:
        torch.cuda.synchronize()
    results["build_s"] = time.perf_counter() - t0
    results["params_billion"] = sum(p.numel() for p in pipe.transformer.parameters()) / 1e9
    results["weights_gib"] = torch.cuda.memory_allocated() / 2**30 if cuda else None
    print(f"built in {results['build_s']:.1f} s, {results['params_billion']:.2f} B transformer params", flush=True)
    pipe.set_progress_bar_config(disable=True)
    timer = PhaseTimer(pipe, cuda)
    cfg = pipe.transformer.config
    ceiling = peak or float("nan")
    # The CPU dry run exercises every lever except the GPU-only ones (cuDNN attention, compiled kernels).
    default = AccelerationConfig() if cuda else AccelerationConfig(attention_backend="default", compile_blocks=False)
    results["accelerated_config"] = asdict(default)

    def measure(task: Task, config: AccelerationConfig | None, reps: int, steps=None):
        request = make_request(task)
        if steps is not None:
            request["num_inference_steps"] = steps

        def call(callback):
            generator = torch.Generator("cpu").manual_seed(0)  # as the backend draws its noise
            kwargs = dict(request, generator=generator, callback_on_step_end=callback)
            if config is None:
                out = pipe(output_type="pil", **kwargs)
                return out.video if task.mode == "forward_dynamics" else out.action
            return call_frames_uint8(pipe, **kwargs)[0]

        with accelerated(pipe, config or AccelerationConfig.none()) as handle:
            phases, peak_gib, output, first_s = run_calls(pipe, timer, call, reps, args.warmup, cuda)
            text_reused = handle.text_cache.hits > 0
        add_rates(phases, request["guidance_scale"], text_reused, peak_gib, first_s)
        phases["config"] = asdict(config) if config else "plain"
        return phases, output

    def add_rates(phases: dict, guidance: float, text_reused: bool, peak_gib, first_s) -> None:
        info = dict(timer.seq_info)
        work = flops_per_forward(cfg, info["und_len"], info["sequence_length"], text_reused=False)
        executed = flops_per_forward(cfg, info["und_len"], info["sequence_length"], text_reused=text_reused)
        forwards = 1 if guidance == 1.0 else 2
        step = phases["step_median"]
        phases.update(
            peak_mem_gib=peak_gib, first_call_s=first_s, **info, text_kv_reused=text_reused,
            tflop_per_step=forwards * work / 1e12, tflop_per_step_executed=forwards * executed / 1e12,
            tflops_effective=forwards * work / step / 1e12, pct_of_measured_bf16_peak=100 * forwards * work / step / 1e12 / ceiling,
        )  # fmt: skip

    def measure_backend(task: Task, reps: int):
        """Path (b): ``Cosmos3DiffusersBackend(pipe)`` as a user builds it; its levers are removed afterwards."""
        backend = Cosmos3DiffusersBackend(pipe, progress=False)
        request = make_world_model_request(task)
        interface = {"call": "backend.generate(request)"}

        def call():
            if "fallback_reason" in interface:
                return backend._generate(request.resolved())
            try:
                return backend.generate(request)
            except ActionContractError as error:  # random weights: the actions are no valid robot motion
                interface.update(call="backend._generate(request.resolved())", fallback_reason=str(error))
                print(f"  generate() refused the random-weight actions ({error}); timing _generate", flush=True)
                return backend._generate(request.resolved())

        try:
            first_s = None
            for i in range(max(1, args.warmup)):
                t0 = time.perf_counter()
                call()
                if i == 0:
                    first_s = time.perf_counter() - t0
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            walls, runs, result = [], [], None
            for _ in range(reps):
                t0 = time.perf_counter()
                result = call()  # the backend synchronises before it stops its clock
                walls.append(time.perf_counter() - t0)
                runs.append(result)
            timer.marks.clear()  # the plain-call hooks fired too; only their sequence lengths are used here
            peak_gib = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
            handle = backend.acceleration
            text_reused = handle is not None and handle.text_cache.hits > 0
        finally:
            if backend.acceleration is not None:
                backend.acceleration.remove()
        phases = {k: statistics.median(r.timings[k] for r in runs) for k in runs[0].timings}
        phases.update(
            total=statistics.median(walls), totals=walls, interface=interface,
            step_median=statistics.median(s for r in runs for s in r.extras["step_times_s"]),
            steps_per_call=len(runs[0].extras["step_times_s"]),
            outside_pipeline_s=statistics.median(w - r.timings["pipeline_s"] for w, r in zip(walls, runs, strict=True)),
        )  # fmt: skip
        add_rates(phases, task.guidance, text_reused, peak_gib, first_s)
        phases["config"] = asdict(handle.config) if handle is not None else "plain (acceleration='auto' on CPU)"
        output = result.frames if task.mode == "forward_dynamics" else torch.from_numpy(result.actions)
        return phases, output

    def report(label: str, phases: dict) -> None:
        if "prepare_s" in phases:
            split = (f"prepare {phases['prepare_s']:.3f} dec {phases['decode_s']:.3f} "
                     f"outside pipeline {phases['outside_pipeline_s']:.3f}")  # fmt: skip
        else:
            split = (f"enc {phases['vae_encode']:.3f} dec {phases['vae_decode']:.3f} "
                     f"conv {phases['output_conversion']:.3f} prompt {phases['prompt']:.3f}")  # fmt: skip
        print(f"  {label:<28} total {phases['total']:.3f} s | step {1e3 * phases['step_median']:.1f} ms x "
              f"{phases['steps_per_call']} | {split} | "
              f"{phases['pct_of_measured_bf16_peak']:.0f}% peak | mem {phases['peak_mem_gib']}", flush=True)  # fmt: skip

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))

    results["tasks"] = {}
    runs = []
    for task in tasks(tiny):  # (a) and (b) of every task first, so they are saved before the optional extras
        if args.steps is not None:
            task = replace(task, steps=args.steps)
        reps = args.reps if task.mode == "forward_dynamics" else max(1, args.reps - 1)
        print(f"{task.name}: chunk {task.chunk}, tier {task.tier}, {task.steps} steps, guidance {task.guidance}")
        entry: dict = {"task": asdict(task)}
        plain, plain_out = measure(task, None, reps=reps)
        report("(a) plain diffusers", plain)
        ours, ours_out = measure_backend(task, reps)
        report("(b) Cosmos3DiffusersBackend", ours)
        entry.update(plain=plain, backend=ours, speedup_b_over_a=plain["total"] / ours["total"],
                     deviation_b_vs_a=deviation(task, plain_out, ours_out))  # fmt: skip
        print(f"  speed-up {entry['speedup_b_over_a']:.2f}x; deviation {entry['deviation_b_vs_a']}", flush=True)
        if task.mode != "forward_dynamics":
            entry["levers"] = {"skip_decode": dict(
                plain_vae_decode_s=plain["vae_decode"], plain_output_conversion_s=plain["output_conversion"],
                backend_decode_s=ours["decode_s"])}  # fmt: skip
        results["tasks"][task.name] = entry
        runs.append((task, reps, plain, plain_out))
        save()

    for task, reps, plain, plain_out in runs:  # where (b)'s speed comes from, on DROID FD
        if task.mode != "forward_dynamics":
            continue
        entry = results["tasks"][task.name]
        if not args.skip_levers:
            levers = {
                "attention_cudnn": AccelerationConfig(**{**asdict(AccelerationConfig.none()), "attention_backend": "cudnn"}),
                "text_kv_reuse": AccelerationConfig(**{**asdict(AccelerationConfig.none()), "text_kv_reuse": True}),
                "fuse_projections": AccelerationConfig(**{**asdict(AccelerationConfig.none()), "fuse_projections": True}),
                "first_frame_encode": AccelerationConfig(**{**asdict(AccelerationConfig.none()), "first_frame_encode": True}),
                "cudnn_benchmark": AccelerationConfig(**{**asdict(AccelerationConfig.none()), "cudnn_benchmark": True}),
                "all_but_compile": AccelerationConfig(**{**asdict(default), "compile_blocks": False}),
                "all": default,
            }  # fmt: skip
            entry["levers"] = {}
            for name, config in levers.items():
                try:
                    phases, out = measure(task, config, reps=reps)
                except Exception as error:  # a lever that fails on this machine is reported, not fatal
                    entry["levers"][name] = {"error": f"{type(error).__name__}: {error}"}
                    print(f"  lever {name}: {entry['levers'][name]['error']}", flush=True)
                    continue
                report(f"lever {name}", phases)
                entry["levers"][name] = dict(
                    total=phases["total"], step_median=phases["step_median"], vae_encode=phases["vae_encode"],
                    ratio_vs_plain_total=plain["total"] / phases["total"],
                    ratio_vs_plain_step=plain["step_median"] / phases["step_median"],
                    deviation_vs_plain=deviation(task, plain_out, out),
                )  # fmt: skip
                save()
            eager, compiled = entry["levers"].get("all_but_compile", {}), entry["levers"].get("all", {})
            if "total" in eager and "total" in compiled:
                entry["levers"]["torch_compile (all vs all_but_compile)"] = dict(
                    ratio_total=eager["total"] / compiled["total"],
                    ratio_step=eager["step_median"] / compiled["step_median"],
                )
        fast_steps = min(args.fast_steps, task.steps - 1)
        if fast_steps > 0:
            fast, fast_out = measure(task, default, reps=reps, steps=fast_steps)
            report(f"fast mode ({fast_steps} steps)", fast)
            entry["fast_mode"] = dict(
                what=f"{fast_steps} denoising steps + all levers (no FP8, no caching across calls)",
                phases=fast, speedup_vs_plain=plain["total"] / fast["total"],
                deviation_vs_plain_30_steps=deviation(task, plain_out, fast_out),
            )  # fmt: skip
            print(f"  fast mode speed-up {entry['fast_mode']['speedup_vs_plain']:.2f}x; "
                  f"deviation {entry['fast_mode']['deviation_vs_plain_30_steps']}", flush=True)  # fmt: skip
        if args.profile:
            try:
                profile_call(pipe, task, default, device, args.out.with_suffix(".profile.txt"))
            except Exception as error:  # the profile is a diagnostic; the timings above stand without it
                print(f"  profile failed: {type(error).__name__}: {error}", flush=True)
        save()

    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
