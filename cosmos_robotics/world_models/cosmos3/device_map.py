"""The Cosmos 3 transformer split over several devices: whole decoder layers per device, activations handed on at
layer boundaries by accelerate's hooks (the big-model dispatch diffusers' ``from_pretrained(device_map=...)`` uses).

Why this lever: Cosmos3-Super's transformer has 64 B parameters (~119 GiB in bf16), which leaves little of one H200
for the rest and does not fit an 80 GB GPU. What diffusers 0.42.1 offers across GPUs, checked against
``Cosmos3OmniTransformer``:

* ``enable_parallelism(ContextParallelConfig | TensorParallelConfig)`` needs the model's ``_cp_plan`` /
  ``_tp_plan``; Cosmos 3 defines neither (its context-parallel seams ``_cp_shard_fn`` / ``_cp_gather_fn`` need a
  helper that diffusers keeps in its examples, not in the package);
* a pipeline ``device_map="balanced"`` places whole components: the transformer still sits on one GPU;
* ``enable_group_offload`` streams blocks from host memory to one GPU: it fits, slowly.

What remains is the layer-wise dispatch. The devices then work one after the other (no micro-batches): the split buys
memory, not speed, and each boundary moves one layer's activations (tokens x hidden x 2 bytes) to the next device.

The plan is ours, not accelerate's ``infer_auto_device_map``: that one places the embeddings, projections, action
heads and ``action_modality_embed`` wherever bytes fall, but the transformer's forward mixes their outputs with raw
tensor ops (``hidden_states[idx] = proj_in(...)``, ``+ self.action_modality_embed``) that hooks do not move. So
every module but the decoder layers stays on the first device (the execution device, where the pipeline's latents
and the VAE live), and the layers are cut into contiguous runs that balance the bytes per device.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cosmos_robotics.errors import InsufficientGpuMemoryError

GIB = 2**30
RESERVE_GIB = 6.0  # left free on each device: activations, the VAE and its decode (first device), allocator slack


@dataclass(frozen=True)
class TransformerSplit:
    """Where each top-level module of the transformer lives (``device_map`` for accelerate / diffusers)."""

    devices: tuple[str, ...]
    device_map: dict[str, str]
    bytes_per_device: tuple[int, ...]
    layers_per_device: tuple[int, ...]

    def to_json(self) -> dict:
        return {"devices": list(self.devices), "layers_per_device": list(self.layers_per_device),
                "weights_gib_per_device": [round(b / GIB, 3) for b in self.bytes_per_device]}


def resolve_devices(devices: int | Sequence[str | int | torch.device]) -> tuple[str, ...]:
    """``N`` -> the first N CUDA devices; a sequence is taken as given (``"cpu"`` may repeat: tests, dry runs)."""
    if isinstance(devices, int):
        if devices < 1:
            raise ValueError(f"devices: expected >= 1, got {devices}")
        available = torch.cuda.device_count()
        if devices > available:
            raise InsufficientGpuMemoryError(f"devices={devices}: expected that many CUDA devices, this process sees "
                                             f"{available}")
        return tuple(f"cuda:{i}" for i in range(devices))
    names = tuple(str(torch.device(d)) for d in devices)
    if not names:
        raise ValueError("devices: expected at least one device, got none")
    return names


def _module_bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


def plan_split(transformer, devices: Sequence[str], budgets_bytes: Sequence[float] | None = None,
               reserve_gib: float = RESERVE_GIB) -> TransformerSplit:
    """Contiguous runs of decoder layers per device, balanced by bytes with everything else on ``devices[0]``.

    Works on a meta-device model (sizes only). ``budgets_bytes``: memory each device may hold (default: the free
    memory of CUDA devices; none for CPU devices); a device whose share plus ``reserve_gib`` exceeds it raises
    :class:`InsufficientGpuMemoryError` before anything is loaded."""
    devices = tuple(devices)
    layers = list(transformer.layers)
    layer_bytes = [_module_bytes(layer) for layer in layers]
    total = _module_bytes(transformer)
    fixed = total - sum(layer_bytes)
    device_map = {name: devices[0] for name, _ in transformer.named_children() if name != "layers"}
    device_map.update({name: devices[0] for name, _ in transformer.named_parameters(recurse=False)})
    device_map.update({name: devices[0] for name, _ in transformer.named_buffers(recurse=False)})
    loads, counts = [0] * len(devices), [0] * len(devices)
    loads[0], filled = fixed, fixed
    for i, size in enumerate(layer_bytes):  # a layer goes to the device its byte midpoint falls on
        k = min(len(devices) - 1, int((filled + size / 2) * len(devices) / total))
        device_map[f"layers.{i}"] = devices[k]
        loads[k] += size
        counts[k] += 1
        filled += size
    if budgets_bytes is None:
        budgets_bytes = [torch.cuda.mem_get_info(torch.device(d))[0] if torch.device(d).type == "cuda" else None
                         for d in devices]  # fmt: skip
    for device, load, budget in zip(devices, loads, budgets_bytes, strict=True):
        if budget is not None and load + reserve_gib * GIB > budget:
            raise InsufficientGpuMemoryError(
                f"transformer split over {len(devices)} device(s): {device} would hold {load / GIB:.1f} GiB of "
                f"weights + {reserve_gib:g} GiB reserve, but has {budget / GIB:.1f} GiB. Nothing was loaded. Use "
                f"more devices, or FP8 weight storage (`cosmos-robotics checkpoints --check` lists what fits)")
    return TransformerSplit(devices, device_map, tuple(loads), tuple(counts))


@contextlib.contextmanager
def parameter_keys_allowed():
    """Accelerate's own maps name top-level parameters (``action_modality_embed``) and its checker then warns that
    they are no submodules; it places them all the same."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The following device_map keys do not match any submodules")
        yield


def dispatch_split(transformer, split: TransformerSplit):
    """Move each module to its device and hook it (inputs follow the layer; the output returns to ``devices[0]``).
    Idempotent: a transformer loaded with ``device_map=split.device_map`` is re-hooked with the right main device."""
    from accelerate import dispatch_model
    from accelerate.hooks import remove_hook_from_module

    with parameter_keys_allowed():
        dispatched = dispatch_model(transformer, device_map=split.device_map, main_device=split.devices[0],
                                    force_hooks=True)
    # One hook per layer is enough (a layer's weights all sit on its device); hooks on its submodules would only
    # re-check devices, and they are compile-disabled, so ``torch.compile(fullgraph=True)`` of the layer body fails.
    for layer in dispatched.layers:
        for module in layer.modules():
            if module is not layer and hasattr(module, "_hf_hook"):
                remove_hook_from_module(module)
    return dispatched


def transformer_devices(transformer) -> set[torch.device]:
    """Where the transformer's weights are (several devices: it is split)."""
    return {p.device for p in transformer.parameters()}
