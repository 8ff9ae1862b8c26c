"""NVIDIA NIM client: one blocking ``POST /v1/infer`` (JSON, data-URL media) returning ``b64_video`` + ``action``."""

from __future__ import annotations

import base64
import binascii
import time

from cosmos_robotics.embodiments import ActionMode
from cosmos_robotics.errors import InputError, MalformedResponseError
from cosmos_robotics.world_models.base import BackendOutput, WorldModelRequest
from cosmos_robotics.world_models.remote.base import RemoteWorldModel
from cosmos_robotics.world_models.remote.media_bytes import decode_mp4
from cosmos_robotics.world_models.remote.nim_wire import nim_payload
from cosmos_robotics.world_models.remote.request import RESPONSE_LIMITS, RemoteRequest, parse_action_object
from cosmos_robotics.world_models.remote.transport import Deadline


class NimWorldModel(RemoteWorldModel):
    name = "nim"

    def _generate(self, request: WorldModelRequest) -> BackendOutput:
        wire = RemoteRequest.of(request)
        url = self.transport.url("/v1/infer")
        start = time.perf_counter()
        with self.call() as cancel:
            response = self.transport.send("POST", "/v1/infer", Deadline(self.config.job_timeout_s), cancel,
                                           json=nim_payload(wire))
        timings = {"job_s": time.perf_counter() - start}
        body = self.transport.json(response, url)
        actions = None
        if wire.mode is not ActionMode.FORWARD_DYNAMICS:
            actions = parse_action_object(body.get("action"), wire, url)
        frames = None
        if wire.decode_video and (body.get("b64_video") or wire.mode is ActionMode.FORWARD_DYNAMICS):
            try:
                frames = decode_mp4(base64.b64decode(body.get("b64_video") or "", validate=True), "b64_video",
                                    wire.num_frames, RESPONSE_LIMITS)
            except (binascii.Error, InputError) as exc:
                raise MalformedResponseError(f"'b64_video' is not a base64 mp4: {exc}", url) from None
        return BackendOutput(frames, actions, timings, {"server": self.config.base_url})
