"""Cosmos3-Nano opt-in levers on one GPU (issue 15): FP8, CUDA graphs, channels-last VAE, Policy-DROID, batching.

Same full-size random-weight pipeline as ``cosmos3_gpu.py`` (built on the GPU), every row timed through
``Cosmos3DiffusersBackend`` in one process, side by side:

* DROID FD, cookbook 30 steps: the default backend (bf16, exact levers) against the opt-in levers added one by
  one (``AccelerationConfig(fp8=..., cuda_graphs=..., vae_channels_last=..., compile_vae_norms=..., compile_vae_glue=...,
  one_pass_reductions=...)``; ``--fd-rows`` picks some); deviation
  of each from the default's video (same seed and noise) in uint8 levels; last, diffusers' own speed APIs
  (``set_attention_backend``, ``compile_repeated_blocks``, ``fuse_qkv_projections``) on the plain pipeline;
* Policy-DROID (``droid_joint``: 540x640 concat view + state row, 32x8 chunk, 4 steps, guidance 3, flow shift 5)
  without and with the video decode, default levers vs. the kept opt-in levers; deviation in actions (rel-L2);
* batched DROID FD (``generate_batch``) at batch 1 / 4 / 8 against the same requests called one by one;
* peak GPU memory of every row (``torch.cuda.max_memory_allocated`` over its timed calls);
* with ``--profile``, a kernel-time table of three FP8 denoising steps (``<out>.profile.txt``).

    python benchmarks/cosmos3_gpu_fast.py --out benchmarks/results/cosmos3_gpu_fast.json   # GPU, full size
    python benchmarks/cosmos3_gpu_fast.py --device cpu --reps 1 --out /tmp/fast.json         # tiny dry run

Random weights measure speed only: deviations are arithmetic drift under identical inputs, not quality.
Actions from random weights are no valid robot motion, so calls go through ``backend._checked`` +
``backend._generate`` (everything but the CPU-side robot-space decode of the returned rows).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cosmos3_gpu import build_pipeline, make_world_model_request, measure_matmul_peak, tasks  # noqa: E402

from cosmos_robotics.embodiments import ActionMode, get_adapter  # noqa: E402
from cosmos_robotics.world_models.base import WorldModelRequest  # noqa: E402
from cosmos_robotics.world_models.cosmos3.acceleration import AccelerationConfig  # noqa: E402
from cosmos_robotics.world_models.cosmos3.diffusers_backend import Cosmos3DiffusersBackend  # noqa: E402


def video_deviation(reference: np.ndarray, candidate: np.ndarray) -> dict:
    diff = np.abs(reference.astype(np.int16) - candidate.astype(np.int16))
    return {"max_levels": int(diff.max()), "mean_levels": float(diff.mean()), "frac_over_8": float((diff > 8).mean())}


def action_deviation(reference: np.ndarray, candidate: np.ndarray) -> dict:
    ref, got = reference.astype(np.float64), candidate.astype(np.float64)
    return {"rel_l2": float(np.linalg.norm(got - ref) / np.linalg.norm(ref)), "max_abs": float(np.abs(got - ref).max())}


SECTIONS = ("fd", "policy", "batch", "public")


def policy_request(tiny: bool, decode: bool, seed: int = 0, steps: int | None = None) -> WorldModelRequest:
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, size=(1, 540, 640, 3), dtype=np.uint8)
    state = get_adapter("droid_joint").encode_state([0.0, -0.6, 0.0, -2.2, 0.0, 1.6, 0.8], 0.3)
    return WorldModelRequest(ActionMode.POLICY, "droid_joint", frame, prompt="Put the marker in the cup.",
                             state=state, seed=seed, decode_video=decode,
                             num_inference_steps=steps or (2 if tiny else None))  # fmt: skip


def step_time(out, steps: int) -> dict:
    """Per-step time: the median of the backend's step marks, or (a graph-replayed loop has none) the mean over
    the denoising phase; the key says which."""
    marks = out.extras.get("step_times_s") or []
    if marks:
        return {"step_ms": 1e3 * statistics.median(marks), "step_ms_is": "median of per-step marks"}
    return {"step_ms": 1e3 * out.timings["denoise_s"] / steps, "step_ms_is": "denoise_s / steps (one graph replay)"}


def public_api_row(pipe, request, timed, reps: int, reference) -> dict:
    """Diffusers' own speed APIs on the plain pipeline: what they give and what they lack for Cosmos 3."""
    entry: dict = {}
    fusable = [m for m in pipe.transformer.modules() if getattr(m, "_supports_qkv_fusion", False)]
    pipe.transformer.fuse_qkv_projections()  # a no-op here: Cosmos3PackedMoTAttention._supports_qkv_fusion = False
    entry["fuse_qkv_projections"] = f"{len(fusable)} attention modules support it (no-op for Cosmos 3)"
    try:
        if torch.cuda.is_available():
            pipe.transformer.set_attention_backend("_native_cudnn")
        pipe.transformer.compile_repeated_blocks(fullgraph=True)
        backend = Cosmos3DiffusersBackend(pipe, acceleration=None, progress=False)
        median, walls, peak, first, out = timed(backend, request, reps)
        entry.update(what="set_attention_backend('_native_cudnn') + compile_repeated_blocks(fullgraph=True), "
                     "no other lever", total_s=median, calls_s=walls, first_call_s=first, peak_gib=peak,
                     timings=out.timings, **step_time(out, backend._checked(request).num_inference_steps))  # fmt: skip
        if reference is not None:
            entry["deviation_video"] = video_deviation(reference.frames, out.frames)
        print(f"  diffusers public APIs: {median:.3f} s, step {entry['step_ms']:.1f} ms", flush=True)
    except Exception as error:
        entry["error"] = f"{type(error).__name__}: {error}"
        print(f"  diffusers public APIs: {entry['error']}", flush=True)
    return entry


def profile_prepare(backend, request, layout) -> str:
    """Host-side profile (cProfile, cumulative) of one call's preparation with a warm text cache: what is left
    of the ~0.03-0.10 s before the first denoising step."""
    import cProfile
    import io
    import pstats

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    profiler = cProfile.Profile()
    sync()
    t = time.perf_counter()
    profiler.enable()
    prepared, _ = backend._prepare(request)
    sync()
    middle = time.perf_counter()
    backend.sampler._statics(prepared, prepared.cond)
    sync()
    profiler.disable()
    end = time.perf_counter()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
    return f"_prepare {middle - t:.4f} s, _statics (warm text cache) {end - middle:.4f} s\n" + text.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--reps", type=int, default=3, help="timed calls per row (median reported)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--budget-s", type=float, default=540.0, help="skip remaining rows after this wall time")
    parser.add_argument("--profile", action="store_true", help="kernel-time table of one FP8 step (eager replay)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="which tables to measure (default: all)")
    parser.add_argument("--fd-rows", nargs="+", help="which DROID FD rows (keys, default: all; the first is the "
                        "deviation reference)")
    args = parser.parse_args(argv)
    wall0 = time.perf_counter()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    tiny = not cuda
    torch.backends.cuda.matmul.allow_tf32 = True
    results: dict = {
        "command": " ".join(["cosmos3_gpu_fast.py", *(argv if argv is not None else sys.argv[1:])]),
        "device": torch.cuda.get_device_name(device) if cuda else "cpu (tiny config)",
        "torch": torch.__version__, "diffusers": __import__("diffusers").__version__, "rows": {},
    }  # fmt: skip

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))

    results["bf16_matmul_peak_tflops"] = measure_matmul_peak(device)
    t0 = time.perf_counter()
    pipe = build_pipeline(tiny, device, torch.bfloat16)
    results["build_s"] = time.perf_counter() - t0
    pipe.set_progress_bar_config(disable=True)
    print(f"{results['device']}: built in {results['build_s']:.1f} s", flush=True)

    cpu_safe = dict(attention_backend="default", compile_blocks=False) if not cuda else {}
    default = AccelerationConfig(**cpu_safe)
    kept = replace(default, fp8=True, cuda_graphs=True, vae_channels_last=True, compile_vae_norms=True,
                   one_pass_reductions=cuda)  # one_pass tunes compiled kernels: there are none on the CPU dry run
    fd_configs = {  # key: (label, config)
        "default": ("default (bf16)", default),
        "graphs": ("+ cuda_graphs", replace(default, cuda_graphs=True)),
        "fp8": ("+ fp8", replace(default, fp8=True)),
        "fp8_graphs": ("+ fp8 + cuda_graphs", replace(default, fp8=True, cuda_graphs=True)),
        "fp8_graphs_vae_cl": ("+ fp8 + cuda_graphs + vae_channels_last",
                              replace(default, fp8=True, cuda_graphs=True, vae_channels_last=True)),
        "fp8_graphs_vae": ("+ fp8 + cuda_graphs + vae_channels_last + compile_vae_norms",
                           replace(kept, one_pass_reductions=False)),
        "kept": ("+ fp8 + cuda_graphs + vae_channels_last + compile_vae_norms + one_pass_reductions", kept),
        "kept_no_text_cache": ("kept levers, text K/V recomputed every call (as before 2026-12-03)",
                               replace(kept, text_kv_reuse=False)),
        "kept_glue": ("kept levers + compile_vae_glue", replace(kept, compile_vae_glue=True)),
    }  # fmt: skip
    unknown = set(args.fd_rows or ()) - set(fd_configs)
    if unknown:
        parser.error(f"--fd-rows: expected some of {list(fd_configs)}, got unknown {sorted(unknown)}")
    configs = {key: fd_configs[key] for key in fd_configs if not args.fd_rows or key in args.fd_rows}
    fd_task = tasks(tiny)[0]
    fd_request = make_world_model_request(fd_task)

    def timed(backend, request, reps: int):
        """Warm-up call (compile, capture), then ``reps`` timed calls; (median s, all s, peak GiB, last output)."""
        request = backend._checked(request)
        t = time.perf_counter()
        backend._generate(request)
        first = time.perf_counter() - t
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        walls, out = [], None
        for _ in range(reps):
            t = time.perf_counter()
            out = backend._generate(request)  # synchronises before returning
            walls.append(time.perf_counter() - t)
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
        if cuda:  # how often one call makes the host wait for the GPU
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                torch.cuda.set_sync_debug_mode("warn")
                try:
                    backend._generate(request)
                finally:
                    torch.cuda.set_sync_debug_mode("default")
            out.extras["host_syncs"] = sum("synchroniz" in str(w.message) for w in caught)
        return statistics.median(walls), walls, peak, first, out

    def release(backend) -> None:
        """Drop a backend's graphs, FP8 weights and cached K/V before the next row measures its peak."""
        backend._sampler = backend.acceleration = None
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()

    def over_budget(label: str) -> bool:
        if time.perf_counter() - wall0 > args.budget_s:
            results.setdefault("skipped", []).append(label)
            print(f"skip {label}: over the {args.budget_s:.0f} s budget", flush=True)
            return True
        return False

    def row(label: str, config: AccelerationConfig, request: WorldModelRequest, reference=None):
        backend = Cosmos3DiffusersBackend(pipe, acceleration=config, progress=False)
        steps = backend._checked(request).num_inference_steps
        try:
            median, walls, peak, first, out = timed(backend, request, args.reps)
            graphs = backend._sampler.graphs if backend._sampler is not None else None
        finally:
            backend.acceleration.remove()
            release(backend)
        entry = {"config": asdict(config), "total_s": median, "calls_s": walls, "first_call_s": first,
                 "peak_gib": peak, "timings": out.timings, **step_time(out, steps),
                 "host_syncs_per_call": out.extras.get("host_syncs")}  # fmt: skip
        if graphs is not None and graphs.enabled:
            entry["graphs"] = {"captured": graphs.captures, "eager_fallbacks": graphs.failures}
        if reference is not None:
            if out.frames is not None and reference.frames is not None:
                entry["deviation_video"] = video_deviation(reference.frames, out.frames)
            if out.actions is not None:
                entry["deviation_actions"] = action_deviation(reference.actions, out.actions)
        print(f"  {label:<44} {median:.3f} s (first {first:.1f} s) step {entry['step_ms']:.1f} ms "
              f"peak {peak and round(peak, 1)} GiB {entry.get('deviation_video', entry.get('deviation_actions', ''))}",
              flush=True)  # fmt: skip
        return entry, out

    print(f"DROID FD: chunk {fd_task.chunk}, {fd_task.steps} steps", flush=True)
    fd_rows, reference = {}, None
    for label, config in configs.values() if "fd" in args.sections else ():
        if over_budget(f"fd {label}"):
            break
        try:
            fd_rows[label], out = row(label, config, fd_request, reference)
        except Exception as error:  # a lever that fails here is reported, not fatal
            fd_rows[label] = {"error": f"{type(error).__name__}: {error}"}
            print(f"  {label}: {fd_rows[label]['error']}", flush=True)
            continue
        reference = reference or out
        results["rows"]["droid_fd_30_steps"] = fd_rows
        save()

    print("Policy-DROID: 32x8 chunk, 4 steps, guidance 3, flow shift 5", flush=True)
    policy_rows, policy_ref = {}, {}
    pairs = (("default (bf16)", default), ("kept levers", kept))
    for label, config in pairs if "policy" in args.sections else ():
        for decode in (False, True):
            name = f"{label}, {'with' if decode else 'no'} decode"
            if over_budget(f"policy {name}"):
                continue
            try:
                policy_rows[name], out = row(name, config, policy_request(tiny, decode), policy_ref.get(decode))
            except Exception as error:
                policy_rows[name] = {"error": f"{type(error).__name__}: {error}"}
                print(f"  {name}: {policy_rows[name]['error']}", flush=True)
                continue
            policy_ref.setdefault(decode, out)
            results["rows"]["policy_droid_chunk"] = policy_rows
            save()

    print("Batched DROID FD (generate_batch vs one-by-one generate)", flush=True)
    batch_rows = {}
    for label, config in pairs if "batch" in args.sections else ():
        backend = Cosmos3DiffusersBackend(pipe, acceleration=config, progress=False)
        try:
            for size in args.batches:
                if over_budget(f"batch {label} {size}"):
                    break
                requests = [replace(fd_request, seed=s) for s in range(size)]
                backend.generate_batch(requests)  # warm-up: compile / capture this batch shape
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                t = time.perf_counter()
                batched = backend.generate_batch(requests)
                batch_s = time.perf_counter() - t
                peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
                t = time.perf_counter()
                one_by_one = [backend.generate(r) for r in requests]
                seq_s = time.perf_counter() - t
                dev = video_deviation(np.stack([r.frames for r in one_by_one]), np.stack([r.frames for r in batched]))
                batch_rows.setdefault(label, {})[str(size)] = {
                    "batch_s": batch_s, "requests_per_s": size / batch_s, "sequential_s": seq_s,
                    "sequential_requests_per_s": size / seq_s, "ratio_vs_sequential": seq_s / batch_s,
                    "peak_gib": peak, "deviation_batched_vs_one_by_one": dev,
                }  # fmt: skip
                print(f"  {label} batch {size}: {size / batch_s:.3f} req/s vs {size / seq_s:.3f} one by one "
                      f"({seq_s / batch_s:.2f}x), peak {peak and round(peak, 1)} GiB, {dev}", flush=True)  # fmt: skip
                results["rows"]["batched_fd"] = batch_rows
                save()
        except Exception as error:
            batch_rows.setdefault(label, {})["error"] = f"{type(error).__name__}: {error}"
            print(f"  batch {label}: {batch_rows[label]['error']}", flush=True)
        finally:
            backend.acceleration.remove()
            release(backend)
        results["rows"]["batched_fd"] = batch_rows
        save()

    if args.profile and not over_budget("profile"):  # where a denoising step's time goes (FP8, eager)
        profiled = replace(default, fp8=True, one_pass_reductions=cuda)
        backend = Cosmos3DiffusersBackend(pipe, acceleration=profiled, progress=False)
        try:
            request = backend._checked(fd_request)
            backend._set_flow_shift(request.flow_shift)
            layout, sample = backend._prepare(request)
            backend.sampler.denoise(layout, [sample], 3, 1.0)
            activities = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if cuda else [])
            with torch.profiler.profile(activities=activities) as prof:
                backend.sampler.denoise(layout, [sample], 3, 1.0)
            table = prof.key_averages().table(sort_by="self_cuda_time_total" if cuda else "self_cpu_time_total",
                                              row_limit=40)  # fmt: skip
            title = f"3 denoising steps, no graphs, fp8=True, one_pass_reductions={profiled.one_pass_reductions}\n"
            args.out.with_suffix(".profile.txt").write_text(title + table)
            args.out.with_suffix(".prepare.txt").write_text(profile_prepare(backend, request, layout))
        except Exception as error:
            print(f"  profile failed: {type(error).__name__}: {error}", flush=True)
        finally:
            backend.acceleration.remove()
            release(backend)

    if "public" in args.sections and not over_budget("diffusers public APIs"):  # last: changes the pipeline for good
        results["rows"]["diffusers_public_apis"] = public_api_row(pipe, fd_request, timed, args.reps, reference)
        save()
    results["wall_s"] = time.perf_counter() - wall0
    save()
    print(f"wrote {args.out} ({results['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
