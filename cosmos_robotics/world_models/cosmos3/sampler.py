"""Our own denoising loop for Cosmos 3 action calls: batched, CUDA-graph-replayable, and open to layouts that
``Cosmos3OmniPipeline.__call__`` cannot express (Policy-DROID's state row and action offset, a guidance interval).

Why not the pipeline's loop: it runs one sample per call, re-embeds the text and recomputes the rotary tables at
every step, reads timesteps back to the host (``.item()``) and checks domain ids on the host, so a step can be
neither captured in a CUDA graph nor batched. Here the per-call work (tokenisation, VAE encode, initial noise,
positions, rotary tables, the text pathway's K/V) is done once, and one step is a pure function of
(vision latents ``[B, C, T, H, W]``, action latents ``[B, Ta, 64]``, timestep) built from the same layer math as
:mod:`acceleration`. Samples of a batch share the prompt and the layout; each keeps its own seed, so a batched
call returns what the same requests return one by one (up to the batched matrix products' rounding).

The preparation reuses the pipeline's own pieces (``tokenize_prompt``, ``prepare_latents``, the text segment and the
mRoPE position helpers). The scheduler is the pipeline's UniPC, read off once per schedule as the linear map it is
(:mod:`linear_schedule`), so the whole loop is device arithmetic and replays as one CUDA graph.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from cosmos_robotics.errors import UnsupportedModeError
from cosmos_robotics.world_models.cosmos3.acceleration import Acceleration, _gen_pathway, _und_pathway
from cosmos_robotics.world_models.cosmos3.graphs import LoopGraphs
from cosmos_robotics.world_models.cosmos3.linear_schedule import LinearSchedule, linear_schedule, schedule_key


@dataclass
class Branch:
    """One prompt (cond or uncond): token ids and the rotary tables of text and generation tokens."""

    input_ids: torch.Tensor
    positions: torch.Tensor  # [3, N] mRoPE positions of text, vision and action tokens
    cos_und: torch.Tensor
    sin_und: torch.Tensor
    cos_gen: torch.Tensor
    sin_gen: torch.Tensor
    text_key: tuple = ()  # exact identity of the text pathway's inputs: device and token ids (see make_branch)

    @property
    def und_len(self) -> int:
        return int(self.input_ids.shape[0])


@dataclass
class Layout:
    """What every sample of a batch shares: the token layout, the masks and the prompts."""

    grid: tuple[int, int, int]  # vision latent frames, patch rows, patch cols
    latent_hw: tuple[int, int]  # latent height/width before padding to the patch size
    vision_noisy: torch.Tensor  # [T] 1 = noisy latent frame
    action_noisy: torch.Tensor | None  # [Ta] 1 = noisy action row (None: no action tokens)
    domain_id: int
    raw_action_dim: int | None
    cond: Branch
    uncond: Branch | None  # None: guidance 1 (one forward per step)

    def key(self) -> tuple:
        ta = None if self.action_noisy is None else tuple(self.action_noisy.tolist())
        return (self.grid, self.latent_hw, tuple(self.vision_noisy.tolist()), ta, self.domain_id)


@dataclass
class Sample:
    """One request's initial state: float32 latents ``[C, T, H, W]`` and action latents ``[Ta, 64]``."""

    latents: torch.Tensor
    action_latents: torch.Tensor | None


@dataclass
class SamplerOutput:
    latents: torch.Tensor  # [B, C, T, H, W] float32
    action_latents: torch.Tensor | None  # [B, Ta, D] float32, D = raw action width
    step_times_s: list[float] = field(default_factory=list)


def placement(pipe, device: torch.device | None, dtype: torch.dtype | None) -> tuple[torch.device, torch.dtype]:
    """(execution device, transformer dtype): the given ones, else read off the pipeline."""
    return (device or pipe._get_execution_device(), dtype or pipe.transformer.dtype)


def rotary(transformer, position_ids: torch.Tensor, und_len: int, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """Rotary tables of a ``[3, N]`` mRoPE position list, split into text and generation parts."""
    cos, sin = transformer.rotary_emb(position_ids=position_ids.unsqueeze(1), device=position_ids.device, dtype=dtype)
    cos, sin = cos.squeeze(0), sin.squeeze(0)
    return cos[:und_len], sin[:und_len], cos[und_len:], sin[und_len:]


def make_branch(pipe, token_ids: list[int], grid: tuple[int, int, int], fps: float, action_rows: int | None,
                action_offset: int, device: torch.device, dtype: torch.dtype) -> Branch:
    """Positions of [text, vision, actions] as the pipeline lays them out; actions start ``action_offset``
    frames after frame 0 (the pipeline: 1; Policy-DROID's state row: 0)."""
    from diffusers.pipelines.cosmos.pipeline_cosmos3_omni import get_3d_mrope_ids_vae_tokens

    config = pipe.transformer.config
    text = pipe._prepare_text_segment(token_ids, device=device)
    offset = text["vision_start_temporal_offset"]
    fps_mod = fps if config.enable_fps_modulation else None
    common = dict(reset_spatial_indices=config.unified_3d_mrope_reset_spatial_ids, fps=fps_mod,
                  base_fps=float(config.base_fps))  # fmt: skip
    vision_ids, _ = get_3d_mrope_ids_vae_tokens(*grid, offset, temporal_compression_factor=pipe.vae_scale_factor_temporal,
                                                **common)  # fmt: skip
    segments = [text["text_mrope_ids"], vision_ids.to(device)]
    if action_rows is not None:
        action_ids, _ = get_3d_mrope_ids_vae_tokens(
            action_rows, 1, 1, offset, temporal_compression_factor=1,
            base_temporal_compression_factor=pipe.vae_scale_factor_temporal, start_frame_offset=action_offset, **common,
        )  # fmt: skip
        segments.append(action_ids.to(device))
    positions = torch.cat(segments, dim=1)
    und_len = text["und_len"]
    # The text's length and mRoPE positions follow from its token ids alone (diffusers' _prepare_text_segment), so
    # the host-side ids identify the text pathway's inputs without reading anything back from the device.
    text_key = (str(device), tuple(token_ids))
    return Branch(text["input_ids"], positions, *rotary(pipe.transformer, positions, und_len, dtype),
                  text_key=text_key)


def _patchify(latents: torch.Tensor, p: int) -> torch.Tensor:
    """``[B, C, T, H, W]`` -> ``[B, T*hp*wp, p*p*C]`` (zero-padded to the patch size, as the transformer does)."""
    b, c, t, h, w = latents.shape
    hp, wp = -(-h // p), -(-w // p)
    if (hp * p, wp * p) != (h, w):
        latents = torch.nn.functional.pad(latents, (0, wp * p - w, 0, hp * p - h))
    x = latents.reshape(b, c, t, hp, p, wp, p).permute(0, 2, 3, 5, 4, 6, 1)
    return x.reshape(b, t * hp * wp, p * p * c)


def _unpatchify(tokens: torch.Tensor, grid: tuple[int, int, int], hw: tuple[int, int], p: int) -> torch.Tensor:
    b = tokens.shape[0]
    t, hp, wp = grid
    x = tokens.reshape(b, t, hp, wp, p, p, -1).permute(0, 6, 1, 2, 4, 3, 5)
    return x.reshape(b, -1, t, hp * p, wp * p)[..., : hw[0], : hw[1]]


class ActionSampler:
    """Batched action-call denoising on a ``Cosmos3OmniPipeline``'s transformer and scheduler.

    ``acceleration`` (optional) supplies the fused / FP8 weights, the attention kernel and the compiled layer
    body; ``cuda_graphs`` replays the whole loop from a graph captured once per (batch, layout, schedule).
    """

    def __init__(self, pipe, acceleration: Acceleration | None = None, cuda_graphs: bool = False):
        self.pipe = pipe
        self.acceleration = acceleration
        layers = pipe.transformer.layers
        self.fused = acceleration.fused if acceleration and acceleration.fused else [None] * len(layers)
        self.fp8 = acceleration.fp8 if acceleration and acceleration.fp8 else [None] * len(layers)
        self.gen_fn = acceleration.gen_fn if acceleration else _gen_pathway
        self.backend = acceleration.config.attention_backend if acceleration else "default"
        self.graphs = LoopGraphs(enabled=cuda_graphs)
        # Read once: both walk every module of the transformer (~5 ms a call on an H200 host, run 11).
        self.device, self.dtype = placement(pipe, None, None)
        self._schedules: dict[str, LinearSchedule | None] = {}

    # -- per call -------------------------------------------------------------------------------------------
    @torch.no_grad()
    def text_kv(self, branch: Branch) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The text pathway, per layer (K roped for the generation pathway, V). With ``text_kv_reuse`` it is kept
        in the acceleration's text cache, so calls with the same prompt (a control loop's every chunk) skip it."""
        cache = self.acceleration.text_cache if self.acceleration and self.acceleration.config.text_kv_reuse else None
        if cache is not None:
            cache.begin_forward(("sampler", *branch.text_key))
        und = self.pipe.transformer.embed_tokens(branch.input_ids)
        kv = []
        for index, (layer, fused) in enumerate(zip(self.pipe.transformer.layers, self.fused, strict=True)):
            cached = cache.lookup(index) if cache is not None else None
            if cached is None:
                cached = _und_pathway(layer, und, branch.cos_und, branch.sin_und, fused, self.backend)
                if cache is not None:
                    cache.store(index, cached)
            und, k, v = cached
            kv.append((k, v))
        return kv

    def _heads(self, domain_id: int) -> dict[str, torch.Tensor]:
        tr = self.pipe.transformer
        if not tr.action_gen:
            return {}
        if not 0 <= domain_id < tr.num_embodiment_domains:
            raise UnsupportedModeError(f"action domain id: expected 0..{tr.num_embodiment_domains - 1}, got {domain_id}")
        head_in, head_out = tr.action_proj_in, tr.action_proj_out
        return {
            "w_in": head_in.fc.weight[domain_id].view(head_in.input_size, head_in.output_size),
            "b_in": head_in.bias.weight[domain_id],
            "w_out": head_out.fc.weight[domain_id].view(head_out.input_size, head_out.output_size),
            "b_out": head_out.bias.weight[domain_id],
        }

    # -- one step -------------------------------------------------------------------------------------------
    def velocity(self, layout: Layout, statics: dict[str, torch.Tensor], vision: torch.Tensor,
                 action: torch.Tensor | None, timestep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One transformer forward for a batch: masked velocities (vision ``[B, C, T, H, W]``, actions
        ``[B, Ta, D]``) in the transformer's dtype. Pure tensor code (no host reads), so it can be captured."""
        tr = self.pipe.transformer
        p = tr.config.latent_patch_size
        te_dtype = next(tr.time_embedder.parameters()).dtype  # kept in float32 (`_keep_in_fp32_modules`)
        t_emb = tr.time_embedder(tr.time_proj(timestep * tr.config.timestep_scale).to(te_dtype))
        t_emb = t_emb.to(vision.dtype)  # [1, hidden]
        x = tr.proj_in(_patchify(vision, p))
        x = x + statics["vision_noisy_tokens"][:, None] * t_emb
        parts = [x]
        if action is not None:
            a = action @ statics["w_in"] + statics["b_in"] + tr.action_modality_embed
            parts.append(a + statics["action_noisy"][:, None] * t_emb)
        gen = torch.cat(parts, dim=1) if len(parts) > 1 else x
        for index, layer in enumerate(tr.layers):
            gen = self.gen_fn(layer, gen, statics[f"k{index}"], statics[f"v{index}"], statics["cos_gen"],
                              statics["sin_gen"], self.fused[index], self.backend, self.fp8[index])  # fmt: skip
        gen = tr.norm_moe_gen(gen)
        num_vision = x.shape[1]
        v_vision = _unpatchify(tr.proj_out(gen[:, :num_vision]), layout.grid, layout.latent_hw, p)
        v_vision = v_vision * statics["vision_noisy"].view(1, 1, -1, 1, 1)
        v_action = None
        if action is not None:
            v_action = (gen[:, num_vision:] @ statics["w_out"] + statics["b_out"]) * statics["action_noisy"][:, None]
            if layout.raw_action_dim is not None:
                v_action = v_action * statics["action_width_mask"]
        return v_vision, v_action

    def _statics(self, layout: Layout, branch: Branch) -> dict[str, torch.Tensor]:
        tr = self.pipe.transformer
        dtype, device = self.dtype, branch.input_ids.device
        vision_noisy = layout.vision_noisy.to(device, dtype)
        statics = {"cos_gen": branch.cos_gen, "sin_gen": branch.sin_gen, "vision_noisy": vision_noisy,
                   "vision_noisy_tokens": vision_noisy.repeat_interleave(layout.grid[1] * layout.grid[2])}  # fmt: skip
        for index, (k, v) in enumerate(self.text_kv(branch)):
            statics[f"k{index}"], statics[f"v{index}"] = k, v
        if layout.action_noisy is not None:
            statics.update(self._heads(layout.domain_id))
            statics["action_noisy"] = layout.action_noisy.to(device, dtype)
            width = torch.zeros(tr.action_dim, device=device, dtype=dtype)
            width[: layout.raw_action_dim or tr.action_dim] = 1
            statics["action_width_mask"] = width
        return statics

    # -- the loop -------------------------------------------------------------------------------------------
    @torch.no_grad()
    def denoise(self, layout: Layout, samples: Sequence[Sample], num_inference_steps: int, guidance_scale: float,
                guidance_interval: tuple[float, float] | None = None,
                on_denoise_start: Callable[[], None] | None = None) -> SamplerOutput:
        """Run ``num_inference_steps`` scheduler steps on the batch; guidance is applied at timesteps inside
        ``guidance_interval`` (all steps when ``None``), elsewhere the conditional velocity alone is used.

        With a linear scheduler (the Cosmos 3 UniPC) the loop is pure device arithmetic: with ``cuda_graphs`` it
        replays as one graph (then ``step_times_s`` stays empty: no host sees the steps). Otherwise diffusers'
        ``scheduler.step`` runs each step."""
        guided = guidance_scale != 1.0
        if guided and layout.uncond is None:
            raise UnsupportedModeError("guidance_scale != 1 needs the unconditional prompt in the layout")
        latents = torch.stack([s.latents for s in samples])
        actions = None if samples[0].action_latents is None else torch.stack([s.action_latents for s in samples])
        roles = {"cond": layout.cond, **({"uncond": layout.uncond} if guided else {})}
        tensors = {f"{role}.{name}": t for role, branch in roles.items()
                   for name, t in self._statics(layout, branch).items()}  # fmt: skip
        schedule = self._linear_schedule(num_inference_steps)
        if schedule is None:
            if on_denoise_start is not None:
                on_denoise_start()
            return self._stepped(layout, tensors, latents, actions, num_inference_steps, guidance_scale,
                                 guidance_interval)  # fmt: skip
        plan = self._plan(schedule.timesteps, guided, guidance_interval)
        tensors["weights"] = schedule.weight_table(latents.device)
        marks = None if self.graphs.enabled else [mark(latents.device)]
        loop = lambda tensors, x0, a0: self._linear_loop(layout, tensors, x0, a0, schedule, plan,  # noqa: E731
                                                          guidance_scale, marks)  # fmt: skip
        key = (len(samples), layout.key(), tuple(b.und_len for b in roles.values()), schedule, plan, guidance_scale)
        run = self.graphs.runner(key, loop, tensors)
        if on_denoise_start is not None:
            on_denoise_start()
        latents, actions = run(latents, actions)
        return SamplerOutput(latents, actions, intervals(marks, latents.device) if marks else [])

    def _linear_schedule(self, num_steps: int) -> LinearSchedule | None:
        key = schedule_key(self.pipe.scheduler, num_steps)
        if key not in self._schedules:
            self._schedules[key] = linear_schedule(self.pipe.scheduler, num_steps)
        return self._schedules[key]

    @staticmethod
    def _plan(timesteps: Sequence[float], guided: bool, interval: tuple[float, float] | None) -> tuple[bool, ...]:
        """Per step: whether the unconditional pass runs (guided, and the timestep inside the interval)."""
        return tuple(guided and (interval is None or interval[0] <= t <= interval[1]) for t in timesteps)

    @staticmethod
    def _by_role(tensors: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
        """``{"cond.k0": t, ...}`` (flat, as a graph owns them) -> ``{"cond": {"k0": t, ...}, ...}``."""
        roles: dict[str, dict[str, torch.Tensor]] = {}
        for name, t in tensors.items():
            role, _, rest = name.partition(".")
            if rest:
                roles.setdefault(role, {})[rest] = t
        return roles

    def _velocities(self, layout: Layout, statics: dict[str, dict[str, torch.Tensor]], latents: torch.Tensor,
                    actions: torch.Tensor | None, timestep: torch.Tensor, guided: bool, guidance_scale: float):
        """float32 (vision, action) velocities of one step, with classifier-free guidance where ``guided``."""
        vision_in = latents.to(self.dtype)
        action_in = None if actions is None else actions.to(self.dtype)

        def branch(role):
            return (None if out is None else out.float()
                    for out in self.velocity(layout, statics[role], vision_in, action_in, timestep))  # fmt: skip

        v_vision, v_action = branch("cond")
        if guided:
            u_vision, u_action = branch("uncond")
            v_vision = u_vision + guidance_scale * (v_vision - u_vision)
            if v_action is not None:
                v_action = u_action + guidance_scale * (v_action - u_action)
        return v_vision, v_action

    def _linear_loop(self, layout: Layout, tensors: dict[str, torch.Tensor], noise: torch.Tensor,
                     action_noise: torch.Tensor | None, schedule: LinearSchedule, plan: tuple[bool, ...],
                     guidance_scale: float, marks: list | None):
        """Every step as ``sample = w . (noise, velocities so far)``; no host reads, so it can be captured."""
        weights, statics = tensors["weights"], self._by_role(tensors)
        velocities = noise.new_empty((len(schedule), *noise.shape))
        noisy_actions = layout.action_noisy is not None and bool(layout.action_noisy.any())
        action_velocities = action_noise.new_empty((len(schedule), *action_noise.shape)) if noisy_actions else None
        latents, actions = noise, action_noise
        for i, t in enumerate(schedule.timesteps):
            timestep = torch.full((1,), t, device=noise.device, dtype=torch.float32)
            v_vision, v_action = self._velocities(layout, statics, latents, actions, timestep, plan[i], guidance_scale)
            velocities[i] = v_vision
            latents = LinearSchedule.combine(weights, i, noise, velocities)
            if action_velocities is not None:
                action_velocities[i] = v_action
                actions = LinearSchedule.combine(weights, i, action_noise, action_velocities)
                if layout.raw_action_dim is not None:
                    actions[..., layout.raw_action_dim :] = 0
            if marks is not None:
                marks.append(mark(noise.device))
        return self._trim(layout, latents, actions)

    def _stepped(self, layout: Layout, tensors: dict[str, torch.Tensor], latents: torch.Tensor,
                 actions: torch.Tensor | None, num_steps: int, guidance_scale: float,
                 guidance_interval: tuple[float, float] | None) -> SamplerOutput:
        """The loop for a scheduler that is not linear: diffusers' ``scheduler.step`` every step, eagerly."""
        device = latents.device
        scheduler = self.pipe.scheduler
        scheduler.set_timesteps(num_steps, device=device)
        sigmas_on_device(scheduler, device)
        timesteps = scheduler.timesteps
        plan = self._plan(timesteps.detach().cpu().tolist(), guidance_scale != 1.0, guidance_interval)
        noisy_actions = layout.action_noisy is not None and bool(layout.action_noisy.any())
        action_scheduler = copy.deepcopy(scheduler) if noisy_actions else None
        statics = self._by_role(tensors)
        marks = [mark(device)]
        for i, t in enumerate(timesteps):
            timestep = t.to(torch.float32).reshape(1)
            v_vision, v_action = self._velocities(layout, statics, latents, actions, timestep, plan[i], guidance_scale)
            latents = scheduler.step(v_vision.unsqueeze(0), t, latents.unsqueeze(0), return_dict=False)[0].squeeze(0)
            if action_scheduler is not None:
                actions = action_scheduler.step(v_action.unsqueeze(0), t, actions.unsqueeze(0),
                                                return_dict=False)[0].squeeze(0)  # fmt: skip
                if layout.raw_action_dim is not None:
                    actions[..., layout.raw_action_dim :] = 0
            marks.append(mark(device))
        return SamplerOutput(*self._trim(layout, latents, actions), intervals(marks, device))

    @staticmethod
    def _trim(layout: Layout, latents: torch.Tensor, actions: torch.Tensor | None):
        if actions is not None and layout.raw_action_dim is not None:
            actions = actions[..., : layout.raw_action_dim]
        return latents, actions


def sigmas_on_device(scheduler, device: torch.device) -> None:
    """Keep UniPC's sigmas beside the latents. diffusers parks them on the CPU and moves one to the device per use:
    each such blocking copy waits for the queued denoising step, several times per scheduler step, so the GPU
    idles while the host runs the rest of the step. Same values, same device arithmetic."""
    scheduler.sigmas = scheduler.sigmas.to(device)


def mark(device: torch.device):
    if device.type == "cuda":
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event
    return time.perf_counter()


def intervals(marks: list, device: torch.device) -> list[float]:
    """Step durations from marks taken before the loop and after each step (device events: no per-step sync)."""
    if device.type == "cuda":
        marks[-1].synchronize()
        return [a.elapsed_time(b) / 1e3 for a, b in zip(marks, marks[1:], strict=False)]
    return [b - a for a, b in zip(marks, marks[1:], strict=False)]


# --------------------------------------------------------------------------------------------------------------
# Preparation and decoding through the pipeline's own pieces
# --------------------------------------------------------------------------------------------------------------


def noisy_mask(length: int, clean: Sequence[int]) -> torch.Tensor:
    mask = torch.ones(length)
    mask[list(clean)] = 0
    return mask


@torch.no_grad()
def prepare_action_call(pipe, condition, *, prompt: str, fps: float, seed: int, guided: bool,
                        negative_prompt: str | None = None, device: torch.device | None = None,
                        dtype: torch.dtype | None = None) -> tuple[Layout, Sample]:
    """A ``CosmosActionCondition`` call prepared as the pipeline prepares it: same canvas, JSON prompt, VAE
    encode, initial noise (CPU generator seeded with ``seed``) and token positions. ``device`` / ``dtype``: the
    pipeline's execution device and the transformer's dtype, read off the pipeline when not given (a walk over
    every module: :class:`ActionSampler` reads them once and passes them)."""
    device, dtype = placement(pipe, device, dtype)
    num_frames = condition.chunk_size + 1
    (latents, _, action_latents, fps_vision, _, vision_mask, _, action_mask, domain, image_size, raw_dim,
     _) = pipe.prepare_latents(
        num_frames=num_frames, fps=fps, generator=torch.Generator("cpu").manual_seed(seed), device=device,
        dtype=torch.float32, action=condition,
    )  # fmt: skip
    height, width = (int(v) for v in image_size[:2].tolist())
    cond_ids, uncond_ids = pipe.tokenize_prompt(
        prompt, negative_prompt, num_frames=num_frames, height=height, width=width, fps=fps, use_system_prompt=False,
        action_mode=condition.mode, action_view_point=condition.view_point,
    )  # fmt: skip
    p = pipe.transformer.config.latent_patch_size
    _, _, t, h, w = latents.shape
    grid = (t, -(-h // p), -(-w // p))
    rows = None if action_latents is None else action_latents.shape[0]
    layout = Layout(
        grid=grid, latent_hw=(h, w), vision_noisy=1 - vision_mask[:, 0, 0].cpu(),
        action_noisy=None if action_mask is None else 1 - action_mask[:, 0].cpu(),
        domain_id=int(domain[0]) if domain is not None else 0, raw_action_dim=raw_dim,
        cond=make_branch(pipe, cond_ids, grid, fps_vision, rows, 1, device, dtype),
        uncond=make_branch(pipe, uncond_ids, grid, fps_vision, rows, 1, device, dtype) if guided else None,
    )  # fmt: skip
    return layout, Sample(latents[0], action_latents)


def same_layout(a: Layout, b: Layout) -> bool:
    """Whether two prepared calls can share one denoising batch (same layout and prompt tokens)."""
    def ids(branch):
        return None if branch is None else branch.input_ids.tolist()
    return a.key() == b.key() and ids(a.cond) == ids(b.cond) and ids(a.uncond) == ids(b.uncond)


def _queued_copy(host: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``host.to(device, dtype)`` without making the host wait: a copy from pageable memory first waits for all
    queued GPU work (issue 15 run 11: the decode's latent statistics held the host until the denoising graph had
    finished, so the decode's first, host-bound chunk left the GPU idle); one from pinned memory is queued."""
    if device.type != "cuda" or host.device.type != "cpu":
        return host.to(device=device, dtype=dtype)
    return host.to(dtype=dtype).pin_memory().to(device, non_blocking=True)


@torch.no_grad()
def decode_frames(pipe, latents: torch.Tensor) -> list:
    """``[B, C, T, H, W]`` latents -> one uint8 ``[T, H', W', 3]`` video per sample (decoded one at a time)."""
    from cosmos_robotics.world_models.cosmos3.acceleration import frames_uint8

    vae, dtype = pipe.vae, pipe.vae.dtype  # the property walks every module: read it once
    mean = _queued_copy(pipe._vae_latents_mean, latents.device, dtype).view(1, -1, 1, 1, 1)
    inv_std = _queued_copy(pipe._vae_latents_inv_std, latents.device, dtype).view(1, -1, 1, 1, 1)
    videos = []
    for z in latents:
        decoded = vae.decode(z[None].to(dtype) / inv_std + mean).sample.to(latents.dtype)
        videos.append(frames_uint8(pipe.video_processor.postprocess_video(decoded, output_type="pt")[0]))
    return videos
