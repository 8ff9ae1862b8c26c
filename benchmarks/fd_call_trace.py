"""Where one accelerated DROID FD call spends its wall time outside the denoising graph (issue 15).

After runs 9-10 the 30-step loop is one CUDA graph (~0.94 s) and the call is ~1.22 s: the rest is the preparation
(~0.05 s: host preprocessing, tokenizing, the first-frame VAE encode, host syncs), the VAE decode (~0.22 s) and
what the backend does around them. This script times warm calls of the backend with the kept levers plus
``compile_vae_glue`` and records one of them in ``torch.profiler`` (CPU + CUDA, input shapes), writing

* ``<out>`` (JSON): wall medians per phase, the host time of each top-level step of the preparation (timed with a
  synchronisation on both sides), and the GPU idle time inside the call;
* ``<out>.trace.json.gz``: the Chrome trace of the profiled call (open in Perfetto);
* ``<out>.ops.txt``: aten ops by self CUDA time grouped by input shape (which op launches which kernel).

Usage (GPU): ``python benchmarks/fd_call_trace.py --out benchmarks/results/fd_call_trace.json``; on a CPU it runs
the tiny configuration as a dry run.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cosmos3_gpu import build_pipeline, make_world_model_request, tasks  # noqa: E402

from cosmos_robotics.world_models.cosmos3 import sampler  # noqa: E402
from cosmos_robotics.world_models.cosmos3.acceleration import AccelerationConfig  # noqa: E402
from cosmos_robotics.world_models.cosmos3.diffusers_backend import Cosmos3DiffusersBackend  # noqa: E402


def timed_pieces(pipe, sync) -> tuple[dict[str, list[float]], list]:
    """Wrap the preparation's steps so each call records its synchronised wall time; returns (times, undo)."""
    times: dict[str, list[float]] = {}
    undo = []

    def wrap(owner, name: str, label: str) -> None:
        plain = getattr(owner, name)

        @functools.wraps(plain)
        def timed(*args, **kwargs):
            sync()
            start = time.perf_counter()
            try:
                return plain(*args, **kwargs)
            finally:
                sync()
                times.setdefault(label, []).append(time.perf_counter() - start)

        setattr(owner, name, timed)
        undo.append(lambda: setattr(owner, name, plain))

    wrap(pipe.video_processor, "preprocess_video", "preprocess_video (host)")
    wrap(pipe, "_prepare_action_video_conditioning", "action video conditioning (incl. preprocess)")
    wrap(pipe, "_encode_video", "VAE encode")
    wrap(pipe, "prepare_latents", "prepare_latents (all of the above + noise)")
    wrap(pipe, "tokenize_prompt", "tokenize_prompt")
    wrap(pipe, "_get_execution_device", "_get_execution_device")
    wrap(sampler, "make_branch", "make_branch")
    return times, undo


def gpu_idle_s(events) -> float | None:
    """Wall time inside the profiled window during which no CUDA kernel or copy ran."""
    spans = sorted((e.time_range.start, e.time_range.end) for e in events if e.device_type == torch.autograd.DeviceType.CUDA)
    if not spans:
        return None
    idle, end = 0.0, spans[0][0]
    for start, stop in spans:
        if start > end:
            idle += start - end
        end = max(end, stop)
    return idle / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads for the process (default: torch's "
                        "choice, one per core): the preparation's host-side tensor ops run on these")  # fmt: skip
    args = parser.parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    pipe = build_pipeline(not cuda, device, torch.bfloat16)
    pipe.set_progress_bar_config(disable=True)
    if cuda:
        config = AccelerationConfig(fp8=True, cuda_graphs=True, vae_channels_last=True, compile_vae_norms=True,
                                    one_pass_reductions=True, compile_vae_glue=True)  # fmt: skip
    else:
        config = AccelerationConfig(attention_backend="default", compile_blocks=False)
    backend = Cosmos3DiffusersBackend(pipe, acceleration=config, progress=False)
    request = backend._checked(make_world_model_request(tasks(not cuda)[0]))
    results = {"command": " ".join(["fd_call_trace.py", *(argv if argv is not None else sys.argv[1:])]),
               "device": torch.cuda.get_device_name() if cuda else "cpu (tiny config)", "torch": torch.__version__,
               "torch_threads": torch.get_num_threads(), "config": asdict(config)}  # fmt: skip
    for _ in range(2):
        backend._generate(request)
    walls, outs = [], []
    for _ in range(args.reps):
        start = time.perf_counter()
        outs.append(backend._generate(request))
        walls.append(time.perf_counter() - start)
    results["call_s"] = {"median": statistics.median(walls), "calls": walls}
    results["phases_s"] = {k: statistics.median(o.timings[k] for o in outs) for k in outs[0].timings}
    results["outside_pipeline_s"] = statistics.median(w - o.timings["pipeline_s"] for w, o in zip(walls, outs, strict=True))

    times, undo = timed_pieces(pipe, sync)
    for _ in range(args.reps):
        backend._generate(request)
    for restore in undo:
        restore()
    results["prepare_pieces_s"] = {k: statistics.median(v) for k, v in times.items()}
    results["prepare_pieces_calls_per_call"] = {k: len(v) // args.reps for k, v in times.items()}

    activities = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if cuda else [])
    with torch.profiler.profile(activities=activities, record_shapes=True) as prof:
        start = time.perf_counter()
        backend._generate(request)
        results["profiled_call_s"] = time.perf_counter() - start
    results["gpu_idle_in_profiled_call_s"] = gpu_idle_s(prof.events())
    trace = args.out.with_suffix(".trace.json")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    prof.export_chrome_trace(str(trace))
    with open(trace, "rb") as raw, gzip.open(f"{trace}.gz", "wb") as packed:
        shutil.copyfileobj(raw, packed)
    trace.unlink()
    sort = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    args.out.with_suffix(".ops.txt").write_text(
        prof.key_averages(group_by_input_shape=True).table(sort_by=sort, row_limit=60, max_name_column_width=60,
                                                           max_shapes_column_width=90))  # fmt: skip
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "config"}, indent=1), flush=True)
    if backend.acceleration is not None:
        backend.acceleration.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
