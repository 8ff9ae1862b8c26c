"""The one world-model interface every backend implements and everything downstream uses.

A backend only implements :meth:`WorldModel._generate` for a single validated request. Validation against the
embodiment's contract, preset defaults, robot-space decoding, batching fallback and multi-chunk rollouts are done
here once, so all backends (Cosmos 3 through diffusers, remote servers, the embedded default) behave the same.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cosmos_robotics.embodiments import ActionMode, EmbodimentAdapter, RobotCommand, get_adapter
from cosmos_robotics.errors import ActionContractError, UnsupportedModeError


@dataclass(frozen=True)
class WorldModelRequest:
    """One call. ``None`` settings take the embodiment's preset (chunk, steps, guidance, flow shift, prompt)."""

    mode: ActionMode
    embodiment: str
    frames: np.ndarray  # uint8 [F, H, W, 3]; FD/policy condition on frame 0, ID reads chunk+1 frames
    actions: np.ndarray | None = None  # model-space [T, D] (FD only)
    prompt: str | None = None
    state: np.ndarray | None = None  # policy state row (e.g. Policy-DROID [q(7), 1 - gripper])
    chunk_size: int | None = None
    seed: int = 0
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    flow_shift: float | None = None
    decode_video: bool = True  # False: action-only calls skip the VAE decode
    initial_pose: np.ndarray | None = None  # where decoded robot-space poses start
    # Robot-space decoding of ID/policy actions: None = when it means something (a start pose is given, or the
    # contract is absolute, e.g. joint targets); True = also from the identity pose; False = model space only.
    decode_actions: bool | None = None

    @property
    def adapter(self) -> EmbodimentAdapter:
        return get_adapter(self.embodiment)

    def resolved(self) -> WorldModelRequest:
        """Fill preset defaults and check the request against the embodiment's contract."""
        adapter = self.adapter
        mode = adapter.check_mode(self.mode)
        preset = adapter.preset
        frames = np.asarray(self.frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
            raise ActionContractError(adapter.name, "frames", "uint8 [F, H, W, 3] with F >= 1",
                                      f"{frames.dtype} {frames.shape}")
        chunk = self.chunk_size or preset.chunk_size
        if chunk > preset.chunk_size or chunk < 1:
            raise ActionContractError(adapter.name, "chunk_size", f"1..{preset.chunk_size}", str(chunk))
        actions = self.actions
        if mode is ActionMode.FORWARD_DYNAMICS:
            if actions is None:
                raise ActionContractError(adapter.name, "actions", "a model-space chunk for forward dynamics", "None")
            actions = adapter.validate_chunk(actions)
            if self.chunk_size is None:
                chunk = len(actions)
        elif actions is not None:
            raise ActionContractError(adapter.name, "actions", f"None for {mode.value}", "an action chunk")
        if mode is ActionMode.INVERSE_DYNAMICS and len(frames) < 2:
            raise ActionContractError(adapter.name, "frames", f"a video of {chunk + 1} frames for inverse dynamics",
                                      f"{len(frames)} frame(s)")
        return replace(
            self, mode=mode, frames=frames, actions=actions, chunk_size=chunk,
            prompt=preset.prompt if self.prompt is None else self.prompt,
            num_inference_steps=self.num_inference_steps or preset.num_inference_steps,
            guidance_scale=preset.guidance_scale if self.guidance_scale is None else self.guidance_scale,
            flow_shift=preset.flow_shift if self.flow_shift is None else self.flow_shift,
        )

    def decoded(self, actions: np.ndarray | None) -> RobotCommand | None:
        """The robot-space command of ID/policy ``actions`` when ``decode_actions`` asks for it (see the field)."""
        if actions is None or self.mode is ActionMode.FORWARD_DYNAMICS or self.decode_actions is False:
            return None
        adapter = self.adapter
        if self.decode_actions or self.initial_pose is not None or not adapter.needs_start_pose:
            return adapter.decode(actions, self.initial_pose)
        return None

    def settings(self) -> dict[str, Any]:
        adapter = self.adapter
        return {
            "mode": str(self.mode), "embodiment": adapter.name, "domain_name": adapter.domain_name,
            "chunk_size": self.chunk_size, "fps": adapter.preset.fps, "resolution_tier": adapter.preset.resolution_tier,
            "view_point": adapter.preset.view_point, "prompt": self.prompt, "seed": self.seed,
            "num_inference_steps": self.num_inference_steps, "guidance_scale": self.guidance_scale,
            "flow_shift": self.flow_shift, "decode_video": self.decode_video,
        }


@dataclass
class WorldModelResult:
    """Frames (``[T+1, H, W, 3]`` uint8, frame 0 = the conditioning frame), model-space and robot-space actions."""

    request: WorldModelRequest
    frames: np.ndarray | None
    actions: np.ndarray | None
    command: RobotCommand | None = None
    timings: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # backend-specific outputs (e.g. predicted state)


@dataclass
class BackendOutput:
    """What a backend's ``_generate`` returns; the base class adds decoding, settings and total time."""

    frames: np.ndarray | None
    actions: np.ndarray | None
    timings: dict[str, float] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


class WorldModel(ABC):
    """Forward dynamics, inverse dynamics and policy for one or more embodiments."""

    name: str = "world-model"

    @abstractmethod
    def _generate(self, request: WorldModelRequest) -> BackendOutput:
        """Run one resolved request; return model-space actions for ID/policy (``None`` for FD)."""

    def supports(self, embodiment: str, mode: ActionMode) -> bool:
        return True

    def runtime_info(self) -> dict[str, Any]:
        """How this backend runs on this machine (device, numeric path, CPU), for summaries beside its timings;
        empty where the backend has nothing to say (a remote server times itself)."""
        return {}

    def compose_frame(self, embodiment: str, views: dict[str, np.ndarray]) -> np.ndarray:
        """Camera views (``{camera: [..., H, W, 3]}``) -> the one image this backend conditions on; the adapter's
        layout (DROID: ``concat_view``) unless the backend has its own."""
        return get_adapter(embodiment).compose_views(views)

    def split_frame(self, embodiment: str, frame: np.ndarray) -> dict[str, np.ndarray]:
        """The inverse of ``compose_frame``: ``[..., H, W, 3]`` -> ``{camera: [..., h, w, 3]}``."""
        return get_adapter(embodiment).split_views(frame)

    def generate(self, request: WorldModelRequest) -> WorldModelResult:
        request = self._checked(request)
        start = time.perf_counter()
        return self._result(request, self._generate(request), start)

    def _checked(self, request: WorldModelRequest) -> WorldModelRequest:
        request = request.resolved()
        if not self.supports(request.adapter.name, request.mode):
            raise UnsupportedModeError(
                f"backend {self.name!r} does not offer {request.mode.value} for embodiment {request.adapter.name!r}"
            )
        return request

    def _result(self, request: WorldModelRequest, out: BackendOutput, start: float) -> WorldModelResult:
        """Robot-space decoding, settings and total time (since ``start``) of one resolved request's output.

        A model that cannot keep the input's frame size (diffusers rounds 360 rows down to 352) is not an error,
        but it is reported: ``extras["frame_size"]`` = ``{"input": [h, w], "output": [h, w]}``."""
        timings = {**out.timings, "total_s": time.perf_counter() - start}
        actions = request.actions if request.mode is ActionMode.FORWARD_DYNAMICS else out.actions
        extras = dict(out.extras)
        if out.frames is not None and out.frames.shape[1:3] != request.frames.shape[1:3]:
            extras["frame_size"] = {"input": list(request.frames.shape[1:3]), "output": list(out.frames.shape[1:3])}
        return WorldModelResult(request, out.frames, actions, request.decoded(actions), timings, request.settings(),
                                extras)

    def generate_batch(self, requests: Sequence[WorldModelRequest]) -> list[WorldModelResult]:
        """Backends that batch natively override this; the default runs requests one by one."""
        return [self.generate(r) for r in requests]

    # -- conveniences ---------------------------------------------------------------------------------------
    def forward_dynamics(self, frame: np.ndarray, actions: np.ndarray, *, embodiment: str, **kwargs) -> WorldModelResult:
        """``frame`` ``[H, W, 3]`` + model-space ``[T, D]`` -> ``T+1`` predicted frames."""
        return self.generate(WorldModelRequest(ActionMode.FORWARD_DYNAMICS, embodiment, np.asarray(frame)[None],
                                               actions=np.asarray(actions), **kwargs))

    def inverse_dynamics(self, frames: np.ndarray, *, embodiment: str, **kwargs) -> WorldModelResult:
        """``[T+1, H, W, 3]`` video -> ``[T, D]`` model-space actions (+ decoded robot command)."""
        return self.generate(WorldModelRequest(ActionMode.INVERSE_DYNAMICS, embodiment, np.asarray(frames), **kwargs))

    def policy(self, frame: np.ndarray, *, embodiment: str, instruction: str, **kwargs) -> WorldModelResult:
        """Observation + instruction (+ ``state``) -> action chunk (+ predicted frames)."""
        return self.generate(WorldModelRequest(ActionMode.POLICY, embodiment, np.asarray(frame)[None],
                                               prompt=instruction, **kwargs))

    def rollout(self, frame: np.ndarray, actions: np.ndarray, *, embodiment: str, seed: int = 0,
                **kwargs) -> WorldModelResult:
        """Autoregressive forward dynamics over any number of actions.

        Chunk k takes actions ``[k*C, (k+1)*C)``, conditions on the last generated frame of chunk k-1 (and, for a
        backend that predicts the state, its last predicted ``extras["state"]``) and uses seed ``seed + k``;
        frame 0 of every chunk after the first repeats that conditioning frame and is dropped.
        """
        adapter = get_adapter(embodiment)
        actions = adapter.validate_model_actions(actions)
        size = kwargs.pop("chunk_size", None) or adapter.preset.chunk_size
        state = kwargs.pop("state", None)
        frames: list[np.ndarray] = []
        timings: dict[str, float] = {}
        current = np.asarray(frame)
        result = None
        for k, begin in enumerate(range(0, len(actions), size)):
            result = self.forward_dynamics(current, actions[begin : begin + size], embodiment=embodiment,
                                           seed=seed + k, state=state, **kwargs)
            frames.extend(result.frames if k == 0 else result.frames[1:])
            current = result.frames[-1]
            if state is not None and "state" in result.extras:
                state = np.asarray(result.extras["state"], np.float32)[-1]
            for key, value in result.timings.items():
                timings[key] = timings.get(key, 0.0) + value
        assert result is not None
        request = replace(result.request, actions=actions, chunk_size=size, seed=seed)
        extras = {"num_chunks": k + 1}
        if np.shape(frame)[:2] != frames[0].shape[:2]:  # reported as by ``_result``
            extras["frame_size"] = {"input": list(np.shape(frame)[:2]), "output": list(frames[0].shape[:2])}
        return WorldModelResult(request, np.stack(frames), actions, None, timings, request.settings(), extras)
