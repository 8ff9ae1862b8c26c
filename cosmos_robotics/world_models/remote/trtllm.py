"""TensorRT-LLM (``trtllm-serve``) client: one blocking ``POST /v1/videos/sync`` returning a safetensors blob.

The sync endpoint holds the connection for the whole generation, so ``read_timeout_s`` must cover it; a caller's
``cancel()`` takes effect between retries only (the blocking exchange itself cannot be interrupted).
"""

from __future__ import annotations

import time

import numpy as np

from cosmos_robotics.embodiments import ActionMode
from cosmos_robotics.errors import InputError, MalformedResponseError
from cosmos_robotics.inputs import load_safetensors
from cosmos_robotics.world_models.base import BackendOutput, WorldModelRequest
from cosmos_robotics.world_models.remote.base import RemoteWorldModel
from cosmos_robotics.world_models.remote.request import RESPONSE_LIMITS, RemoteRequest, check_actions
from cosmos_robotics.world_models.remote.transport import Deadline
from cosmos_robotics.world_models.remote.trtllm_wire import trtllm_file_field, trtllm_form


class TrtLlmWorldModel(RemoteWorldModel):
    name = "trtllm"

    def _generate(self, request: WorldModelRequest) -> BackendOutput:
        wire = RemoteRequest.of(request)
        media, url = wire.media(), self.transport.url("/v1/videos/sync")
        start = time.perf_counter()
        with self.call() as cancel:
            response = self.transport.send(
                "POST", "/v1/videos/sync", Deadline(self.config.job_timeout_s), cancel, data=trtllm_form(wire),
                files={trtllm_file_field(wire): (media.filename, media.data, media.content_type)},
                headers={"Accept": "application/octet-stream"},
            )
        timings = {"job_s": time.perf_counter() - start}
        try:
            tensors = load_safetensors(response.content, "safetensors response", RESPONSE_LIMITS)
        except InputError as exc:
            raise MalformedResponseError(f"expected a safetensors blob (format=safetensors), got "
                                         f"{response.content[:40]!r}...: {exc}", url, response.status_code) from None
        actions = None
        if wire.mode is not ActionMode.FORWARD_DYNAMICS:
            action = _unbatch(_require(tensors, "action", url), 2)
            actions = check_actions(action.astype(np.float32), wire, url)
        frames = None
        if wire.decode_video:
            frames = _unbatch(_require(tensors, "video", url), 4)
            if frames.dtype != np.uint8 or frames.shape[-1] != 3 or len(frames) != wire.num_frames:
                raise MalformedResponseError(f"'video' is {frames.dtype} {frames.shape}; expected uint8 "
                                             f"[{wire.num_frames}, H, W, 3] (THWC)", url)
        extras = {"frame_rate": float(tensors["frame_rate"])} if "frame_rate" in tensors else {}
        return BackendOutput(frames, actions, timings, {**extras, "server": self.config.base_url})


def _require(tensors: dict[str, np.ndarray], key: str, url: str) -> np.ndarray:
    if key not in tensors:
        raise MalformedResponseError(f"safetensors response lacks {key!r} (has {sorted(tensors)})", url)
    return tensors[key]


def _unbatch(array: np.ndarray, ndim: int) -> np.ndarray:
    """TRT-LLM may add a leading batch dimension of 1."""
    return array[0] if array.ndim == ndim + 1 and array.shape[0] == 1 else array
