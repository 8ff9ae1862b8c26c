"""vLLM-Omni (and ``cosmos-robotics serve``) client: ``POST /v1/videos`` job, poll, fetch the mp4.

Lost jobs: a server that restarts forgets its jobs and answers 404 to the poll. Requests carry their seed, so a
resubmission reproduces the same result; the client therefore resubmits up to ``max_resubmits`` times (default 1)
within the same overall deadline, then raises ``JobLostError``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from cosmos_robotics.embodiments import ActionMode
from cosmos_robotics.errors import (
    InputError,
    JobCancelledError,
    JobFailedError,
    JobLostError,
    MalformedResponseError,
    RemoteTimeoutError,
)
from cosmos_robotics.world_models.base import BackendOutput, WorldModelRequest
from cosmos_robotics.world_models.remote.base import RemoteWorldModel
from cosmos_robotics.world_models.remote.media_bytes import decode_mp4
from cosmos_robotics.world_models.remote.request import RESPONSE_LIMITS, RemoteRequest, parse_action_object
from cosmos_robotics.world_models.remote.transport import Deadline
from cosmos_robotics.world_models.remote.vllm_wire import vllm_form

FAILED_STATUSES = ("failed", "cancelled", "canceled", "expired")


class VllmOmniWorldModel(RemoteWorldModel):
    name = "vllm-omni"

    def models(self) -> list[str]:
        """Model ids the server serves (``GET /v1/models``): a cheap health check."""
        with self.call() as cancel:
            response = self.transport.send("GET", "/v1/models", Deadline(self.config.read_timeout_s), cancel)
        body = self.transport.json(response, self.transport.url("/v1/models"))
        return [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict)]

    def _generate(self, request: WorldModelRequest) -> BackendOutput:
        wire = RemoteRequest.of(request)
        with self.call() as cancel:
            return self._call(wire, Deadline(self.config.job_timeout_s), cancel)

    def _call(self, wire: RemoteRequest, deadline: Deadline, cancel) -> BackendOutput:
        form, media = vllm_form(wire, self.config.model), wire.media()
        timings: dict[str, float] = {}
        job_id, resubmits = None, 0
        start = time.perf_counter()
        try:
            job_id = self._submit(form, media, deadline, cancel)
            while True:
                job = self._status(job_id, deadline, cancel)
                if job is None:
                    if resubmits >= self.config.max_resubmits:
                        raise JobLostError(
                            f"server no longer knows job {job_id} (restarted?) after {resubmits} resubmission(s); "
                            "submit the request again once the server is stable", self.transport.url("/v1/videos"))
                    resubmits += 1
                    job_id = self._submit(form, media, deadline, cancel)
                    continue
                status = str(job.get("status"))
                if status == "completed":
                    break
                if status in FAILED_STATUSES:
                    raise JobFailedError(f"job {job_id} {status}: {_job_error(job)}",
                                         self.transport.url(f"/v1/videos/{job_id}"))
                self.transport.wait(self.config.poll_interval_s, deadline, f"job {job_id} (last status {status!r})",
                                    cancel)
        except (RemoteTimeoutError, JobCancelledError):
            if job_id is not None:
                self._delete(job_id)
            raise
        timings["job_s"] = time.perf_counter() - start
        url = self.transport.url(f"/v1/videos/{job_id}")
        actions = None
        if wire.mode is not ActionMode.FORWARD_DYNAMICS:
            actions = parse_action_object(job.get("action"), wire, url)
        frames = None
        if wire.decode_video and job.get("content_available", True):
            start = time.perf_counter()
            frames = self._content(job_id, wire.num_frames, deadline, cancel)
            timings["download_s"] = time.perf_counter() - start
        return BackendOutput(frames, actions, timings, {"job_id": job_id, "resubmits": resubmits,
                                                        "server": self.config.base_url})

    # -- the four routes --------------------------------------------------------------------------------------
    def _submit(self, form: dict[str, str], media, deadline: Deadline, cancel) -> str:
        response = self.transport.send(
            "POST", "/v1/videos", deadline, cancel, data=form,
            files={"input_reference": (media.filename, media.data, media.content_type)},
        )
        body = self.transport.json(response, self.transport.url("/v1/videos"))
        if not body.get("id"):
            raise MalformedResponseError(f"job creation answered without an 'id': {str(body)[:120]}",
                                         self.transport.url("/v1/videos"), response.status_code)
        return str(body["id"])

    def _status(self, job_id: str, deadline: Deadline, cancel) -> dict[str, Any] | None:
        path = f"/v1/videos/{job_id}"
        response = self.transport.send("GET", path, deadline, cancel, allow_404=True, reached=True)
        return None if response.status_code == 404 else self.transport.json(response, self.transport.url(path))

    def _content(self, job_id: str, num_frames: int, deadline: Deadline, cancel):
        path = f"/v1/videos/{job_id}/content"
        response = self.transport.send("GET", path, deadline, cancel, allow_404=True, reached=True)
        if response.status_code == 404:
            raise JobLostError(f"video of finished job {job_id} is gone (server restarted or evicted it)",
                               self.transport.url(path), 404)
        try:
            return decode_mp4(response.content, "content", num_frames, RESPONSE_LIMITS)
        except InputError as exc:
            raise MalformedResponseError(str(exc), self.transport.url(path), response.status_code) from None

    def _delete(self, job_id: str) -> None:
        """Best effort: servers without ``DELETE`` (or already gone) are fine; the caller's error stands."""
        try:
            self.transport.client.delete(f"/v1/videos/{job_id}", timeout=self.config.connect_timeout_s)
        except httpx.HTTPError:
            pass


def _job_error(job: dict[str, Any]) -> str:
    error = job.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or "no reason given")
