"""A complete, tiny Cosmos 3 diffusers checkpoint, written offline, for tests and CLI smoke runs on a CPU.

The directory has the layout of ``nvidia/Cosmos3-Nano`` (``model_index.json``, ``transformer/``, ``vae/``,
``text_tokenizer/``, ``scheduler/``; no safety checker) and loads through ``Cosmos3OmniPipeline.from_pretrained``
exactly like the real one. Sizes: a 2-layer, 128-wide transformer with ``action_gen=True``, 32 embodiment domains
and ``action_dim=64``; a Wan 2.2-style VAE (``z_dim=48``, x16 spatial, x4 temporal) with 4 channels; the offline
byte-level tokenizer of :mod:`offline_tokenizer`.

Vision weights are random. The action head is not: random action weights would return random numbers that no
adapter can decode (rot6d columns far from orthonormal), so the transformer is built to be the *exact*
flow-matching denoiser of a point-mass action distribution — for every domain ``d`` it predicts the velocity
``(x_t - c_d) / sigma``, hence inverse dynamics and policy return the known chunk ``c_d`` (every row equal to
:data:`TINY_ACTION_TARGETS` of that domain) whatever the input. How, with linear layers and one RMSNorm:

* hidden dims ``[0, 64)`` carry the action token ``x_t - c_d`` (``action_proj_in`` = identity, bias ``-c_d``);
* hidden dim 64 carries the timestep embedding, built to equal ``K * sigma`` (the lowest-frequency sine channel
  of the sinusoidal embedding is linear in ``sigma``; a SiLU biased far into its linear range keeps it so);
* the decoder layers write only to dims ``>= 65``; ``K`` is large, so the final RMSNorm divides the action dims by
  ``K * sigma / sqrt(hidden)`` and ``action_proj_out`` (a scaled identity) yields ``(x_t - c_d) / sigma``.

The ``"policy_droid"`` variant is the same network with the DROID domain's (id 8) target replaced by the
Policy-DROID joint chunk :data:`TINY_POLICY_DROID_TARGET` (8 values, valid Franka joints + model-space gripper).

Forward dynamics still conditions on the actions: clean action tokens (no timestep embedding) enter attention with
their own direction, so different action chunks give different videos.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

# Model-space action row each domain's tiny action head converges to (inverse dynamics / policy output).
# AV: 0.15 (= 0.11 m x 1.35) forward along +z per 0.1 s, identity rotation. DROID/UMI are normalized: 0 = the
# released quantile mid-point (near-identity rotation); DROID gripper 0.9 = nearly open, UMI gripper mid-width.
TINY_ACTION_TARGETS: dict[str, list[float]] = {
    "av": [0.0, 0.0, 0.15, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    "droid_lerobot": [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9],
    "umi": [0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
}

# Policy-DROID variant: domain 8 converges to these absolute joints (rad) and model gripper (1 = open).
TINY_POLICY_DROID_TARGET: list[float] = [0.0, -0.6, 0.0, -2.2, 0.0, 1.6, 0.8, 0.9]
VARIANTS = ("base", "policy_droid")

HIDDEN_SIZE = 128
ACTION_DIM = 64
NUM_DOMAINS = 32
_TIME_DIM = ACTION_DIM  # hidden dim that carries K * sigma
_TIME_SCALE = 1.0e5  # K
_SILU_OFFSET = 20.0  # silu(20 + s) = 20 + s to ~1e-8
_NUM_TIME_CHANNELS = 256
_ATTENTION_GAIN = 5.0  # diffusers' Timesteps(num_channels=256) in the Cosmos 3 transformer


def _targets(variant: str) -> dict[str, list[float]]:
    if variant not in VARIANTS:
        raise ValueError(f"tiny checkpoint variant: expected one of {VARIANTS}, got {variant!r}")
    if variant == "policy_droid":
        return {**TINY_ACTION_TARGETS, "droid_lerobot": TINY_POLICY_DROID_TARGET}
    return TINY_ACTION_TARGETS


def _tiny_transformer(vocab_size: int, generator: torch.Generator, targets: dict[str, list[float]]):
    from diffusers import Cosmos3OmniTransformer
    from diffusers.models.normalization import RMSNorm
    from diffusers.pipelines.cosmos.pipeline_cosmos3_omni import _EMBODIMENT_TO_DOMAIN_ID

    model = Cosmos3OmniTransformer(
        dtype="float32", head_dim=32, hidden_size=HIDDEN_SIZE, intermediate_size=256, num_attention_heads=4,
        num_key_value_heads=2, num_hidden_layers=2, rope_axes_dim=[6, 5, 5], vocab_size=vocab_size,
        action_gen=True, action_dim=ACTION_DIM, num_embodiment_domains=NUM_DOMAINS,
    )
    with torch.no_grad():
        for param in model.parameters():  # deterministic random init, independent of torch's global RNG
            param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
        for module in model.modules():
            if isinstance(module, RMSNorm) and module.weight is not None:
                module.weight.fill_(1.0)

        # Decoder layers write only to the free dims (>= 65), so action dims and the time dim stay exact. Louder
        # attention output makes forward dynamics' dependence on the (few) action tokens visible in the frames.
        for layer in model.layers:
            layer.self_attn.to_add_out.weight *= _ATTENTION_GAIN
            layer.self_attn.to_add_out.weight[: _TIME_DIM + 1] = 0
            layer.mlp_moe_gen.down_proj.weight[: _TIME_DIM + 1] = 0
        free = HIDDEN_SIZE - _TIME_DIM - 1
        model.proj_in.weight[: _TIME_DIM + 1] = 0
        model.proj_in.bias[: _TIME_DIM + 1] = 0
        # Vision readout: free dims only; the gain undoes the RMSNorm's 1/(K sigma) so velocities are O(1).
        model.proj_out.weight[:, : _TIME_DIM + 1] = 0
        model.proj_out.weight[:, _TIME_DIM + 1 :] *= _TIME_SCALE / (0.05 * math.sqrt(free * HIDDEN_SIZE))
        model.proj_out.bias.zero_()

        # Timestep embedding = K * sigma in the time dim (sigma = timestep * timestep_scale in [0, 1]).
        lowest_freq = math.exp(-math.log(10000.0) * (_NUM_TIME_CHANNELS // 2 - 1) / (_NUM_TIME_CHANNELS // 2))
        emb = model.time_embedder
        emb.linear_1.weight.zero_()
        emb.linear_1.bias.zero_()
        emb.linear_1.weight[0, _NUM_TIME_CHANNELS - 1] = 1.0 / lowest_freq  # sin(w * sigma) / w = sigma
        emb.linear_1.bias[0] = _SILU_OFFSET
        emb.linear_2.weight.zero_()
        emb.linear_2.bias.zero_()
        emb.linear_2.weight[_TIME_DIM, 0] = _TIME_SCALE
        emb.linear_2.bias[_TIME_DIM] = -_SILU_OFFSET * _TIME_SCALE

        # Action head: in = identity minus the domain's target, out = identity * K / sqrt(hidden).
        model.action_modality_embed.zero_()
        w_in = torch.zeros(NUM_DOMAINS, ACTION_DIM, HIDDEN_SIZE)
        w_in[:, torch.arange(ACTION_DIM), torch.arange(ACTION_DIM)] = 1.0
        b_in = torch.zeros(NUM_DOMAINS, HIDDEN_SIZE)
        for domain, target in targets.items():
            b_in[_EMBODIMENT_TO_DOMAIN_ID[domain], : len(target)] = -torch.tensor(target)
        w_out = torch.zeros(NUM_DOMAINS, HIDDEN_SIZE, ACTION_DIM)
        w_out[:, torch.arange(ACTION_DIM), torch.arange(ACTION_DIM)] = _TIME_SCALE / math.sqrt(HIDDEN_SIZE)
        model.action_proj_in.fc.weight.copy_(w_in.reshape(NUM_DOMAINS, -1))
        model.action_proj_in.bias.weight.copy_(b_in)
        model.action_proj_out.fc.weight.copy_(w_out.reshape(NUM_DOMAINS, -1))
        model.action_proj_out.bias.weight.zero_()
    return model.eval()


def _tiny_vae(generator: torch.Generator):
    from diffusers import AutoencoderKLWan

    # Wan 2.2 layout (patchify 2 + three x2 downsamples = x16, two temporal x2 = x4, z 48) with 4 channels.
    vae = AutoencoderKLWan(
        base_dim=4, decoder_base_dim=4, z_dim=48, dim_mult=[1, 1, 1, 1], num_res_blocks=0,
        temperal_downsample=[False, True, True], is_residual=True, in_channels=12, out_channels=12, patch_size=2,
        scale_factor_spatial=16, scale_factor_temporal=4, latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
    )
    with torch.no_grad():
        for name, param in vae.named_parameters():
            if name.endswith("gamma"):  # RMS-norm scales
                param.fill_(1.0)
            elif name.endswith("bias"):
                param.zero_()
            else:
                fan_in = max(1, param[0].numel())
                param.copy_(torch.randn(param.shape, generator=generator) / math.sqrt(fan_in))
    return vae.eval()


def _scheduler():
    from diffusers import UniPCMultistepScheduler

    # What converted Cosmos 3 checkpoints ship; action calls override flow_shift / use_karras_sigmas per call.
    return UniPCMultistepScheduler(
        use_karras_sigmas=True, use_flow_sigmas=True, prediction_type="flow_prediction", sigma_max=200.0,
        sigma_min=0.147,
    )


def write_tiny_checkpoint(directory: str | Path, seed: int = 0, variant: str = "base") -> Path:
    """Write the tiny pipeline (safetensors weights) to ``directory``; same ``seed`` -> same weights.
    ``variant``: ``"base"`` (Cosmos3-Nano domains) or ``"policy_droid"`` (Cosmos3-Nano-Policy-DROID's domain 8)."""
    from diffusers import Cosmos3OmniPipeline

    from cosmos_robotics.world_models.cosmos3.offline_tokenizer import build_offline_qwen_tokenizer

    targets = _targets(variant)
    directory = Path(directory)
    generator = torch.Generator().manual_seed(seed)
    tokenizer = build_offline_qwen_tokenizer()
    pipe = Cosmos3OmniPipeline(
        transformer=_tiny_transformer(len(tokenizer), generator, targets),
        text_tokenizer=tokenizer,
        vae=_tiny_vae(generator),
        scheduler=_scheduler(),
        safety_checker=None,
        enable_safety_checker=False,
    )
    pipe.save_pretrained(directory, safe_serialization=True)
    return directory
