"""The Cosmos 3 architectures as numbers: tower widths and depths, vision encoder, Wan 2.2 VAE; parameter counts.

One home for these figures. The benchmark builds the full-size model from them (``transformer_kwargs()``,
:data:`WAN22_VAE`), the memory planner counts parameters from them, and a test checks every count here against
the real modules built on PyTorch's meta device (diffusers ``Cosmos3OmniTransformer`` / ``AutoencoderKLWan``,
transformers ``Qwen3VLVisionModel``), so a formula that drifts from the code fails.

Sources: cosmos-framework ``inference/configs/model/Cosmos3-{Nano,Super,Edge}.yaml`` name the language backbones
(Qwen3-VL-8B, Qwen3-VL-32B, Nemotron-2B-Dense-VL), whose JSON configs hold the widths below; the MoT doubles each
layer's projections (an understanding = Reasoner tower and a generation tower share attention). No torch import:
``cosmos-robotics checkpoints`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Wan2.2 TI2V-5B VAE geometry (vae/config.json of Wan-AI/Wan2.2-TI2V-5B-Diffusers), as AutoencoderKLWan kwargs. The
# latent mean/std only rescale latents; with random weights their values do not change timing, so 0/1 stand in.
WAN22_VAE = dict(
    base_dim=160, decoder_base_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
    temperal_downsample=[False, True, True], dropout=0.0, in_channels=12, out_channels=12, patch_size=2,
    is_residual=True, scale_factor_spatial=16, scale_factor_temporal=4,
    latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
)  # fmt: skip

# Generator constants shared by every size (diffusers Cosmos3OmniTransformer): 48-channel latents patchified 2x2,
# a 256-channel sinusoidal timestep embedding, 32 embodiment domains with 64-wide action rows.
PATCH_LATENT_DIM = 192
TIME_CHANNELS = 256
ACTION_DIM = 64
NUM_DOMAINS = 32


@dataclass(frozen=True)
class Tower:
    """One transformer tower (the Reasoner's; the Generator's is a twin inside every MoT layer)."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    mlp_matrices: int  # 3 for a gated SiLU MLP (Qwen3), 2 for squared ReLU (Nemotron)

    @property
    def attention_params(self) -> int:
        q_out, kv_out = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return 2 * self.hidden * q_out + 2 * self.hidden * kv_out

    @property
    def mlp_params(self) -> int:
        return self.mlp_matrices * self.hidden * self.intermediate

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden  # each of embed_tokens and the untied lm_head

    def kv_bytes_per_token(self, bytes_per_value: float = 2.0) -> float:
        return 2 * self.layers * self.kv_heads * self.head_dim * bytes_per_value


@dataclass(frozen=True)
class VisionEncoder:
    """The Qwen3-VL ViT the Reasoner reads images and video with (the Generator sees pixels through the VAE)."""

    depth: int
    hidden: int
    intermediate: int
    out_hidden: int
    patch: int
    temporal_patch: int
    spatial_merge: int
    position_embeddings: int
    deepstack_layers: int

    @property
    def params(self) -> int:
        h, merged = self.hidden, self.hidden * self.spatial_merge**2
        patch_embed = h * 3 * self.temporal_patch * self.patch**2 + h
        block = 4 * h + (3 * h * h + 3 * h) + (h * h + h) + 2 * h * self.intermediate + self.intermediate + h
        merger = (merged * merged + merged) + (merged * self.out_hidden + self.out_hidden)
        return (patch_embed + self.position_embeddings * h + self.depth * block + merger + 2 * h
                + self.deepstack_layers * (merger + 2 * merged))  # fmt: skip


@dataclass(frozen=True)
class Architecture:
    """A Cosmos 3 size: the MoT transformer (diffusers layout), its Reasoner's vision encoder, the Wan 2.2 VAE."""

    name: str
    backbone: str
    tower: Tower
    vision: VisionEncoder | None  # None: not published for this size
    hidden_act: str = "silu"
    qk_norm_for_text: bool = True
    use_und_k_norm_for_gen: bool = False
    action_gen: bool = True
    vae: dict = field(default_factory=lambda: dict(WAN22_VAE))  # AutoencoderKLWan kwargs

    @classmethod
    def from_diffusers_configs(cls, name: str, transformer: dict, vae: dict) -> Architecture:
        """From a diffusers checkpoint's ``transformer/config.json`` and ``vae/config.json`` (no vision encoder)."""
        act = transformer.get("hidden_act", "silu")
        tower = Tower(
            hidden=transformer["hidden_size"], layers=transformer["num_hidden_layers"],
            heads=transformer["num_attention_heads"], kv_heads=transformer["num_key_value_heads"],
            head_dim=transformer["head_dim"], intermediate=transformer["intermediate_size"],
            vocab=transformer["vocab_size"], mlp_matrices=2 if act == "relu2" else 3,
        )  # fmt: skip
        return cls(name, "from config.json", tower, None, act, transformer.get("qk_norm_for_text", True),
                   transformer.get("use_und_k_norm_for_gen", False), bool(transformer.get("action_gen")), vae)  # fmt: skip

    # -- parameter counts ---------------------------------------------------------------------------------------
    @property
    def layer_norm_params(self) -> int:
        t = self.tower
        qk_norms = (4 if self.qk_norm_for_text else 2) * t.head_dim + (t.head_dim if self.use_und_k_norm_for_gen else 0)
        return 4 * t.hidden + qk_norms

    @property
    def generator_transformer_params(self) -> int:
        """``Cosmos3OmniTransformer`` with the action head on (what diffusers loads as ``transformer/``)."""
        t = self.tower
        per_layer = 2 * (t.attention_params + t.mlp_params) + self.layer_norm_params
        time_embedder = TIME_CHANNELS * t.hidden + t.hidden + t.hidden * t.hidden + t.hidden
        projections = 2 * PATCH_LATENT_DIM * t.hidden + t.hidden + PATCH_LATENT_DIM
        action_head = 2 * NUM_DOMAINS * ACTION_DIM * t.hidden + NUM_DOMAINS * (t.hidden + ACTION_DIM) + t.hidden
        action_head *= self.action_gen
        return (t.layers * per_layer + 2 * t.embedding_params + 2 * t.hidden + time_embedder + projections
                + action_head)  # fmt: skip

    @property
    def quantizable_generator_params(self) -> int:
        """The transformer-block linear weights: what FP8 / NVFP4 recipes quantize (embeddings, heads stay bf16)."""
        t = self.tower
        return t.layers * 2 * (t.attention_params + t.mlp_params)

    @property
    def generator_tower_params(self) -> int:
        """The Generator's own weights: the MoT twin of every layer plus the latent / time / action heads."""
        return self.generator_transformer_params - (self.reasoner_params - (self.vision.params if self.vision else 0))

    @property
    def vae_params(self) -> int:
        return wan_vae_params(self.vae)

    @property
    def reasoner_params(self) -> int:
        """The Reasoner alone (vLLM's ``Cosmos3ReasonerForConditionalGeneration``): one tower, embeddings, ViT."""
        t = self.tower
        qk = (2 * t.head_dim) if self.qk_norm_for_text else 0
        tower = t.layers * (t.attention_params + t.mlp_params + 2 * t.hidden + qk) + 2 * t.embedding_params + t.hidden
        return tower + (self.vision.params if self.vision else 0)

    @property
    def quantizable_reasoner_params(self) -> int:
        t = self.tower
        return t.layers * (t.attention_params + t.mlp_params)

    def transformer_kwargs(self) -> dict:
        """``Cosmos3OmniTransformer(**kwargs)`` for this size (the benchmark's random-weight builds)."""
        t = self.tower
        return dict(
            hidden_size=t.hidden, intermediate_size=t.intermediate, num_hidden_layers=t.layers,
            num_attention_heads=t.heads, num_key_value_heads=t.kv_heads, head_dim=t.head_dim, vocab_size=t.vocab,
            hidden_act=self.hidden_act, qk_norm_for_text=self.qk_norm_for_text,
            use_und_k_norm_for_gen=self.use_und_k_norm_for_gen,
            action_gen=self.action_gen, action_dim=ACTION_DIM, num_embodiment_domains=NUM_DOMAINS,
        )  # fmt: skip


def _conv3d(c_in: int, c_out: int, kernel: int = 27) -> int:
    return c_out * c_in * kernel + c_out


def _resnet(c_in: int, c_out: int) -> int:
    shortcut = _conv3d(c_in, c_out, 1) if c_in != c_out else 0
    return c_in + _conv3d(c_in, c_out) + c_out + _conv3d(c_out, c_out) + shortcut


def _mid_block(c: int) -> int:
    attention = c + (3 * c * c + 3 * c) + (c * c + c)
    return attention + 2 * _resnet(c, c)


def wan_vae_params(cfg: dict = WAN22_VAE) -> int:
    """Parameters of ``AutoencoderKLWan(**cfg)`` (Wan 2.2 residual layout, no attention outside the mid blocks)."""
    if not cfg["is_residual"] or cfg["attn_scales"]:
        raise ValueError("wan_vae_params: expected the Wan 2.2 layout (is_residual=True, attn_scales=[])")
    z, mult, blocks = cfg["z_dim"], cfg["dim_mult"], cfg["num_res_blocks"]
    dims = [cfg["base_dim"] * m for m in [1, *mult]]
    total = _conv3d(cfg["in_channels"], dims[0])
    for i, (c_in, c_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        total += _resnet(c_in, c_out) + (blocks - 1) * _resnet(c_out, c_out)
        if i < len(mult) - 1:
            total += c_out * c_out * 9 + c_out + (_conv3d(c_out, c_out, 3) if cfg["temperal_downsample"][i] else 0)
    total += _mid_block(dims[-1]) + dims[-1] + _conv3d(dims[-1], 2 * z)
    total += _conv3d(2 * z, 2 * z, 1) + _conv3d(z, z, 1)  # quant / post-quant convs
    dims = [cfg["decoder_base_dim"] * m for m in [mult[-1], *mult[::-1]]]
    upsample_time = cfg["temperal_downsample"][::-1]
    total += _conv3d(z, dims[0]) + _mid_block(dims[0])
    for i, (c_in, c_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        total += _resnet(c_in, c_out) + blocks * _resnet(c_out, c_out)
        if i < len(mult) - 1:
            total += c_out * c_out * 9 + c_out + (c_out * 2 * c_out * 3 + 2 * c_out if upsample_time[i] else 0)
    return total + dims[-1] + _conv3d(dims[-1], cfg["out_channels"])


QWEN3_VL_VIT = dict(depth=27, hidden=1152, intermediate=4304, patch=16, temporal_patch=2, spatial_merge=2,
                    position_embeddings=2304, deepstack_layers=3)  # fmt: skip

NANO = Architecture(
    "Cosmos3-Nano", "Qwen3-VL-8B",
    Tower(hidden=4096, layers=36, heads=32, kv_heads=8, head_dim=128, intermediate=12288, vocab=151936, mlp_matrices=3),
    VisionEncoder(out_hidden=4096, **QWEN3_VL_VIT),
)
SUPER = Architecture(
    "Cosmos3-Super", "Qwen3-VL-32B",
    Tower(hidden=5120, layers=64, heads=64, kv_heads=8, head_dim=128, intermediate=25600, vocab=151936, mlp_matrices=3),
    VisionEncoder(out_hidden=5120, **QWEN3_VL_VIT),
)
EDGE = Architecture(
    "Cosmos3-Edge", "Nemotron-2B-Dense-VL",
    Tower(hidden=2048, layers=28, heads=16, kv_heads=8, head_dim=128, intermediate=9216, vocab=131072, mlp_matrices=2),
    None, hidden_act="relu2", qk_norm_for_text=False, use_und_k_norm_for_gen=True,
)
ARCHITECTURES = {a.name: a for a in (NANO, SUPER, EDGE)}
