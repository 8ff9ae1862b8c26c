"""How the embedded model runs on the machine it finds: the CPU's features and the inference path picked for them.

Paths (all run the same weights; quality of each: ``benchmarks/results/embedded_eval_cpu_paths.json``):

* ``bfloat16``: the network cast to bfloat16, only where the CPU has native bfloat16 arithmetic (AVX512-BF16 /
  AMX) *and* PyTorch and oneDNN may use it: where they are capped (``ATEN_CPU_CAPABILITY=avx2``,
  ``ONEDNN_MAX_CPU_ISA=AVX2``, i.e. an AVX2-only CPU or its emulation), bfloat16 is emulated and ~20x slower;
* ``float32_channels_last``: float32 with the weights in channels-last layout (the activations already come in
  that layout from the uint8 frames), what every other CPU gets;
* ``float32``: float32, default layout (GPUs).

``torch.compile`` (inductor) is measured too (``benchmarks/embedded_speed.py``) but not picked automatically: it
compiles for 20-50 s on 2 cores, again for every new input shape; ``benchmarks/README.md`` also says why int8,
ONNX Runtime and OpenVINO are not used.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.world_models.embedded.model import EmbeddedNet

# oneDNN ISA levels from low to high (``ONEDNN_MAX_CPU_ISA`` values); bfloat16 is native from AVX512_CORE_BF16 on.
_ONEDNN_ISAS = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
                "AVX512_CORE_BF16", "AVX10_1_512", "AVX512_CORE_FP16", "AVX10_1_512_AMX", "AVX512_CORE_AMX",
                "AVX10_1_512_AMX_FP16", "AVX512_CORE_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2")

# /proc/cpuinfo flags a CPU figure is reported with: what decides the fast path here
REPORTED_FLAGS = ("avx2", "fma", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


@dataclass(frozen=True)
class InferencePath:
    name: str
    dtype: torch.dtype
    channels_last: bool


PATHS = {
    "bfloat16": InferencePath("bfloat16", torch.bfloat16, False),
    "float32_channels_last": InferencePath("float32_channels_last", torch.float32, True),
    "float32": InferencePath("float32", torch.float32, False),
}


def onednn_allows_bfloat16() -> bool:
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "ALL").upper()
    return cap not in _ONEDNN_ISAS or _ONEDNN_ISAS.index(cap) >= _ONEDNN_ISAS.index("AVX512_CORE_BF16")


def native_bfloat16() -> bool:
    """True where bfloat16 convolutions and matmuls run natively (not emulated) in this process."""
    return (torch.cpu._is_avx512_bf16_supported()  # the CPU has it (also true with AMX)
            and torch.backends.cpu.get_cpu_capability() not in ("DEFAULT", "AVX2")  # ATen may use AVX-512
            and onednn_allows_bfloat16())


def _cpuinfo(field: str) -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((x.partition(":")[2].strip() for x in lines if x.startswith(field)), "")


def cpu_features() -> dict:
    """The CPU this process runs on, as a speed figure beside it needs naming: model, the vector / matrix flags that
    decide the path, the ISA PyTorch dispatches to and whether bfloat16 is native here."""
    flags = set(_cpuinfo("flags").split())
    return {"model": _cpuinfo("model name") or platform.processor() or platform.machine(),
            "flags": {f: f in flags for f in REPORTED_FLAGS},
            "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "native_bfloat16_in_this_process": native_bfloat16()}


def choose_path(precision: str, device: torch.device) -> InferencePath:
    """``auto``: the fastest path within the quality bar here (bfloat16 where native, else float32 channels-last on
    a CPU); ``float32`` / ``bfloat16`` force the precision (CPU float32 still uses the channels-last layout)."""
    cpu = device.type == "cpu"
    if precision == "auto":
        return PATHS["bfloat16" if cpu and native_bfloat16() else "float32_channels_last" if cpu else "float32"]
    if precision == "float32":
        return PATHS["float32_channels_last" if cpu else "float32"]
    if precision == "bfloat16":
        return PATHS["bfloat16"]
    raise CosmosRoboticsError(f"embedded model precision: expected auto, bfloat16 or float32, got {precision!r}")


def prepare(model: EmbeddedNet, path: InferencePath) -> EmbeddedNet:
    """``model`` set up for ``path`` (in place)."""
    model.cast(path.dtype)
    return model.to(memory_format=torch.channels_last) if path.channels_last else model
