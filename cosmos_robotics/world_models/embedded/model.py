"""The embedded world model: one small convolutional network with forward-dynamics, inverse-dynamics and policy heads.

Why this shape (a laptop CPU must run it, and the scene is mostly static):

* one image encoder shared by the three views (a learned view embedding tells them apart) and by all heads;
* forward dynamics predicts every future frame *directly* from the conditioning frame (no autoregressive
  feedback, so errors do not compound over the chunk): a GRU over the action chunk gives a context per future
  step, which modulates the 16 x 16 latent by FiLM; the decoder, with U-Net skips from the conditioning frame,
  outputs a colour and a mask per pixel and the frame is ``mask * colour + (1 - mask) * conditioning frame``;
* that per-frame path runs 48 times per chunk, so everything that depends only on the conditioning frame (the
  encoder, the skips' share of the decoder convolutions, the first FiLM block's first convolution and
  normalization) runs once per view and is broadcast over the 16 steps, and the decoder's nearest upsampling is
  folded into its next convolution (``upsampled_conv``: exact, 2.25x fewer multiply-adds there);
  ``ModelConfig.style="separable"`` swaps the rest for 1 x 1 + depthwise convolutions (~10x fewer FLOPs; trained,
  not shipped: lower FD PSNR);
* small separate heads read the same context for the flange state and the task-success probability;
* inverse dynamics and the policy read spatial (8 x 8) features of every view, so object positions survive.

Images are float tensors in [-1, 1], ``[B, V, 3, H, W]``; states are SimDroid ``observation.state`` rows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cosmos_robotics.world_models.embedded.config import (
    ACTION_DIM,
    CHUNK,
    STATE_DIM,
    STATE_OUT,
    VIEWS,
    ModelConfig,
)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.GroupNorm(8, cout), nn.SiLU())


class Encoder(nn.Module):
    """128 px image -> skips at 64 and 32 px and a 16 x 16 latent."""

    def __init__(self, channels: tuple[int, int, int]):
        super().__init__()
        c1, c2, c3 = channels
        self.s1 = nn.Sequential(_conv(3, c1, 2), _conv(c1, c1))
        self.s2 = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))
        self.s3 = nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s1 = self.s1(x)
        s2 = self.s2(s1)
        return s1, s2, self.s3(s2)


class FiLMBlock(nn.Module):
    def __init__(self, channels: int, context: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, channels), nn.Conv2d(channels, channels, 3, 1, 1)
        self.norm2, self.conv2 = nn.GroupNorm(8, channels), nn.Conv2d(channels, channels, 3, 1, 1)
        self.film = _zero_film(context, channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor, steps: int) -> torch.Tensor:
        """``x``: per frame ``[B*K*V, ...]`` or, for the first block, per view ``[B*V, ...]`` (before FiLM it is
        the same for every step, so its first convolution and normalization run once per view)."""
        gamma, beta = self.film(context)[:, :, None, None].chunk(2, dim=1)
        h = modulate(self.norm2(self.conv1(F.silu(self.norm1(x)))), gamma, beta, steps)
        return residual_add(self.conv2(F.silu(h)), x, steps)


class SeparableFiLMBlock(nn.Module):
    """FiLM residual block of 1 x 1 convolutions around one 5 x 5 depthwise convolution (~5x cheaper)."""

    def __init__(self, channels: int, context: int):
        super().__init__()
        self.norm, self.pw1 = nn.GroupNorm(8, channels), nn.Conv2d(channels, channels, 1)
        self.dw = nn.Conv2d(channels, channels, 5, 1, 2, groups=channels)
        self.pw2 = nn.Conv2d(channels, channels, 1)
        self.film = _zero_film(context, channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor, steps: int) -> torch.Tensor:
        """As ``FiLMBlock.forward``."""
        gamma, beta = self.film(context)[:, :, None, None].chunk(2, dim=1)
        h = modulate(self.pw1(F.silu(self.norm(x))), gamma, beta, steps)
        return residual_add(self.pw2(F.silu(self.dw(F.silu(h)))), x, steps)


def modulate(h: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, steps: int) -> torch.Tensor:
    """FiLM ``h * (1 + gamma) + beta`` per frame; a per-view ``h`` ``[B*V, ...]`` is broadcast over the steps."""
    if h.shape[0] == gamma.shape[0]:
        return h * (1 + gamma) + beta
    nv = len(VIEWS)
    frames = (-1, steps, nv)
    out = h.unflatten(0, (-1, 1, nv)) * (1 + gamma.unflatten(0, frames)) + beta.unflatten(0, frames)
    return out.flatten(0, 2)


def residual_add(frames: torch.Tensor, x: torch.Tensor, steps: int) -> torch.Tensor:
    """``x + frames`` with ``x`` per frame or per view (then broadcast over the steps)."""
    return frames + x if frames.shape[0] == x.shape[0] else broadcast_add(frames, x, steps)


def _zero_film(context: int, channels: int) -> nn.Linear:
    film = nn.Linear(context, 2 * channels)  # zero: every block starts as the identity
    nn.init.zeros_(film.weight)
    nn.init.zeros_(film.bias)
    return film


class Decoder(nn.Module):
    """16 x 16 latent + skips -> colour (3) and mask logit (1) at 128 px (pixel shuffle from 64 px).

    ``project`` computes the skips' share once per view (a convolution of a concatenation is the sum of the
    convolutions of its parts); ``forward`` adds it to every future frame by broadcasting.
    """

    def __init__(self, channels: tuple[int, int, int], widths: tuple[int, int]):
        super().__init__()
        c1, c2, c3 = channels
        self.c3, self.w2 = c3, widths[0]
        self.up2 = _conv(c3 + c2, widths[0])
        self.up1 = _conv(widths[0] + c1, widths[1])
        self.out = nn.Conv2d(widths[1], 4 * 4, 3, 1, 1)

    @staticmethod
    def _split(conv: nn.Conv2d, cin: int) -> tuple[torch.Tensor, torch.Tensor]:
        return conv.weight[:, :cin], conv.weight[:, cin:]

    def project(self, s2: torch.Tensor, s1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        (conv2, conv1) = self.up2[0], self.up1[0]
        return (F.conv2d(s2, self._split(conv2, self.c3)[1], conv2.bias, padding=1),
                F.conv2d(s1, self._split(conv1, self.w2)[1], conv1.bias, padding=1))

    def forward(self, z: torch.Tensor, skips: tuple[torch.Tensor, torch.Tensor], steps: int) -> torch.Tensor:
        p2, p1 = skips
        h = self._stage(self.up2, self.c3, z, p2, steps)
        h = self._stage(self.up1, self.w2, h, p1, steps)
        return F.pixel_shuffle(self.out(h), 2)

    def _stage(self, block: nn.Sequential, cin: int, h: torch.Tensor, skip: torch.Tensor, steps: int) -> torch.Tensor:
        h = upsampled_conv(h, self._split(block[0], cin)[0])
        return block[2](block[1](broadcast_add(h, skip, steps)))


# Rows (or columns) of a 3-tap kernel that land on the low-resolution rows i-1, i (even outputs) and i, i+1 (odd).
_PARITY_TAPS = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])


def upsampled_conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``conv3x3(nearest_upsample_x2(x), weight, padding=1)`` without upsampling (exact up to float rounding).

    Each output pixel parity (row, column) sees only 2 x 2 distinct input pixels, so the 3 x 3 kernel folds into
    four 2 x 2 kernels on ``x`` (16 instead of 36 multiply-adds per output and input channel, and the 4x larger
    upsampled tensor never exists); the four results are interleaved into the output.
    """
    taps = _PARITY_TAPS.to(weight)
    kernels = torch.einsum("aik,ockl,bjl->abocij", taps, weight, taps)  # [2, 2, Cout, Cin, 2, 2]
    layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    out = x.new_empty(x.shape[0], weight.shape[0], 2 * h, 2 * w).contiguous(memory_format=layout)
    for a in (0, 1):
        for b in (0, 1):
            out[..., a::2, b::2] = F.conv2d(padded[..., a:a + h + 1, b:b + w + 1],
                                            kernels[a, b].contiguous(memory_format=layout))
    return out


class SeparableUp(nn.Module):
    """x2 upsampling step: 1 x 1 projection (before the upsampling: it commutes), + skip, depthwise-separable residual."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.inp, self.skip = nn.Conv2d(cin, cout, 1), nn.Conv2d(cskip, cout, 1)
        self.dw = nn.Conv2d(cout, cout, 3, 1, 1, groups=cout)
        self.pw = nn.Conv2d(cout, cout, 1)

    def forward(self, h: torch.Tensor, skip: torch.Tensor, steps: int) -> torch.Tensor:
        h = F.silu(upsample_add(self.inp(h), skip, steps))
        return h + self.pw(F.silu(self.dw(h)))


class SeparableDecoder(nn.Module):
    """The cheap decoder: no normalization above 16 px, 1 x 1 output convolution before the pixel shuffle."""

    def __init__(self, channels: tuple[int, int, int], widths: tuple[int, int]):
        super().__init__()
        c1, c2, c3 = channels
        self.up2 = SeparableUp(c3, c2, widths[0])
        self.up1 = SeparableUp(widths[0], c1, widths[1])
        self.out = nn.Conv2d(widths[1], 4 * 4, 1)

    def project(self, s2: torch.Tensor, s1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.up2.skip(s2), self.up1.skip(s1)

    def forward(self, z: torch.Tensor, skips: tuple[torch.Tensor, torch.Tensor], steps: int) -> torch.Tensor:
        h = self.up2(z, skips[0], steps)
        return F.pixel_shuffle(self.out(self.up1(h, skips[1], steps)), 2)


def broadcast_add(frames: torch.Tensor, views: torch.Tensor, steps: int) -> torch.Tensor:
    """``[B*K*V, ...]`` per frame + ``[B*V, ...]`` per view (frames ordered batch, step, view) -> ``[B*K*V, ...]``."""
    nv = len(VIEWS)
    return (frames.unflatten(0, (-1, steps, nv)) + views.unflatten(0, (-1, 1, nv))).flatten(0, 2)


def upsample_add(frames: torch.Tensor, views: torch.Tensor, steps: int) -> torch.Tensor:
    """``broadcast_add`` of ``frames`` upsampled x2 (nearest) in the same pass: the upsampling never materializes."""
    nv = len(VIEWS)
    h, w = frames.shape[-2:]
    low = frames.unflatten(0, (-1, steps, nv))[..., :, None, :, None]  # [B, K, V, C, h, 1, w, 1]
    high = views.unflatten(0, (-1, 1, nv)).unflatten(-1, (w, 2)).unflatten(-3, (h, 2))  # [B, 1, V, C, h, 2, w, 2]
    return (low + high).flatten(-2).flatten(-3, -2).flatten(0, 2)


class SpatialTrunk(nn.Module):
    """16 x 16 latent -> one vector per view that keeps where things are (8 x 8 grid, flattened)."""

    def __init__(self, cin: int, channels: int, out: int):
        super().__init__()
        self.conv = nn.Sequential(_conv(cin, channels, 2), _conv(channels, 32))
        self.proj = nn.Linear(32 * 8 * 8, out)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.silu(self.proj(self.conv(z).flatten(1)))


class EmbeddedNet(nn.Module):
    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config = config or ModelConfig()
        c1, c2, c3 = config.enc_channels
        h = config.hidden
        nv = len(VIEWS)
        self.encoder = Encoder(config.enc_channels)
        self.view_embed = nn.Parameter(torch.zeros(nv, c3, 1, 1))
        # Normalization of inputs/targets, filled from the training data (saved with the weights).
        self.register_buffer("state_mean", torch.zeros(STATE_DIM))
        self.register_buffer("state_std", torch.ones(STATE_DIM))
        self.register_buffer("delta_std", torch.ones(STATE_OUT))
        # Forward dynamics: state -> initial context, GRU over actions, FiLM into the latent, decoder.
        self.state_mlp = nn.Sequential(nn.Linear(STATE_DIM, h), nn.SiLU(), nn.Linear(h, h))
        self.action_in = nn.Linear(ACTION_DIM, h)
        self.gru = nn.GRU(h, h, batch_first=True)
        self.step_embed = nn.Parameter(torch.zeros(CHUNK + 1, h))
        self.ctx_view = nn.Parameter(torch.zeros(nv, h))
        separable = config.style == "separable"
        block = SeparableFiLMBlock if separable else FiLMBlock
        self.blocks = nn.ModuleList(block(c3, h) for _ in range(config.res_blocks))
        self.decoder = (SeparableDecoder if separable else Decoder)(config.enc_channels, config.dec_channels)
        pooled = nv * c3
        self.state_head = nn.Sequential(nn.Linear(h + pooled, h), nn.SiLU(), nn.Linear(h, STATE_OUT))
        self.success_head = nn.Sequential(nn.Linear(h + pooled, h), nn.SiLU(), nn.Linear(h, 1))
        # Inverse dynamics: per-frame spatial features, a temporal convolution over consecutive pairs.
        hh = config.head_hidden
        self.id_trunk = SpatialTrunk(c3, config.head_channels, h)
        self.id_temporal = nn.Sequential(
            nn.Conv1d(2 * nv * h, hh, 3, padding=1), nn.SiLU(), nn.Conv1d(hh, hh, 3, padding=1), nn.SiLU(),
            nn.Conv1d(hh, ACTION_DIM, 1),
        )
        # Policy: spatial features of the three views + state -> a whole chunk.
        self.policy_trunk = SpatialTrunk(c3, config.head_channels, h)
        self.policy_head = nn.Sequential(nn.Linear(nv * h + h, hh), nn.SiLU(), nn.Linear(hh, hh), nn.SiLU(),
                                         nn.Linear(hh, CHUNK * ACTION_DIM))

    # ----------------------------------------------------------------- precision
    @property
    def dtype(self) -> torch.dtype:
        return self.step_embed.dtype

    def cast(self, dtype: torch.dtype) -> EmbeddedNet:
        """Run the network in ``dtype`` (inputs are cast on entry, outputs come back float32).

        bfloat16 halves the CPU time where the CPU has native bfloat16 (AMX / AVX512-BF16); the normalization
        statistics stay float32 so states are normalized exactly.
        """
        self.to(dtype)
        for name in ("state_mean", "state_std", "delta_std"):
            setattr(self, name, getattr(self, name).float())
        return self

    # ----------------------------------------------------------------- shared pieces
    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``[B, V, 3, H, W]`` -> skips/latent flattened over ``B * V`` (view embedding added to the latent)."""
        b, v = images.shape[:2]
        s1, s2, z = self.encoder(images.flatten(0, 1).to(self.dtype))
        z = (z.unflatten(0, (b, v)) + self.view_embed).flatten(0, 1)
        return s1, s2, z

    def norm_state(self, state: torch.Tensor) -> torch.Tensor:
        return ((state - self.state_mean) / self.state_std).to(self.dtype)

    def context(self, state: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``[B, 14]`` + ``[B, T, 10]`` -> ``[B, T+1, hidden]`` (index 0: before any action)."""
        h0 = self.state_mlp(self.norm_state(state))
        out, _ = self.gru(self.action_in(actions.to(self.dtype)), h0[None].contiguous())
        ctx = torch.cat([h0[:, None], out], 1)
        return ctx + self.step_embed[: ctx.shape[1]]

    # ----------------------------------------------------------------- forward dynamics
    def forward_dynamics(self, images: torch.Tensor, state: torch.Tensor, actions: torch.Tensor,
                         steps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Predict frames (at ``steps``, 1-based; default all), state deltas and success logits.

        Returns ``frames [B, K, V, 3, H, W]``, ``state [B, T, 7]`` (normalized deltas), ``success [B, T+1]``.
        """
        b, v = images.shape[:2]
        t = actions.shape[1]
        s1, s2, z = self.encode(images)
        ctx = self.context(state, actions)  # [B, T+1, h]
        pooled = z.mean((2, 3)).unflatten(0, (b, v)).flatten(1)  # [B, V*c3]
        head_in = torch.cat([ctx, pooled[:, None].expand(-1, t + 1, -1)], -1)
        out = {"state": self.state_head(head_in[:, 1:]).float(), "success": self.success_head(head_in).squeeze(-1).float()}
        if steps is None:
            steps = torch.arange(1, t + 1, device=images.device).expand(b, t)
        k = steps.shape[1]
        if k == 0:  # action-only calls: no frames to decode
            return out
        step_ctx = torch.gather(ctx, 1, steps[..., None].expand(-1, -1, ctx.shape[-1]))  # [B, K, h]
        view_ctx = (step_ctx[:, :, None] + self.ctx_view).flatten(0, 2)  # [B*K*V, h]
        h = z  # per view; the first block expands it to [B*K*V, c3, 16, 16]
        for block in self.blocks:
            h = block(h, view_ctx, k)
        raw = self.decoder(h, self.decoder.project(s2, s1), k)
        # Activations over all four channels of ``raw`` (one contiguous pass each, vectorized) rather than over its
        # strided colour / mask slices, which run element by element (~10x slower in channels-last on a CPU).
        colour = torch.tanh(raw)[:, :3].unflatten(0, (b, k, v)).to(images.dtype)
        mask = torch.sigmoid(raw)[:, 3:].unflatten(0, (b, k, v)).to(images.dtype)
        out["frames"] = torch.lerp(images[:, None], colour, mask)  # mask * colour + (1 - mask) * cond, one pass
        return out

    # ----------------------------------------------------------------- inverse dynamics and policy
    def inverse_dynamics(self, video: torch.Tensor) -> torch.Tensor:
        """``[B, T+1, V, 3, H, W]`` -> ``[B, T, 10]`` normalized actions."""
        b, t1, v = video.shape[:3]
        _, _, z = self.encode(video.flatten(0, 1))
        feats = self.id_trunk(z).unflatten(0, (b, t1, v)).flatten(2)  # [B, T+1, V*h]
        pairs = torch.cat([feats[:, :-1], feats[:, 1:] - feats[:, :-1]], -1)  # [B, T, 2*V*h]
        return self.id_temporal(pairs.transpose(1, 2)).transpose(1, 2).float()

    def policy(self, images: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """``[B, V, 3, H, W]`` + ``[B, 14]`` -> ``[B, 16, 10]`` normalized actions."""
        b, v = images.shape[:2]
        _, _, z = self.encode(images)
        feats = self.policy_trunk(z).unflatten(0, (b, v)).flatten(1)
        x = torch.cat([feats, self.state_mlp(self.norm_state(state))], -1)
        return self.policy_head(x).unflatten(1, (CHUNK, ACTION_DIM)).float()


def to_model_images(frames_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 ``[..., H, W, 3]`` -> float ``[..., 3, H, W]`` in [-1, 1], channels-last in memory whatever the input's
    strides: frames decoded from a dataset arrive channel-planar, and the kernels pick their algorithm (and so their
    rounding: up to 9 levels apart in bfloat16) from the layout, so equal pixels must reach them in the same one."""
    return frames_uint8.contiguous().movedim(-1, -3).float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float ``[..., 3, H, W]`` in [-1, 1] -> uint8 ``[..., H, W, 3]``."""
    return images.add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8).movedim(-3, -1)
