"""The embedded model's inference paths: exact rewrites of the frame path, and the automatic choice per CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import torch
import torch.nn.functional as F

from cosmos_robotics.world_models.embedded.checkpoint import load_checkpoint
from cosmos_robotics.world_models.embedded.config import ModelConfig
from cosmos_robotics.world_models.embedded.model import EmbeddedNet, upsampled_conv
from cosmos_robotics.world_models.embedded.runtime import PATHS, prepare


def test_upsampled_conv_equals_a_convolution_of_the_nearest_upsampled_input():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, 6, 9, generator=gen, dtype=torch.float64)
    w = torch.randn(4, 7, 3, 3, generator=gen, dtype=torch.float64)
    expected = F.conv2d(F.interpolate(x, scale_factor=2.0), w, padding=1)
    torch.testing.assert_close(upsampled_conv(x, w), expected)
    cl = upsampled_conv(x.contiguous(memory_format=torch.channels_last), w)
    assert cl.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(cl, expected)


def _expanded_reference(model: EmbeddedNet, images, state, actions) -> torch.Tensor:
    """The frame path written plainly: every conditioning-frame tensor copied to each of the 16 steps first."""
    b, v = images.shape[:2]
    k = actions.shape[1]
    s1, s2, z = model.encode(images)
    view_ctx = (model.context(state, actions)[:, 1:, None] + model.ctx_view).flatten(0, 2)

    def rep(x):
        return x.unflatten(0, (b, 1, v)).expand(-1, k, -1, *x.shape[1:]).flatten(0, 2)

    h = rep(z)
    for block in model.blocks:
        h = block(h, view_ctx, k)
    dec = model.decoder
    if model.config.style == "conv":
        h = dec.up2(torch.cat([F.interpolate(h, scale_factor=2.0), rep(s2)], 1))
        h = dec.up1(torch.cat([F.interpolate(h, scale_factor=2.0), rep(s1)], 1))
        raw = F.pixel_shuffle(dec.out(h), 2)
    else:
        raw = dec(h, dec.project(s2, s1), k)
    colour, mask = torch.tanh(raw[:, :3]), torch.sigmoid(raw[:, 3:])
    cond = rep(images.flatten(0, 1))
    return (cond + mask * (colour - cond)).unflatten(0, (b, k, v))


def test_frame_path_computed_once_per_view_matches_the_expanded_reference():
    gen = torch.Generator().manual_seed(1)
    images = torch.rand(2, 3, 3, 128, 128, generator=gen) * 2 - 1
    state, actions = torch.randn(2, 14, generator=gen), torch.rand(2, 16, 10, generator=gen) * 2 - 1
    separable = EmbeddedNet(ModelConfig(style="separable")).eval()
    for block in separable.blocks:  # a random FiLM: the zero init would hide a mix-up of the steps
        torch.nn.init.normal_(block.film.weight, generator=gen, std=0.02)
    for model in (load_checkpoint(), separable):
        with torch.inference_mode():
            expected = _expanded_reference(model, images, state, actions)
            torch.testing.assert_close(model.forward_dynamics(images, state, actions)["frames"], expected,
                                       atol=1e-4, rtol=0)
            cl = prepare(load_checkpoint(), PATHS["float32_channels_last"]) if model.config.style == "conv" else None
            if cl is not None:
                cl.load_state_dict(model.state_dict())
                torch.testing.assert_close(cl.forward_dynamics(images, state, actions)["frames"], expected,
                                           atol=1e-4, rtol=0)


def _choice_under(env: dict) -> list:
    code = ("import json, torch; from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel; "
            "from cosmos_robotics.world_models.embedded.runtime import native_bfloat16; wm = EmbeddedWorldModel(); "
            "print(json.dumps([wm.inference_path, str(wm.model.dtype), torch.backends.cpu.get_cpu_capability(), "
            "native_bfloat16(), torch.cpu._is_avx512_bf16_supported()]))")
    clean = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                         check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_auto_avoids_bfloat16_where_it_would_be_emulated():
    path, dtype, isa, native, _ = _choice_under({"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert (path, dtype, isa, native) == ("float32_channels_last", "torch.float32", "AVX2", False)
    path, dtype, isa, native, has_bf16 = _choice_under({})
    assert native == (has_bf16 and isa not in ("AVX2", "DEFAULT"))
    assert (path, dtype) == (("bfloat16", "torch.bfloat16") if native else ("float32_channels_last", "torch.float32"))
