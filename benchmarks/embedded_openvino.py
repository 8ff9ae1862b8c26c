"""OpenVINO's CPU runtime for the embedded forward dynamics (issue 14): is it faster than PyTorch on these cores?

The lever: ``openvino.convert_model`` of the float32 ``forward_dynamics`` (the same module ``embedded_int8.py``
exports), compiled for the CPU at float32 precision (``INFERENCE_PRECISION_HINT=f32``: OpenVINO would otherwise run
bfloat16 on a CPU that has it), latency hint, one stream, ``--threads`` threads. Measured side by side in one
process at batch 1, interleaved rounds: the float32 channels-last path (what ``auto`` runs on a CPU without native
bfloat16) against the compiled OpenVINO model; the largest difference of their frames; and where OpenVINO's time
goes (its per-node profile, summed per kernel type: ``jit_avx2`` / ``brgconv_avx2`` are AVX2 kernels, ``ref`` are
reference C++ loops).

OpenVINO is not a dependency of the project (nothing ships this path); install it beside the venv to measure:

    .venv/bin/pip install --no-deps --target /tmp/ov openvino==2026.4.1 openvino-telemetry==2025.2.0
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 PYTHONPATH=/tmp/ov \\
        .venv/bin/python benchmarks/embedded_openvino.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import openvino as ov
import torch
from embedded_int8 import ForwardDynamics  # benchmarks/embedded_int8.py
from embedded_speed import inputs, interleaved  # benchmarks/embedded_speed.py
from machine import cpu_report, idleness  # benchmarks/machine.py

from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from cosmos_robotics.world_models.embedded.runtime import PATHS, prepare

RESULT = Path(__file__).parent / "results" / "embedded_openvino.json"


def kernel_time(request: ov.InferRequest) -> dict[str, dict]:
    """OpenVINO's profile of the last inference, summed per kernel type (ms, node count), largest first."""
    totals: dict[str, list] = {}
    for node in request.profiling_info:
        entry = totals.setdefault(node.exec_type, [0.0, 0])
        entry[0] += node.real_time.total_seconds() * 1000
        entry[1] += 1
    return {kind: {"ms": round(ms, 1), "nodes": n} for kind, (ms, n) in sorted(totals.items(), key=lambda kv: -kv[1][0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds at batch 1")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result: dict = {"threads": args.threads, "cpu": cpu_report(), "torch": torch.__version__,
                    "openvino": ov.get_version(), "idle_start": idleness()}
    example = inputs(1, torch.Generator().manual_seed(0))
    plain = tuple(t.contiguous() for t in example)  # OpenVINO takes default-layout arrays
    fd = ForwardDynamics(prepare(load_checkpoint(DEFAULT_WEIGHTS), PATHS["float32"])).eval()
    start = time.perf_counter()
    with torch.no_grad():
        converted = ov.convert_model(fd, example_input=plain)
    core = ov.Core()
    compiled = core.compile_model(converted, "CPU", {
        "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": "YES"})
    result["convert_and_compile_s"] = round(time.perf_counter() - start, 1)
    result["openvino_cpu_capabilities"] = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    request = compiled.create_infer_request()
    arrays = [t.numpy() for t in plain]
    auto = prepare(load_checkpoint(DEFAULT_WEIGHTS), PATHS["float32_channels_last"])
    with torch.inference_mode():
        reference = auto.forward_dynamics(*example)["frames"].numpy()
        result["max_abs_frame_difference"] = float(np.abs(request.infer(arrays)[0] - reference).max())
        result["fd_batch1"] = interleaved({"float32_channels_last": lambda: auto.forward_dynamics(*example),
                                           "openvino_f32": lambda: request.infer(arrays)}, args.rounds)
    result["ratio_openvino_to_torch"] = round(result["fd_batch1"]["float32_channels_last"]["median_ms"]
                                              / result["fd_batch1"]["openvino_f32"]["median_ms"], 2)
    result["openvino_kernels"] = kernel_time(request)
    result["idle_end"] = idleness()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "cpu"}, indent=1))


if __name__ == "__main__":
    main()
