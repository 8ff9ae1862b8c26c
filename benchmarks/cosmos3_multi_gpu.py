"""Cosmos 3 beyond one GPU (issue 17): Ray generation throughput over 1..N GPUs, and Cosmos3-Super split over GPUs.

(a) Throughput. ``k`` replicas of the full-size Cosmos3-Nano architecture (random bf16 weights built on each
replica's own GPU, as ``cosmos3_gpu.py`` builds them; ``Cosmos3DiffusersBackend(pipe)`` with its default levers),
one per GPU, in the shared actor pool (``cosmos_robotics.distributed.ActorPool``: placement groups, ordered
results, bounded in-flight batches). A stream of DROID forward-dynamics requests (cookbook 30 steps, one seed each)
goes through ``generate_batch`` ``--batch`` at a time; the driver receives every video. Reported: requests/s at
k = 1, 2, 4, ... N (N = ``torch.cuda.device_count()``) and the scaling efficiency rate(k) / (k x rate(1)). The
same requests are also timed in-process on one GPU without Ray (the baseline when ray is not installed, and a
measure of the pool's own cost). Every replica warms up (compiles) before the clock starts.

(b) Cosmos3-Super split. The full-size Super architecture (Qwen3-VL-32B layout, 64 B parameters) with random bf16
weights, planned on the meta device and built straight onto the GPUs of the plan (``device_map.plan_split``),
hooked by ``dispatch_split``; DROID FD at 30 steps through the backend: latency, and peak memory of every GPU, at
1 / 2 / 4 GPUs where there are that many; the deviation of each configuration's video from the first one's (the
weights are drawn per parameter from its name, so every configuration holds the same numbers).

    python benchmarks/cosmos3_multi_gpu.py --out benchmarks/results/cosmos3_multi_gpu.json   # GPUs, full size
    python benchmarks/cosmos3_multi_gpu.py --device cpu --out /tmp/multi.json                   # tiny dry run

The CPU dry run uses the tiny layout for both parts, two CPU replicas (when ray is installed) and a split over two
and four "cpu" devices: it runs every code path, not the speed. Random weights measure speed only.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import statistics
import sys
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cosmos3_gpu import (  # noqa: E402
    CHECKPOINT_SCHEDULER,
    TINY_TRANSFORMER,
    TINY_VAE,
    build_pipeline,
    make_world_model_request,
    tasks,
)

from cosmos_robotics.world_models.cosmos3.architecture import SUPER, WAN22_VAE  # noqa: E402
from cosmos_robotics.world_models.cosmos3.device_map import dispatch_split, plan_split  # noqa: E402
from cosmos_robotics.world_models.cosmos3.diffusers_backend import Cosmos3DiffusersBackend  # noqa: E402


def droid_task(tiny: bool, steps: int | None):
    """DROID FD at the cookbook's 30 steps (the CPU dry run: 2 steps on a 160x135 view in float32, which the
    CPU runs in seconds where bf16 convolutions at 640x540 take minutes)."""
    task = tasks(tiny)[0]
    if tiny:
        task = replace(task, frame_hw=(135, 160))
    return task if steps is None else replace(task, steps=steps)


def video_deviation(reference: np.ndarray, candidate: np.ndarray) -> dict:
    diff = np.abs(reference.astype(np.int16) - candidate.astype(np.int16))
    return {"max_levels": int(diff.max()), "mean_levels": float(diff.mean())}


class NanoReplica:
    """One replica of part (a): a random-weight Nano pipeline on this process's GPU (or the tiny one on a CPU),
    warmed up on the batch shape it will serve. Called with a list of seeds; returns their videos."""

    def __init__(self, tiny: bool, batch: int, steps: int | None):
        device = torch.device("cpu" if tiny else "cuda")
        torch.backends.cuda.matmul.allow_tf32 = True
        pipe = build_pipeline(tiny, device, torch.float32 if tiny else torch.bfloat16)
        pipe.set_progress_bar_config(disable=True)
        self.backend = Cosmos3DiffusersBackend(pipe, progress=False, max_batch=batch)
        self.task = droid_task(tiny, steps)
        self.gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
        self(list(range(10**6, 10**6 + batch)))  # compile / warm up on this batch shape before any clock starts

    def __call__(self, seeds: list[int]) -> list[dict]:
        requests = [replace(make_world_model_request(self.task), seed=s) for s in seeds]
        return [{"seed": s, "frames": r.frames, "gpus": self.gpus}
                for s, r in zip(seeds, self.backend.generate_batch(requests), strict=True)]


def _ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def throughput(args, tiny: bool, gpus: int) -> dict:
    """Part (a): requests/s in-process and with k = 1, 2, 4, ... replicas; efficiency vs k x the 1-replica rate."""
    out: dict = {"batch": args.batch, "requests_per_replica": args.requests, "rows": {}}
    seeds = list(range(args.requests))
    t0 = time.perf_counter()
    local = NanoReplica(tiny, args.batch, args.steps)
    out["in_process_build_and_warmup_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference = [r for i in range(0, len(seeds), args.batch) for r in local(seeds[i : i + args.batch])]
    elapsed = time.perf_counter() - t0
    out["in_process_1_gpu"] = {"seconds": elapsed, "requests_per_s": len(seeds) / elapsed}
    print(f"  in-process, 1 {'GPU' if gpus else 'CPU'}: {len(seeds) / elapsed:.3f} req/s", flush=True)
    first = {r["seed"]: r["frames"] for r in reference}
    del local, reference
    gc.collect()
    torch.cuda.empty_cache() if gpus else None
    if args.no_ray or not _ray_available():
        out["ray"] = "not run: " + ("--no-ray" if args.no_ray else "ray is not installed")
        return out

    import ray

    from cosmos_robotics.distributed import ActorPool

    here = Path(__file__).resolve().parent  # the replicas import cosmos3_gpu and cosmos_robotics from here too
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(here), str(here.parent),
                                                            os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=max(2, args.cpu_replicas), include_dashboard=False, log_to_driver=False)
    replica = importlib.import_module(Path(__file__).stem).NanoReplica  # by module name, not __main__'s copy
    counts = [k for k in (1, 2, 4, 8, 16) if k <= (gpus or args.cpu_replicas)]
    try:
        for k in counts:
            t0 = time.perf_counter()
            pool = ActorPool(replica, tiny, args.batch, args.steps, actors=k, method="__call__", batched=True,
                             batch_size=args.batch, gpus=1 if gpus else 0, in_flight=2, reserve_timeout_s=120)
            ray.get([a.__ray_call__.remote(lambda r: r.target.gpus) for a in pool.actors])  # built and warm
            build_s = time.perf_counter() - t0
            stream = list(range(k * args.requests))
            t0 = time.perf_counter()
            results = list(pool.map(stream))
            elapsed = time.perf_counter() - t0
            pool.close()
            same = [video_deviation(first[r["seed"]], r["frames"]) for r in results if r["seed"] in first]
            row = {"replicas": k, "requests": len(stream), "seconds": elapsed, "requests_per_s": len(stream) / elapsed,
                   "build_and_warmup_s": build_s, "gpus_used": sorted({r["gpus"] for r in results if r["gpus"]}),
                   "deviation_vs_in_process": {"max_levels": max(d["max_levels"] for d in same),
                                               "mean_levels": statistics.mean(d["mean_levels"] for d in same)}}
            base = out["rows"].get("1", row)["requests_per_s"]
            row["scaling_efficiency"] = row["requests_per_s"] / (k * base)  # vs k x one Ray replica
            row["efficiency_vs_in_process"] = row["requests_per_s"] / (k * out["in_process_1_gpu"]["requests_per_s"])
            out["rows"][str(k)] = row
            print(f"  Ray, {k} replica(s): {row['requests_per_s']:.3f} req/s, efficiency "
                  f"{row['scaling_efficiency']:.3f}, deviation {row['deviation_vs_in_process']}", flush=True)
            args.save()
    finally:
        ray.shutdown()
    return out


@torch.no_grad()
def random_init(transformer, seed: int = 0) -> None:
    """Fill every tensor from its own name's seed (so any placement holds the same numbers): matrices
    U(+-1/sqrt(fan_in)) like ``nn.Linear``, the token embedding N(0, 1), norms 1, biases 0; the action heads as
    ``cosmos3_gpu.build_pipeline`` scales them."""
    for name, tensor in [*transformer.named_parameters(), *transformer.named_buffers()]:
        if "rotary_emb" in name:
            continue
        generator = torch.Generator(tensor.device).manual_seed(seed + zlib.crc32(name.encode()))
        if name.startswith(("action_proj_in.fc", "action_proj_out.fc")):
            tensor.normal_(0.0, tensor.shape[-1] ** -0.5 if tensor.ndim > 1 else 1.0, generator=generator)
        elif name.startswith(("action_proj_in.bias", "action_proj_out.bias")) or name.endswith("bias"):
            tensor.zero_()
        elif "norm" in name or name.endswith("modality_embed"):
            tensor.fill_(1.0 if "norm" in name else 0.0)
        elif name.startswith("embed_tokens"):
            tensor.normal_(0.0, 1.0, generator=generator)
        else:
            bound = tensor.shape[-1] ** -0.5 if tensor.ndim > 1 else 1.0
            tensor.uniform_(-bound, bound, generator=generator)


def build_split_pipeline(tiny: bool, devices: list[str], budgets=None):
    """Super (or the tiny layout) with its decoder layers split over ``devices``: planned on the meta device, each
    module allocated on its own device, filled by ``random_init``, hooked; VAE and the rest on ``devices[0]``."""
    from diffusers import AutoencoderKLWan, Cosmos3OmniPipeline
    from diffusers.models.transformers.transformer_cosmos3 import Cosmos3OmniTransformer
    from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler

    from cosmos_robotics.world_models.cosmos3.offline_tokenizer import build_offline_qwen_tokenizer

    kwargs = TINY_TRANSFORMER if tiny else SUPER.transformer_kwargs()
    dtype = torch.float32 if tiny else torch.bfloat16
    with torch.device("meta"):
        transformer = Cosmos3OmniTransformer(**kwargs).to(dtype)
    transformer.time_embedder.float()
    split = plan_split(transformer, devices, budgets)
    for name, device in split.device_map.items():  # allocate every module where the plan puts it
        if isinstance(getattr(transformer, name, None), torch.nn.Parameter):  # a top-level parameter
            setattr(transformer, name, torch.nn.Parameter(torch.empty_like(getattr(transformer, name), device=device)))
        else:
            transformer.get_submodule(name).to_empty(device=device)
    config = transformer.config  # the rotary table is computed, not drawn: rebuild it
    transformer.rotary_emb = type(transformer.rotary_emb)(config.head_dim, config.rope_theta,
                                                          config.rope_axes_dim).to(devices[0])
    random_init(transformer)
    transformer.eval()
    dispatch_split(transformer, split)
    torch.manual_seed(0)
    with torch.device(devices[0]):
        vae = AutoencoderKLWan(**(TINY_VAE if tiny else WAN22_VAE)).to(dtype).eval()
    scheduler = UniPCMultistepScheduler(**CHECKPOINT_SCHEDULER)
    scheduler = UniPCMultistepScheduler.from_config(scheduler.config, flow_shift=10.0, use_karras_sigmas=False)
    pipe = Cosmos3OmniPipeline(transformer=transformer, text_tokenizer=build_offline_qwen_tokenizer(), vae=vae,
                               scheduler=scheduler, enable_safety_checker=False)
    return pipe, split


def super_split(args, tiny: bool, gpus: int) -> dict:
    """Part (b): DROID FD latency and per-GPU peak memory of the split Super at 1 / 2 / 4 GPUs."""
    configs = [["cpu"] * n for n in (1, 2, 4)] if tiny else [[f"cuda:{i}" for i in range(n)] for n in (1, 2, 4)
                                                            if n <= gpus]  # fmt: skip
    task = droid_task(tiny, args.steps)
    request = make_world_model_request(task)
    out: dict = {"architecture": "tiny" if tiny else SUPER.name, "task": "droid_fd", "steps": task.steps, "rows": {}}
    reference = None
    for devices in configs:
        label = f"{len(devices)} {'cpu' if tiny else 'GPU'}"
        try:
            t0 = time.perf_counter()
            pipe, split = build_split_pipeline(tiny, devices)
            build_s = time.perf_counter() - t0
            pipe.set_progress_bar_config(disable=True)
            backend = Cosmos3DiffusersBackend(pipe, progress=False)
            first_s = _timed(backend, request)[0]
            for i in range(gpus if not tiny else 0):
                torch.cuda.reset_peak_memory_stats(i)
            walls, result = [], None
            for _ in range(args.reps):
                wall, result = _timed(backend, request)
                walls.append(wall)
            peaks = [torch.cuda.max_memory_allocated(i) / 2**30 for i in range(len(devices))] if not tiny else None
            row = {"devices": devices, "split": split.to_json(), "build_s": build_s, "first_call_s": first_s,
                   "latency_s": statistics.median(walls), "calls_s": walls, "peak_gib_per_gpu": peaks,
                   "timings": result.timings, "levers": "default (acceleration='auto')"}
            reference = result.frames if reference is None else reference
            row["deviation_vs_first_config"] = video_deviation(reference, result.frames)
        except Exception as error:  # one configuration that fails (memory, a lever) is reported, not fatal
            row = {"devices": devices, "error": f"{type(error).__name__}: {error}"}
        out["rows"][label] = row
        print(f"  Super split, {label}: " + (row["error"] if "error" in row else
              f"{row['latency_s']:.3f} s, peak/GPU {row['peak_gib_per_gpu']}, layers {row['split']['layers_per_device']}, "
              f"deviation {row['deviation_vs_first_config']}"), flush=True)  # fmt: skip
        pipe = backend = None
        gc.collect()
        torch.cuda.empty_cache() if not tiny else None
        args.save()
    return out


def _timed(backend, request):
    t0 = time.perf_counter()
    result = backend.generate(request)  # the backend synchronises before it returns
    return time.perf_counter() - t0, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON results path")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=4, help="requests per generate_batch call (a)")
    parser.add_argument("--requests", type=int, default=16, help="requests per replica in each timed stream (a)")
    parser.add_argument("--reps", type=int, default=3, help="timed Super calls per configuration (b)")
    parser.add_argument("--steps", type=int, default=None, help="override the 30 cookbook steps (smoke runs only)")
    parser.add_argument("--no-ray", action="store_true", help="(a) in-process only (one GPU, no ray needed)")
    parser.add_argument("--cpu-replicas", type=int, default=2, help="Ray replicas of the CPU dry run")
    parser.add_argument("--skip", choices=["throughput", "super"], default=None, help="leave one part out")
    args = parser.parse_args(argv)
    tiny = args.device == "cpu"
    gpus = torch.cuda.device_count() if not tiny else 0
    results: dict = {
        "command": " ".join(["cosmos3_multi_gpu.py", *(argv if argv is not None else sys.argv[1:])]),
        "device": f"{gpus} x {torch.cuda.get_device_name(0)}" if gpus else "cpu (tiny config)",
        "torch": torch.__version__, "diffusers": __import__("diffusers").__version__,
    }  # fmt: skip

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))

    args.save = save
    print(results["device"], flush=True)
    if args.skip != "throughput":
        print("(a) DROID FD throughput, Nano replicas", flush=True)
        results["throughput"] = throughput(args, tiny, gpus)
        save()
    if args.skip != "super":
        print("(b) Cosmos3-Super split over GPUs", flush=True)
        results["super_split"] = super_split(args, tiny, gpus)
        save()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
