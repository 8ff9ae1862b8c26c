"""Cosmos 3 forward/inverse dynamics and policy through ``diffusers.Cosmos3OmniPipeline`` (diffusers 0.42.1).

The pipeline's defaults are wrong for action calls, so every call passes what the cookbook uses: the embodiment
preset's fps, steps and guidance, ``use_system_prompt=False``, the domain / view point / resolution tier of the
adapter, and a UniPC scheduler rebuilt with the request's ``flow_shift`` and ``use_karras_sigmas=False``.

Frame sizes: the pipeline picks the tier canvas whose aspect ratio is closest to the input (first rounded to a
multiple of 16, which squashes DROID's 640x540 to 640x528), downscales the input to fit (never upscales), pads, and
crops the result back to the content. Returned frames are therefore ``[T+1, 16*floor(h/16), 16*floor(w/16), 3]``
uint8 for an input of ``h x w`` that fits its canvas (AV 832x480 -> 832x480, UMI 256x256 @ tier 256 -> 256x256,
DROID 640x540 -> 640x528); frame 0 is the re-decoded conditioning frame. Actions are model space ``[T, D]``.

Calls run through the pipeline itself, except where it cannot: Cosmos3-Nano-Policy-DROID (``droid_joint``,
:mod:`policy_droid`), ``generate_batch`` (several requests of one layout in one denoising batch) and the opt-in
``AccelerationConfig(cuda_graphs=True)`` go through :class:`~cosmos_robotics.world_models.cosmos3.sampler.ActionSampler`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from cosmos_robotics.embodiments import ActionMode, get_adapter
from cosmos_robotics.errors import (
    ActionContractError,
    ModelNotAvailableError,
    UnknownEmbodimentError,
    UnsupportedModeError,
)
from cosmos_robotics.world_models.base import BackendOutput, WorldModel, WorldModelRequest, WorldModelResult

DEFAULT_MODEL = "nvidia/Cosmos3-Nano"


def _diffusers_action_widths() -> dict[str, int]:
    from diffusers.pipelines.cosmos.pipeline_cosmos3_omni import _EMBODIMENT_TO_RAW_ACTION_DIM

    return _EMBODIMENT_TO_RAW_ACTION_DIM


def _unavailable_reason(exc: BaseException) -> str:
    """The hub's reason behind a failed load (diffusers re-raises hub errors as a generic ``OSError``)."""
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    chain, seen = [exc], set()
    while chain[-1] is not None and id(chain[-1]) not in seen:
        seen.add(id(chain[-1]))
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    for error in chain[:-1]:
        if isinstance(error, GatedRepoError):
            return "the repository is gated and this account has no access"
        if isinstance(error, RepositoryNotFoundError):
            return "no such repository (or it is private and no token was given)"
        if isinstance(error, LocalEntryNotFoundError) or "not fully cached locally" in str(error):
            return "the weights are not in the local cache and downloads are off"
    return f"loading failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"


def _cached_snapshot_when_offline(model: str) -> str:
    """Offline (``HF_HUB_OFFLINE=1``) a hub id is its cached snapshot directory, or a typed error now: handed the
    id, diffusers would log a "couldn't connect to the Hub" warning per component before failing the same way."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    if not constants.is_offline_mode():
        return model
    try:
        return snapshot_download(model, local_files_only=True)
    except LocalEntryNotFoundError:
        raise ModelNotAvailableError(model, "the weights are not in the local cache and downloads are off") from None


def _load_pipeline(model: str, devices: tuple[str, ...] | None = None, **kwargs):
    """``Cosmos3OmniPipeline.from_pretrained`` with missing / gated / offline weights turned into one typed error.

    ``devices``: the transformer's decoder layers are split over them (:mod:`device_map`: planned on the meta
    device, each weight loaded straight onto its device); everything else goes to ``devices[0]``."""
    looks_local = os.path.isabs(model) or model.startswith(".") or os.path.exists(model) or model.count("/") != 1
    if looks_local and not (Path(model) / "model_index.json").is_file():
        raise ModelNotAvailableError(model, "no diffusers pipeline directory (model_index.json) there")
    path = model if looks_local else _cached_snapshot_when_offline(model)
    from diffusers import Cosmos3OmniPipeline  # seconds to import: only once there is something to load
    from huggingface_hub.errors import HfHubHTTPError

    try:
        if devices is None:
            return Cosmos3OmniPipeline.from_pretrained(path, use_safetensors=True, **kwargs)
        transformer = _load_split_transformer(path, devices, kwargs["dtype"])
        pipe = Cosmos3OmniPipeline.from_pretrained(path, use_safetensors=True, transformer=transformer, **kwargs)
        pipe.vae.to(devices[0])
        return pipe
    except (HfHubHTTPError, OSError) as exc:
        raise ModelNotAvailableError(model, _unavailable_reason(exc)) from exc


def _load_split_transformer(model: str, devices: tuple[str, ...], dtype: torch.dtype):
    from accelerate import init_empty_weights
    from diffusers.models.transformers.transformer_cosmos3 import Cosmos3OmniTransformer

    from cosmos_robotics.world_models.cosmos3.device_map import (
        dispatch_split,
        parameter_keys_allowed,
        plan_split,
    )

    config = Cosmos3OmniTransformer.load_config(model, subfolder="transformer")
    with init_empty_weights():
        shape = Cosmos3OmniTransformer.from_config(config).to(dtype)
    shape.time_embedder.float()  # `_keep_in_fp32_modules`, as the loader does
    split = plan_split(shape, devices)
    with parameter_keys_allowed():
        transformer = Cosmos3OmniTransformer.from_pretrained(model, subfolder="transformer", torch_dtype=dtype,
                                                             device_map=split.device_map, use_safetensors=True)
    return dispatch_split(transformer, split)


class Cosmos3DiffusersBackend(WorldModel):
    """One ``Cosmos3OmniPipeline``; batches of requests sharing a layout denoise together (``max_batch`` each)."""

    name = "diffusers"

    def __init__(self, pipe, *, guardrails: bool = False, acceleration="auto", progress: bool = True,
                 max_batch: int = 8, policy_droid=None):
        """``acceleration``: ``"auto"`` (default) installs ``AccelerationConfig()`` when the transformer sits on a
        CUDA device and nothing otherwise (on CPU, or offloaded, compile and cuDNN attention do not pay off);
        an ``AccelerationConfig`` installs exactly that (the opt-in ``fp8`` / ``cuda_graphs`` / VAE levers
        included); ``None`` keeps the plain pipeline. ``max_batch``: most requests per ``generate_batch`` batch.
        ``policy_droid``: a :class:`PolicyDroidSpec` for ``droid_joint`` calls (default: Nano's, guidance at every
        step; Edge-Policy-DROID uses ``guidance_interval=(960, 1001)``)."""
        from cosmos_robotics.world_models.cosmos3.acceleration import AccelerationConfig, apply_acceleration
        from cosmos_robotics.world_models.cosmos3.policy_droid import PolicyDroidSpec

        if max_batch < 1:
            raise ValueError(f"max_batch: expected >= 1, got {max_batch}")
        self.pipe = pipe
        self.guardrails = guardrails
        self._base_scheduler_config = dict(pipe.scheduler.config)
        self._flow_shift: float | None = None  # the shipped scheduler is replaced on the first call
        if isinstance(acceleration, str):
            if acceleration != "auto":
                raise ValueError(f"acceleration: expected 'auto', None or an AccelerationConfig, got {acceleration!r}")
            acceleration = AccelerationConfig() if pipe.transformer.device.type == "cuda" else None
        self.acceleration = None if acceleration is None else apply_acceleration(pipe, acceleration)
        self.max_batch = max_batch
        self.policy_droid = policy_droid or PolicyDroidSpec()
        self._sampler = None
        pipe.set_progress_bar_config(disable=not progress, leave=False)

    @property
    def sampler(self):
        """Our denoising loop on this pipeline (created on first use; keeps its captured CUDA graphs)."""
        if self._sampler is None:
            from cosmos_robotics.world_models.cosmos3.sampler import ActionSampler

            graphs = self.acceleration is not None and self.acceleration.config.cuda_graphs
            self._sampler = ActionSampler(self.pipe, self.acceleration, cuda_graphs=graphs)
        return self._sampler

    @classmethod
    def from_pretrained(
        cls,
        model_id_or_dir: str | Path = DEFAULT_MODEL,
        *,
        torch_dtype: torch.dtype | None = None,
        device: str | torch.device | None = None,
        devices: int | Sequence[str] | None = None,
        cpu_offload: bool = False,
        group_offload: bool = False,
        guardrails: bool = False,
        acceleration="auto",
        progress: bool = True,
    ) -> Cosmos3DiffusersBackend:
        """Load a diffusers-format Cosmos 3 checkpoint (hub id or local directory), safetensors only.

        ``torch_dtype`` defaults to bfloat16 on CUDA and float32 on CPU; ``device`` to CUDA when available.
        ``devices`` (instead of ``device``): split the transformer's decoder layers over these devices (``N``: the
        first N GPUs), for models one GPU cannot hold (Cosmos3-Super); memory splits, latency does not
        (:mod:`~cosmos_robotics.world_models.cosmos3.device_map`). ``cpu_offload`` keeps only the running component on the GPU; ``group_offload`` streams transformer blocks
        (lowest memory). ``guardrails`` turns on the Cosmos safety checker (needs ``cosmos_guardrail`` and its
        gated models). ``acceleration``: ``"auto"`` (default) applies ``AccelerationConfig()`` (all exact speed
        levers, ~1.6x per call on an H100) when the model ends up on CUDA without offloading, nothing otherwise;
        an ``AccelerationConfig`` is applied as given; ``None`` keeps the plain diffusers pipeline.
        On CUDA without offload, a checkpoint that cannot fit the free memory is refused before loading
        (``InsufficientGpuMemoryError``, listing what would fit).
        """
        if cpu_offload + group_offload + (devices is not None) > 1:
            raise ValueError("cpu_offload, group_offload and devices: expected at most one, got several")
        if devices is not None and device is not None:
            raise ValueError(f"device and devices: expected one, got {device!r} and {devices!r}")
        split = None
        if devices is not None:
            from cosmos_robotics.world_models.cosmos3.device_map import resolve_devices

            split = resolve_devices(devices)
            device = split[0]
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if torch_dtype is None:
            torch_dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        model = str(model_id_or_dir)
        if guardrails:
            from diffusers.utils import is_cosmos_guardrail_available

            if not is_cosmos_guardrail_available():
                raise ModelNotAvailableError(
                    "nvidia/Cosmos-Guardrail1", "guardrails need `pip install cosmos_guardrail`; or pass guardrails=False"
                )
        extra: dict[str, Any] = {} if guardrails else {"safety_checker": None}
        if device.type == "cuda" and torch.cuda.is_available() and not (cpu_offload or group_offload or split):
            from cosmos_robotics.world_models.cosmos3.catalog import require_generator_fit

            precision = "fp32" if torch_dtype == torch.float32 else "bf16"
            require_generator_fit(model, precision, torch.cuda.mem_get_info(device)[0] / 2**30, str(device))
        pipe = _load_pipeline(model, split, dtype=torch_dtype, enable_safety_checker=guardrails, **extra)
        if cpu_offload:
            pipe.enable_model_cpu_offload(device=device)
        elif group_offload:
            pipe.enable_group_offload(
                onload_device=device, offload_type="block_level", num_blocks_per_group=1,
                use_stream=device.type == "cuda",
            )
        elif split is None:  # a split pipeline was placed while loading
            pipe.to(device)
        return cls(pipe, guardrails=guardrails, acceleration=acceleration, progress=progress)

    # -- capabilities ---------------------------------------------------------------------------------------
    def unsupported_reason(self, embodiment: str, mode: ActionMode | str) -> str | None:
        """Why this backend cannot run ``mode`` for ``embodiment`` (``None`` when it can)."""
        try:
            adapter = get_adapter(embodiment)
        except UnknownEmbodimentError as exc:
            return str(exc)
        if ActionMode(mode) not in adapter.modes:
            return f"embodiment {adapter.name!r} does not offer {ActionMode(mode).value}"
        if adapter.state_conditioned:
            return None  # Policy-DROID: our own layout (policy_droid.py), not the pipeline's width table
        widths = _diffusers_action_widths()
        if adapter.domain_name not in widths:
            return f"domain {adapter.domain_name!r} is not accepted by Cosmos3OmniPipeline; accepted: {sorted(widths)}"
        if widths[adapter.domain_name] != adapter.action_dim:
            return (f"domain {adapter.domain_name!r} is {widths[adapter.domain_name]}D in diffusers, the "
                    f"{adapter.name!r} adapter is {adapter.action_dim}D")
        return None

    def supports(self, embodiment: str, mode: ActionMode) -> bool:
        return self.unsupported_reason(embodiment, mode) is None

    def _checked(self, request: WorldModelRequest) -> WorldModelRequest:
        reason = self.unsupported_reason(request.embodiment, request.mode)
        if reason is not None:
            raise UnsupportedModeError(f"backend {self.name!r}: {reason}")
        request = super()._checked(request)
        if not request.decode_video and request.mode is ActionMode.FORWARD_DYNAMICS:
            raise UnsupportedModeError("decode_video=False: forward dynamics returns only a video; use it for "
                                       "inverse dynamics or policy")
        return request

    def generate_batch(self, requests: Sequence[WorldModelRequest]) -> list[WorldModelResult]:
        """Requests that share embodiment, mode, prompt, chunk, sampling settings and frame size denoise in one
        batch (up to ``max_batch``); each keeps its own seed, so results equal one-by-one calls up to rounding.
        ``timings`` of a batched result are the batch's; ``extras["batch_size"]`` says how many shared it."""
        checked = [self._checked(r) for r in requests]
        groups: dict[tuple, list[int]] = {}
        for index, r in enumerate(checked):
            key = (r.adapter.name, r.mode, r.prompt, r.chunk_size, r.num_inference_steps, r.guidance_scale,
                   r.flow_shift, r.decode_video, r.frames.shape[1:], None if r.state is None else r.state.shape)
            groups.setdefault(key, []).append(index)
        results: list[WorldModelResult | None] = [None] * len(checked)
        for indexes in groups.values():
            for begin in range(0, len(indexes), self.max_batch):
                part = indexes[begin : begin + self.max_batch]
                start = time.perf_counter()
                outputs = self._sample([checked[i] for i in part])
                for i, out in zip(part, outputs, strict=True):
                    results[i] = self._result(checked[i], out, start)
        return results  # type: ignore[return-value]

    # -- one call -------------------------------------------------------------------------------------------
    def _set_flow_shift(self, flow_shift: float) -> None:
        if flow_shift != self._flow_shift:
            from diffusers import UniPCMultistepScheduler

            self.pipe.scheduler = UniPCMultistepScheduler.from_config(
                self._base_scheduler_config, flow_shift=flow_shift, use_karras_sigmas=False
            )
            self._flow_shift = flow_shift

    def _condition(self, request: WorldModelRequest):
        from diffusers import CosmosActionCondition

        adapter = request.adapter
        preset = adapter.preset
        common = dict(mode=request.mode.value, chunk_size=request.chunk_size, domain_name=adapter.domain_name,
                      resolution_tier=preset.resolution_tier, view_point=preset.view_point)
        if request.mode is ActionMode.INVERSE_DYNAMICS:
            needed = request.chunk_size + 1
            if len(request.frames) < needed:
                raise ActionContractError(adapter.name, "frames", f">= {needed} frames (chunk {request.chunk_size} + 1)",
                                          f"{len(request.frames)} frames")
            return CosmosActionCondition(video=[Image.fromarray(f) for f in request.frames[:needed]], **common)
        image = Image.fromarray(request.frames[0])
        if request.mode is ActionMode.FORWARD_DYNAMICS:
            return CosmosActionCondition(image=image, raw_actions=torch.from_numpy(request.actions).float(), **common)
        return CosmosActionCondition(image=image, **common)

    def _generate(self, request: WorldModelRequest) -> BackendOutput:
        graphs = self.acceleration is not None and self.acceleration.config.cuda_graphs
        if request.adapter.state_conditioned or graphs:
            return self._sample([request])[0]
        self._set_flow_shift(request.flow_shift)
        condition = self._condition(request)
        device = self.sampler.device
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        marks: dict[str, Any] = {"steps": []}

        def first_forward(_module, _args):
            marks.setdefault("denoise_start", time.perf_counter())

        def step_end(_pipe, _step, _timestep, callback_kwargs):
            sync()
            marks["steps"].append(time.perf_counter())
            return callback_kwargs

        kwargs = dict(
            prompt=request.prompt, fps=float(request.adapter.preset.fps),
            num_inference_steps=request.num_inference_steps, guidance_scale=request.guidance_scale,
            use_system_prompt=False, generator=torch.Generator("cpu").manual_seed(request.seed),
            enable_safety_check=self.guardrails, callback_on_step_end=step_end,
        )
        hook = self.pipe.transformer.register_forward_pre_hook(first_forward)
        start = time.perf_counter()
        try:
            if request.decode_video:
                frames, actions = self._frames_and_actions(condition, kwargs)
            else:
                frames, actions = None, self._actions_only(condition, kwargs)
        finally:
            hook.remove()
        sync()
        end = time.perf_counter()
        steps = marks["steps"]
        denoise_start = marks.get("denoise_start", start)
        timings = {
            "pipeline_s": end - start,
            "prepare_s": denoise_start - start,  # tokenize + VAE encode
            "denoise_s": (steps[-1] if steps else end) - denoise_start,
            "decode_s": end - (steps[-1] if steps else end),
        }
        step_times = np.diff([denoise_start, *steps]).tolist()  # per step; timings stay additive over chunks
        if actions is not None:
            actions = actions.float().numpy()
        return BackendOutput(frames, actions, timings, {"step_times_s": step_times})

    def _frames_and_actions(self, condition, kwargs: dict[str, Any]) -> tuple[np.ndarray, torch.Tensor | None]:
        """Video calls: frames rounded to uint8 on the device (the ``"np"`` output converts floats on the CPU)."""
        from cosmos_robotics.world_models.cosmos3 import acceleration

        frames, actions = acceleration.call_frames_uint8(self.pipe, action=condition, **kwargs)
        return frames, (actions[0] if actions else None)

    def _actions_only(self, condition, kwargs: dict[str, Any]) -> torch.Tensor:
        """ID / policy without the VAE decode (``output_type="latent"`` still returns the actions)."""
        from cosmos_robotics.world_models.cosmos3 import acceleration

        return acceleration.call_action_only(self.pipe, action=condition, **kwargs)

    # -- our own loop: Policy-DROID, batches, CUDA graphs ----------------------------------------------------
    def _prepare(self, request: WorldModelRequest):
        from cosmos_robotics.world_models.cosmos3.policy_droid import prepare_policy_droid
        from cosmos_robotics.world_models.cosmos3.sampler import prepare_action_call

        guided = request.guidance_scale != 1.0
        placed = dict(device=self.sampler.device, dtype=self.sampler.dtype)
        if request.adapter.state_conditioned:
            if request.state is None:
                raise ActionContractError("droid_joint", "state", "[8] = [q(7), 1 - gripper] (adapter.encode_state)",
                                          "None")  # fmt: skip
            return prepare_policy_droid(self.pipe, request.frames[0], request.state, instruction=request.prompt,
                                        chunk=request.chunk_size, seed=request.seed, guided=guided,
                                        spec=self.policy_droid, **placed)  # fmt: skip
        return prepare_action_call(self.pipe, self._condition(request), prompt=request.prompt,
                                   fps=float(request.adapter.preset.fps), seed=request.seed, guided=guided,
                                   **placed)  # fmt: skip

    def _sample(self, requests: list[WorldModelRequest]) -> list[BackendOutput]:
        """Denoise requests of one layout as one batch through :class:`ActionSampler`.

        The phases are timed with device events, not host synchronisations: the host queues the decode while the
        denoising graph still runs, so the decode's host work (small first chunk, compiled-region lookups) is
        hidden behind it (issue 15 run 11: ~8 ms of idle GPU between the two otherwise)."""
        from cosmos_robotics.world_models.cosmos3.sampler import decode_frames, intervals, mark, same_layout

        first = requests[0]
        self._set_flow_shift(first.flow_shift)
        device = self.sampler.device
        start = time.perf_counter()
        marks = [mark(device)]
        prepared = [self._prepare(r) for r in requests]
        layout = prepared[0][0]
        if not all(same_layout(layout, other) for other, _ in prepared[1:]):
            raise UnsupportedModeError("generate_batch: these requests do not share one token layout")
        policy = first.adapter.state_conditioned
        out = self.sampler.denoise(
            layout, [sample for _, sample in prepared], first.num_inference_steps, first.guidance_scale,
            guidance_interval=self.policy_droid.guidance_interval if policy else None,
            on_denoise_start=lambda: marks.append(mark(device)),
        )  # fmt: skip
        marks.append(mark(device))
        videos = decode_frames(self.pipe, out.latents) if first.decode_video else [None] * len(requests)
        marks.append(mark(device))
        prepare_s, denoise_s, decode_s = intervals(marks, device)  # waits for the last mark
        end = time.perf_counter()
        actions = None
        if out.action_latents is not None and first.mode is not ActionMode.FORWARD_DYNAMICS:
            history = self.policy_droid.history_rows if policy else 0
            actions = out.action_latents[:, history:].float().cpu().numpy()
        timings = {"pipeline_s": end - start, "prepare_s": prepare_s, "denoise_s": denoise_s, "decode_s": decode_s}
        extras = {"step_times_s": out.step_times_s, "batch_size": len(requests)}
        return [BackendOutput(videos[i], None if actions is None else actions[i], dict(timings), dict(extras))
                for i in range(len(requests))]  # fmt: skip
