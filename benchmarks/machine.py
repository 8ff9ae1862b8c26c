"""What the benchmarks share: what they record beside their figures (the CPU model, flags, the ISA PyTorch uses,
the AVX2 emulation variables, how idle the shared machine was) and the best-of-N timer."""

from __future__ import annotations

import os
import time
from pathlib import Path

EMULATION_VARS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "LP_NATIVE_VECTOR_WIDTH", "LP_NUM_THREADS")


def cpu_report() -> dict:
    """Imports torch (for the ISA it dispatches to): call it outside timed sections."""
    import torch

    from cosmos_robotics.world_models.embedded.runtime import cpu_features

    return {**cpu_features(), "emulation_env": {v: os.environ.get(v) for v in EMULATION_VARS},
            "logical_cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}


def cpu_idle_share(seconds: float = 1.0) -> float:
    """Share of the machine's CPU time that was idle over ``seconds`` (other jobs share the cores)."""
    def sample():
        fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)
    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return round((idle1 - idle0) / max(total1 - total0, 1.0), 3)


def idleness() -> dict:
    return {"load_avg_1min": round(os.getloadavg()[0], 2), "cpu_idle_share_1s": cpu_idle_share()}


def best_of(fn, repeats: int) -> float:
    """The fastest of ``repeats`` calls of ``fn`` (seconds): the least disturbed by other work on the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cuda_mean_ms(fn, reps: int, warmup: int = 3) -> float:
    """Mean device time of ``fn()`` over ``reps`` back-to-back calls, between two CUDA events (one sync)."""
    import torch

    for _ in range(warmup):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / reps
