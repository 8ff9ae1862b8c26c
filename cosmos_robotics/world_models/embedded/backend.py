"""``EmbeddedWorldModel``: the default, CPU-sized world model behind the Cosmos 3 interface (embodiment ``droid``).

Frames carry the three SimDroid views in one image, in either layout (the result uses the request's layout):

* ``concat_view`` (the Cosmos 3 DROID layout, ``compose_concat_view``): wrist on top, exteriors at half size
  below -- ``[F, 192, 128, 3]`` for 128 px views; the exteriors are upsampled back to 128 px, losing detail;
* ``stacked`` (lossless): wrist, exterior 1, exterior 2 stacked vertically -- ``[F, 384, 128, 3]``.

``WorldModelRequest.state`` is SimDroid's ``observation.state`` row (14) at frame 0; FD and policy need it.
``extras`` hold the predicted ``state`` ``[T, 14]`` (also split as flange ``cartesian`` ``[T, 6]`` and ``gripper``
``[T]``) after each action and the
task ``success_probability`` ``[T+1]`` (entry 0: the conditioning frame). The model is deterministic: ``seed``,
steps, guidance and the prompt do not change its output (it knows one task: SimDroid's pick-and-place).

``precision="auto"`` picks the fastest inference path that keeps today's quality on the CPU it finds
(``runtime.choose_path``): bfloat16 where the CPU has it natively (AMX / AVX512-BF16; forward dynamics ~2.5x faster
than float32, same quality metrics), float32 in channels-last layout elsewhere (AVX2-only CPUs: there bfloat16 is
emulated and ~20x slower). ``inference_path`` names the choice; results carry it in ``extras`` and
``runtime_info()`` (what the demo summary shows) names it beside the CPU it was picked for.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from scipy.spatial.transform import Rotation

from cosmos_robotics.embodiments import ActionMode, get_adapter
from cosmos_robotics.embodiments.droid import compose_concat_view
from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.world_models.base import BackendOutput, WorldModel, WorldModelRequest, WorldModelResult
from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from cosmos_robotics.world_models.embedded.config import IMAGE_SIZE, STATE_DIM, VIEWS
from cosmos_robotics.world_models.embedded.model import to_model_images, to_uint8
from cosmos_robotics.world_models.embedded.runtime import choose_path, cpu_features, prepare

LAYOUTS = ("stacked", "concat_view")


def stack_views(wrist: np.ndarray, exterior_1: np.ndarray, exterior_2: np.ndarray) -> np.ndarray:
    """Lossless layout: ``[..., 3H, W, 3]`` = wrist over exterior 1 over exterior 2."""
    return np.concatenate([wrist, exterior_1, exterior_2], axis=-3)


def frame_layout(frames: np.ndarray) -> str:
    h, w = frames.shape[-3:-1]
    if w == IMAGE_SIZE and h == 3 * IMAGE_SIZE:
        return "stacked"
    if w == IMAGE_SIZE and h == 3 * IMAGE_SIZE // 2:
        return "concat_view"
    raise ActionContractError("droid", "frames (embedded model)",
                              f"three {IMAGE_SIZE}px views: stacked [F, {3 * IMAGE_SIZE}, {IMAGE_SIZE}, 3] or "
                              f"concat_view [F, {3 * IMAGE_SIZE // 2}, {IMAGE_SIZE}, 3]", f"{frames.shape}")


def split_views(frames: np.ndarray) -> np.ndarray:
    """``[F, H, W, 3]`` in either layout -> ``[F, 3, 128, 128, 3]`` (wrist, exterior 1, exterior 2)."""
    s = IMAGE_SIZE
    if frame_layout(frames) == "stacked":
        return frames.reshape(len(frames), 3, s, s, 3)
    half = s // 2
    out = np.empty((len(frames), 3, s, s, 3), np.uint8)
    for i, frame in enumerate(frames):
        out[i, 0] = frame[:s]
        out[i, 1] = cv2.resize(np.ascontiguousarray(frame[s:, :half]), (s, s), interpolation=cv2.INTER_LINEAR)
        out[i, 2] = cv2.resize(np.ascontiguousarray(frame[s:, half:]), (s, s), interpolation=cv2.INTER_LINEAR)
    return out


def join_views(views: np.ndarray, layout: str) -> np.ndarray:
    """``[F, 3, 128, 128, 3]`` -> frames in ``layout``."""
    if layout == "stacked":
        return stack_views(views[:, 0], views[:, 1], views[:, 2])
    return compose_concat_view(views[:, 0], views[:, 1], views[:, 2])


def absolute_state(state: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Current ``observation.state`` + predicted deltas ``[T, 14]`` -> predicted ``observation.state`` ``[T, 14]``."""
    rot = Rotation.from_rotvec(deltas[:, 3:6]) * Rotation.from_euler("xyz", state[3:6])
    return np.concatenate([state[:3] + deltas[:, :3], rot.as_euler("xyz"), np.clip(deltas[:, 6:7], 0.0, 1.0),
                           state[7:] + deltas[:, 7:]], axis=1)


class EmbeddedWorldModel(WorldModel):
    """Forward dynamics, inverse dynamics and policy of the shipped embedded model; batches natively."""

    name = "embedded"

    def __init__(self, weights: Path | str = DEFAULT_WEIGHTS, device: str = "cpu", precision: str = "auto"):
        self.device = torch.device(device)
        path = choose_path(precision, self.device)
        self.inference_path = path.name
        self.model = prepare(load_checkpoint(Path(weights), self.device), path)

    def supports(self, embodiment: str, mode: ActionMode) -> bool:
        return embodiment in ("droid", "droid_lerobot")

    def runtime_info(self) -> dict[str, Any]:
        info = {"device": str(self.device), "inference_path": self.inference_path, "threads": torch.get_num_threads()}
        return {**info, "cpu": cpu_features()} if self.device.type == "cpu" else info

    def compose_frame(self, embodiment: str, views: dict[str, np.ndarray]) -> np.ndarray:
        """The lossless ``stacked`` layout (the model's own views need no resizing)."""
        get_adapter(embodiment).check_views(views)
        return stack_views(*(views[v] for v in VIEWS))

    def split_frame(self, embodiment: str, frame: np.ndarray) -> dict[str, np.ndarray]:
        frame = np.asarray(frame)
        views = split_views(frame.reshape(-1, *frame.shape[-3:]))
        return {v: views[:, i].reshape(*frame.shape[:-3], *views.shape[2:]) for i, v in enumerate(VIEWS)}

    def _generate(self, request: WorldModelRequest) -> BackendOutput:
        return self._run([request])[0]

    def generate_batch(self, requests: Sequence[WorldModelRequest]) -> list[WorldModelResult]:
        """Requests of one mode, chunk size and layout run as one batch; results keep the input order."""
        resolved = [r.resolved() for r in requests]
        for r in resolved:
            if not self.supports(r.adapter.name, r.mode):
                return [self.generate(r) for r in requests]  # the base class raises the typed error
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(resolved):
            groups.setdefault((r.mode, r.chunk_size, frame_layout(r.frames)), []).append(i)
        results: list[WorldModelResult | None] = [None] * len(resolved)
        for indices in groups.values():
            start = time.perf_counter()
            outs = self._run([resolved[i] for i in indices])
            for i, out in zip(indices, outs, strict=True):
                r = resolved[i]
                actions = r.actions if r.mode is ActionMode.FORWARD_DYNAMICS else out.actions
                timings = {**out.timings, "total_s": time.perf_counter() - start, "batch_size": len(indices)}
                results[i] = WorldModelResult(r, out.frames, actions, r.decoded(actions), timings, r.settings(),
                                              out.extras)
        return [r for r in results if r is not None]

    # ----------------------------------------------------------------- one batch of like requests
    def _state(self, request: WorldModelRequest) -> np.ndarray:
        state = None if request.state is None else np.asarray(request.state, np.float32)
        if state is None or state.shape != (STATE_DIM,) or not np.isfinite(state).all():
            raise ActionContractError("droid", "state (embedded model)",
                                      f"SimDroid observation.state, finite float [{STATE_DIM}]",
                                      "None" if state is None else f"{state.dtype} {state.shape}")
        return state

    @torch.inference_mode()
    def _run(self, requests: list[WorldModelRequest]) -> list[BackendOutput]:
        start = time.perf_counter()
        mode, chunk = requests[0].mode, requests[0].chunk_size
        layout = frame_layout(requests[0].frames)
        dev = self.device
        if mode is ActionMode.INVERSE_DYNAMICS:
            for r in requests:
                if len(r.frames) < chunk + 1:
                    raise ActionContractError("droid", "frames", f"{chunk + 1} frames for inverse dynamics",
                                              f"{len(r.frames)}")
            video = np.stack([split_views(r.frames[: chunk + 1]) for r in requests])
            actions = self.model.inverse_dynamics(to_model_images(torch.from_numpy(video).to(dev))).clamp(-1, 1)
            seconds = time.perf_counter() - start
            return [BackendOutput(None, a.double().cpu().numpy(), {"model_s": seconds}) for a in actions]
        views = np.stack([split_views(r.frames[:1])[0] for r in requests])
        states = np.stack([self._state(r) for r in requests])
        images = to_model_images(torch.from_numpy(views).to(dev))
        state_t = torch.from_numpy(states).to(dev)
        if mode is ActionMode.POLICY:
            actions = self.model.policy(images, state_t).clamp(-1, 1)[:, :chunk]
        else:
            actions = torch.from_numpy(np.stack([r.actions for r in requests]).astype(np.float32)).to(dev)
        need_video = mode is ActionMode.FORWARD_DYNAMICS or any(r.decode_video for r in requests)
        out = self.model.forward_dynamics(images, state_t, actions, None if need_video else actions.new_zeros(
            len(requests), 0, dtype=torch.long))
        seconds = time.perf_counter() - start
        deltas = (out["state"] * self.model.delta_std).double().cpu().numpy()
        success = torch.sigmoid(out["success"]).double().cpu().numpy()
        frames = to_uint8(out["frames"]).cpu().numpy() if need_video else None
        results = []
        for i, r in enumerate(requests):
            predicted = absolute_state(states[i].astype(np.float64), deltas[i])
            video = None
            if frames is not None and (mode is ActionMode.FORWARD_DYNAMICS or r.decode_video):
                video = join_views(np.concatenate([views[i : i + 1], frames[i]]), layout)
            model_actions = None if mode is ActionMode.FORWARD_DYNAMICS else actions[i].double().cpu().numpy()
            results.append(BackendOutput(video, model_actions, {"model_s": seconds},
                                         {"state": predicted, "cartesian": predicted[:, :6],
                                          "gripper": predicted[:, 6],
                                          "success_probability": success[i], "layout": layout,
                                          "inference_path": self.inference_path}))
        return results
