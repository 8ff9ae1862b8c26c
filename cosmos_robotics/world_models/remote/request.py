"""What every wire protocol shares: the resolved request, the conditioning media, and the action object.

Per-protocol spellings live beside it (``vllm_wire``, ``trtllm_wire``, ``nim_wire``); none of these modules imports
an HTTP client, so the server (``cosmos_robotics.serving``) reads the same format the clients write without
importing them.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosmos_robotics.embodiments import ActionMode, EmbodimentAdapter, get_domain
from cosmos_robotics.errors import ActionContractError, MalformedResponseError
from cosmos_robotics.inputs import Limits, preview
from cosmos_robotics.world_models.base import WorldModelRequest
from cosmos_robotics.world_models.remote.media_bytes import encode_mp4, encode_png

# Contracts that share a domain name with a pose contract but speak absolute joints ("action_space": "joint_pos").
JOINT_SPACE_ADAPTERS = {"droid_lerobot": "droid_joint"}
# What a client accepts from the server it chose to call (a generated clip is larger than an upload).
RESPONSE_LIMITS = Limits(max_bytes=4 * 1024**3, max_decoded_bytes=8 * 1024**3)


@dataclass(frozen=True)
class Media:
    """The conditioning file as sent: a PNG frame (FD / policy) or an mp4 clip of ``chunk + 1`` frames (ID)."""

    filename: str
    data: bytes
    content_type: str

    def data_url(self) -> str:
        return f"data:{self.content_type};base64,{base64.b64encode(self.data).decode()}"


def _even(frames: np.ndarray) -> np.ndarray:
    """H.264 (yuv420p) needs even sizes; crop here so ``size`` matches what the server decodes."""
    h, w = frames.shape[1] - frames.shape[1] % 2, frames.shape[2] - frames.shape[2] % 2
    return frames[:, :h, :w]


@dataclass(frozen=True)
class RemoteRequest(WorldModelRequest):
    """A resolved request with the fields every protocol derives from it. Build with :meth:`of`."""

    @classmethod
    def of(cls, request: WorldModelRequest) -> RemoteRequest:
        fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(WorldModelRequest)}
        resolved = cls(**fields).resolved()
        if resolved.mode is ActionMode.INVERSE_DYNAMICS and len(resolved.frames) < resolved.num_frames:
            raise ActionContractError(resolved.adapter.name, "frames", f"{resolved.num_frames} frames (chunk + 1)",
                                      f"{len(resolved.frames)} frames")
        return resolved

    @property
    def num_frames(self) -> int:
        return self.chunk_size + 1

    @property
    def fps(self) -> float:
        return self.adapter.preset.fps

    @property
    def joint_space(self) -> bool:
        return self.adapter.name in JOINT_SPACE_ADAPTERS.values()

    def sent_frames(self) -> np.ndarray:
        if self.mode is ActionMode.INVERSE_DYNAMICS:
            return _even(self.frames[: self.num_frames])
        return self.frames[:1]

    @property
    def size(self) -> str:
        h, w = self.sent_frames().shape[1:3]
        return f"{w}x{h}"

    def media(self) -> Media:
        frames = self.sent_frames()
        if self.mode is ActionMode.INVERSE_DYNAMICS:
            return Media("input.mp4", encode_mp4(frames, self.fps), "video/mp4")
        return Media("input.png", encode_png(frames[0]), "image/png")

    def observation(self) -> dict[str, Any] | None:
        """Policy-DROID state row ``[q(7), 1 - gripper]`` -> the RoboLab observation keys servers expect."""
        if self.state is None:
            return None
        if not self.joint_space:
            raise ActionContractError(self.adapter.name, "state", "None (this protocol carries no state row for "
                                      "this contract)", "a state")
        state = self.adapter.as_array(self.state, "state", (8,))
        return {"observation/joint_position": state[:7].tolist(), "observation/gripper_position": float(1 - state[7])}


# -- the action object every server returns --------------------------------------------------------------------
def action_object(actions: np.ndarray, adapter: EmbodimentAdapter, mode: ActionMode) -> dict[str, Any]:
    actions = np.asarray(actions, dtype=np.float32)
    return {"data": actions.tolist(), "shape": list(actions.shape), "dtype": "float32",
            "raw_action_dim": adapter.action_dim, "action_mode": mode.value,
            "domain_id": get_domain(adapter.domain_name).domain_id}


def check_actions(actions: np.ndarray, request: RemoteRequest, url: str) -> np.ndarray:
    """Model-space actions from a server must be ``[chunk, action_dim]`` and finite before we decode them."""
    expected = (request.chunk_size, request.adapter.action_dim)
    if actions.shape != expected or not np.isfinite(actions).all():
        raise MalformedResponseError(
            f"server returned actions of shape {actions.shape} (finite: {bool(np.isfinite(actions).all())}); "
            f"expected finite {list(expected)} for {request.adapter.name} {request.mode.value}", url)
    return actions


def parse_action_object(obj: Any, request: RemoteRequest, url: str) -> np.ndarray:
    if not isinstance(obj, Mapping) or "data" not in obj or "shape" not in obj:
        raise MalformedResponseError(f"expected an action object {{'data', 'shape', 'dtype'}}, got {preview(obj, 80)}",
                                     url)
    try:
        actions = np.asarray(obj["data"], dtype=np.float32).reshape([int(s) for s in obj["shape"]])
    except (TypeError, ValueError, OverflowError) as exc:
        raise MalformedResponseError(f"action object data does not match its shape {obj.get('shape')}: {exc}",
                                     url) from None
    return check_actions(actions, request, url)
