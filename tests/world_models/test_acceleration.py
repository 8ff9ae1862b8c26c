"""The speed levers keep a real (tiny) Cosmos 3 pipeline's outputs, undo cleanly, and skip decoding for actions."""

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch._dynamo.utils
from diffusers import Cosmos3OmniPipeline, CosmosActionCondition

from cosmos_robotics.errors import UnsupportedModeError
from cosmos_robotics.world_models.cosmos3.acceleration import (
    AccelerationConfig,
    accelerated,
    call_action_only,
    call_frames_uint8,
)

# Every lever that runs on a CPU (cuDNN attention and compiled kernels need the GPU benchmark).
CPU_LEVERS = AccelerationConfig(attention_backend="default", compile_blocks=False)


@pytest.fixture(scope="module")
def pipe(tiny_checkpoint_dir):
    pipe = Cosmos3OmniPipeline.from_pretrained(tiny_checkpoint_dir, enable_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _frames(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(64, 96, 3), dtype=np.uint8) for _ in range(count)]


def _fd(chunk: int = 4) -> CosmosActionCondition:
    actions = torch.from_numpy(np.random.default_rng(1).uniform(-1, 1, size=(chunk, 10)).astype(np.float32))
    return CosmosActionCondition(mode="forward_dynamics", chunk_size=chunk, domain_name="droid_lerobot",
                                 resolution_tier=256, raw_actions=actions, image=_frames(1)[0],
                                 view_point="concat_view")  # fmt: skip


def _call(pipe, action, guidance: float = 1.0, **kwargs):
    return pipe(prompt="Put the marker in the cup.", action=action, fps=15.0, num_inference_steps=3,
                guidance_scale=guidance, use_system_prompt=False, generator=torch.Generator().manual_seed(0),
                **kwargs)  # fmt: skip


@pytest.mark.parametrize("guidance", [1.0, 3.0])  # 3.0: cond and uncond prompts must not share cached text K/V
def test_levers_keep_forward_dynamics_latents(pipe, guidance):
    plain = _call(pipe, _fd(), guidance, output_type="latent").video
    with accelerated(pipe, CPU_LEVERS) as handle:
        fast = _call(pipe, _fd(), guidance, output_type="latent").video
    assert handle.text_cache.hits > 0  # the text pathway really was reused
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-4)
    other_seed = pipe(prompt="Put the marker in the cup.", action=_fd(), fps=15.0, num_inference_steps=3,
                      guidance_scale=guidance, use_system_prompt=False, output_type="latent",
                      generator=torch.Generator().manual_seed(1)).video  # fmt: skip
    assert not torch.allclose(other_seed, plain, atol=1e-3)  # the comparison above can tell outputs apart


def test_remove_restores_the_plain_pipeline(pipe):
    with accelerated(pipe, CPU_LEVERS):
        assert "forward" in vars(pipe.transformer.layers[0])
        assert "_encode_video" in vars(pipe)
    assert "forward" not in vars(pipe.transformer.layers[0])
    assert "_encode_video" not in vars(pipe) and "prepare_latents" not in vars(pipe)
    assert not pipe.transformer._forward_pre_hooks


def test_frames_uint8_match_the_pil_output(pipe):
    pil = _call(pipe, _fd()).video
    frames, actions = call_frames_uint8(pipe, **dict(prompt="Put the marker in the cup.", action=_fd(), fps=15.0,
                                        num_inference_steps=3, guidance_scale=1.0, use_system_prompt=False,
                                        generator=torch.Generator().manual_seed(0)))  # fmt: skip
    assert actions is None and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, np.stack([np.asarray(f) for f in pil]))


def test_action_only_call_skips_decoding_and_returns_the_same_actions(pipe, monkeypatch):
    condition = CosmosActionCondition(mode="inverse_dynamics", chunk_size=8, domain_name="av", resolution_tier=256,
                                      video=_frames(9), view_point="ego_view")  # fmt: skip
    reference = _call(pipe, condition).action[0]
    decodes = []
    plain_decode = pipe.vae.decode
    monkeypatch.setattr(pipe.vae, "decode", lambda *a, **k: decodes.append(1) or plain_decode(*a, **k))
    with accelerated(pipe, CPU_LEVERS):
        actions = call_action_only(pipe, action=condition, prompt="Put the marker in the cup.", fps=15.0,
                                   num_inference_steps=3, guidance_scale=1.0, use_system_prompt=False,
                                   generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert decodes == []
    assert actions.shape == (8, 9) and actions.dtype == torch.float32
    torch.testing.assert_close(actions, reference, rtol=1e-4, atol=1e-4)


def test_action_only_refuses_forward_dynamics(pipe):
    with pytest.raises(UnsupportedModeError, match="forward dynamics returns a video"):
        call_action_only(pipe, action=_fd(), prompt="x", fps=15.0)


def test_vae_channels_last_decodes_the_same_and_undoes(pipe):
    latents = torch.randn(1, 48, 2, 4, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        plain = pipe.vae.decode(latents).sample
        with accelerated(pipe, replace(AccelerationConfig.none(), vae_channels_last=True)):
            conv = next(m for m in pipe.vae.modules() if isinstance(m, torch.nn.Conv3d))
            # the upsamplers' 2D convolutions too (else they hand the next block a frame-major tensor)
            conv2d = next(m for m in pipe.vae.decoder.modules()
                          if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1))  # fmt: skip
            assert conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
            assert conv2d.weight.is_contiguous(memory_format=torch.channels_last) and not conv2d.weight.is_contiguous()
            fast = pipe.vae.decode(latents).sample
    assert conv.weight.is_contiguous() and conv2d.weight.is_contiguous()
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-4)


def test_compiled_vae_norms_decode_the_same_and_undo(pipe):
    from diffusers.models.autoencoders.autoencoder_kl_wan import WanRMS_norm

    latents = torch.randn(1, 48, 1, 2, 3, generator=torch.Generator().manual_seed(0))  # one frame: few shapes
    graphs_before = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    with torch.no_grad():
        plain = pipe.vae.decode(latents).sample
        with accelerated(pipe, replace(AccelerationConfig.none(), compile_vae_norms=True)):
            norm = next(m for m in pipe.vae.decoder.modules() if isinstance(m, WanRMS_norm))
            assert "forward" in vars(norm)
            fast = pipe.vae.decode(latents).sample
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > graphs_before  # really compiled
    assert "forward" not in vars(norm)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)


def test_compiled_vae_glue_decodes_the_same_and_undoes(pipe):
    from diffusers.models.autoencoders.autoencoder_kl_wan import (
        DupUp3D,
        WanCausalConv3d,
        WanResidualBlock,
        WanUpsample,
    )

    latents = torch.randn(1, 48, 2, 2, 3, generator=torch.Generator().manual_seed(1))  # two frames: the cache is used
    graphs_before = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    block = next(m for m in pipe.vae.decoder.modules() if isinstance(m, WanResidualBlock))
    conv, silu = block.conv1, block.nonlinearity
    shortcut = next(m for m in pipe.vae.decoder.modules() if isinstance(m, DupUp3D))
    upsample = next(m for m in pipe.vae.decoder.modules() if isinstance(m, WanUpsample))
    encoder_conv = next(m for m in pipe.vae.encoder.modules() if isinstance(m, WanCausalConv3d))
    assert isinstance(conv, WanCausalConv3d)
    with torch.no_grad():
        plain = pipe.vae.decode(latents).sample
        with accelerated(pipe, replace(AccelerationConfig.none(), compile_vae_norms=True, compile_vae_glue=True)):
            assert all("forward" in vars(m) for m in (conv, block.norm1, shortcut, upsample))
            assert isinstance(block.nonlinearity, torch.nn.Identity)  # the SiLU runs inside the norm's kernel
            assert "forward" not in vars(encoder_conv)  # the encoder (one frame in FD / policy) stays eager
            fast = pipe.vae.decode(latents).sample
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > graphs_before  # really compiled
    assert not any("forward" in vars(m) for m in (conv, block.norm1, shortcut, upsample))
    assert block.nonlinearity is silu
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        assert (pipe.vae.decode(latents * 0.5).sample - plain).abs().max() > 1e-3  # the comparison can tell latents apart


def test_compiled_layer_body_with_one_pass_reductions_keeps_the_latents(pipe):
    plain = _call(pipe, _fd(), output_type="latent").video
    graphs_before = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    with accelerated(pipe, replace(CPU_LEVERS, compile_blocks=True, one_pass_reductions=True)):
        compiled = _call(pipe, _fd(), output_type="latent").video
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > graphs_before  # inductor really ran
    torch.testing.assert_close(compiled, plain, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="one_pass_reductions: expected compile_blocks=True"):
        replace(CPU_LEVERS, one_pass_reductions=True)
