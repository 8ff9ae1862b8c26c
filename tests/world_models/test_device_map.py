"""The transformer split over several devices (``devices=``): the tiny checkpoint split over two CPU "devices"
through the real loader and accelerate's hooks gives the single-device numbers, with and without our levers; the
plan for the full-size Cosmos3-Super architecture (built on the meta device) over 1 / 2 / 4 H200s."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cosmos_robotics.errors import InsufficientGpuMemoryError, UnsupportedModeError
from cosmos_robotics.world_models.cosmos3.acceleration import AccelerationConfig
from cosmos_robotics.world_models.cosmos3.architecture import SUPER
from cosmos_robotics.world_models.cosmos3.device_map import GIB, plan_split
from cosmos_robotics.world_models.cosmos3.diffusers_backend import Cosmos3DiffusersBackend
from cosmos_robotics.world_models.cosmos3.tiny_checkpoint import TINY_ACTION_TARGETS

STEPS = 2
CPU_LEVERS = AccelerationConfig(attention_backend="default", compile_blocks=False)  # text K/V reuse, fused projections


def _calls(backend):
    """DROID forward dynamics (video) and UMI inverse dynamics (actions) on fixed random inputs."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, size=(135, 160, 3), dtype=np.uint8)
    actions = rng.uniform(-0.5, 0.5, size=(4, 10)).astype(np.float32)
    video = rng.integers(0, 256, size=(5, 64, 64, 3), dtype=np.uint8)
    fd = backend.forward_dynamics(frame, actions, embodiment="droid", seed=3, num_inference_steps=STEPS)
    inverse = backend.inverse_dynamics(video, embodiment="umi", chunk_size=4, seed=3, num_inference_steps=STEPS,
                                       decode_video=False)
    return fd.frames, inverse.actions


@pytest.fixture(scope="module")
def single(tiny_checkpoint_dir):
    return Cosmos3DiffusersBackend.from_pretrained(tiny_checkpoint_dir, device="cpu", acceleration=None, progress=False)


@pytest.fixture(scope="module")
def split(tiny_checkpoint_dir):
    return Cosmos3DiffusersBackend.from_pretrained(tiny_checkpoint_dir, devices=["cpu", "cpu"], acceleration=None,
                                                   progress=False)


def _hooked_layers(backend) -> list:
    return [layer for layer in backend.pipe.transformer.layers if hasattr(layer, "_hf_hook")]


def test_split_loads_through_hooks_and_gives_the_single_device_numbers(single, split):
    transformer = split.pipe.transformer
    assert len(_hooked_layers(split)) == len(transformer.layers) and hasattr(transformer, "_hf_hook")
    assert str(transformer._hf_hook.execution_device) == "cpu"  # the main device: latents and VAE live there
    # Hooks stop at the layer: a hooked submodule is a graph break that fails the fullgraph-compiled layer body
    # (seen on an H200 with compile_blocks before the submodule hooks were removed).
    assert not [name for layer in transformer.layers for name, module in layer.named_modules()
                if name and hasattr(module, "_hf_hook")]
    frames, actions = _calls(split)
    reference_frames, reference_actions = _calls(single)
    np.testing.assert_array_equal(frames, reference_frames)
    np.testing.assert_array_equal(actions, reference_actions)
    np.testing.assert_allclose(actions, np.tile(TINY_ACTION_TARGETS["umi"], (4, 1)), atol=3e-3)


def test_levers_run_inside_the_hooks_and_undo_cleanly(single, split):
    from cosmos_robotics.world_models.cosmos3.acceleration import apply_acceleration

    calls = []
    for layer in _hooked_layers(split):  # spy on the hooks: each layer's inputs still go through them
        pre = layer._hf_hook.pre_forward
        layer._hf_hook.pre_forward = lambda module, *a, pre=pre, **k: (calls.append(module), pre(module, *a, **k))[1]
    plain = [layer._old_forward for layer in split.pipe.transformer.layers]
    split_levers, single_levers = apply_acceleration(split.pipe, CPU_LEVERS), apply_acceleration(single.pipe, CPU_LEVERS)
    try:
        frames, actions = _calls(split)
        reference_frames, reference_actions = _calls(single)
        assert split_levers.text_cache.hits > 0 and len(calls) > 0  # the levers ran, inside the hooks
    finally:
        split_levers.remove()
        single_levers.remove()
    np.testing.assert_array_equal(frames, reference_frames)
    np.testing.assert_array_equal(actions, reference_actions)
    assert [layer._old_forward for layer in split.pipe.transformer.layers] == plain
    transformer = split.pipe.transformer
    transformer.elsewhere = torch.nn.Parameter(torch.empty(1, device="meta"))  # a second device (CPU has one)
    try:
        with pytest.raises(UnsupportedModeError, match=r"cuda_graphs: expected the transformer on one device"):
            apply_acceleration(split.pipe, AccelerationConfig(cuda_graphs=True, attention_backend="default",
                                                              compile_blocks=False))
    finally:
        del transformer.elsewhere


@pytest.fixture(scope="module")
def super_on_meta():
    from diffusers.models.transformers.transformer_cosmos3 import Cosmos3OmniTransformer

    with torch.device("meta"):
        transformer = Cosmos3OmniTransformer(**SUPER.transformer_kwargs()).to(torch.bfloat16)
    transformer.time_embedder.float()
    return transformer


@pytest.mark.parametrize("gpus", [1, 2, 4])
def test_super_plan_balances_whole_layers_over_h200s(super_on_meta, gpus):
    devices = [f"cuda:{i}" for i in range(gpus)]
    plan = plan_split(super_on_meta, devices, budgets_bytes=[139 * GIB] * gpus)
    layer_bytes = sum(p.numel() * 2 for p in super_on_meta.layers[0].parameters())
    assert sum(plan.layers_per_device) == SUPER.tower.layers == 64
    tensors = [*super_on_meta.parameters(), *super_on_meta.buffers()]
    assert sum(plan.bytes_per_device) == sum(t.numel() * t.element_size() for t in tensors)
    order = [int(plan.device_map[f"layers.{i}"][5:]) for i in range(64)]
    assert order == sorted(order) and set(order) == set(range(gpus))  # contiguous runs, every device used
    assert max(plan.bytes_per_device) - min(plan.bytes_per_device) <= 2 * layer_bytes  # balanced to a layer
    assert all(d == "cuda:0" for name, d in plan.device_map.items() if not name.startswith("layers."))
    assert max(plan.bytes_per_device) / GIB == pytest.approx(119.2 / gpus, rel=0.06)


def test_super_plan_refuses_what_does_not_fit(super_on_meta):
    with pytest.raises(InsufficientGpuMemoryError, match=r"cuda:0 would hold 119\.\d GiB of weights"):
        plan_split(super_on_meta, ["cuda:0"], budgets_bytes=[80 * GIB])
    plan_split(super_on_meta, ["cuda:0", "cuda:1"], budgets_bytes=[80 * GIB] * 2)  # two of them do
