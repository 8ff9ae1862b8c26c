"""``cosmos-robotics serve``: any :class:`WorldModel` behind the vLLM-Omni ``/v1/videos`` routes.

Clients written for vLLM-Omni (including :class:`VllmOmniWorldModel`) work unchanged against it. Bad input is
always a 4xx with a JSON error body naming the field (never a 500, so keep-alive connections stay usable): bodies
are capped, multipart forms may hold one file and a few small fields, every value goes through the input layer
and is checked against the embodiment preset, media is decoded only as far as the request needs (at most
``decode_slots`` requests decode at once, off the event loop), local media paths are read only below an
explicitly allowed root, and jobs run one at a time from a bounded queue (429 when full).

Memory bound: about ``(queue_size + 1 + decode_slots) x limits.max_decoded_bytes`` of decoded frames plus the
model; finished jobs hold none (see ``jobs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cosmos_robotics.errors import CosmosRoboticsError, PayloadError
from cosmos_robotics.inputs import Limits, read_file
from cosmos_robotics.serving.jobs import JobQueue, QueueFullError
from cosmos_robotics.serving.limits import BodySizeLimit, BodyTooLarge
from cosmos_robotics.world_models.base import WorldModel
from cosmos_robotics.world_models.remote.request import Media
from cosmos_robotics.world_models.remote.vllm_wire import FORM_FIELDS, read_vllm_form

log = logging.getLogger(__name__)
JOB_ID = re.compile(r"video_[0-9a-f]{32}")
MAX_FIELD_BYTES = 1024 * 1024  # one non-file form field (extra_params holds at most a chunk of actions)


@dataclass(frozen=True)
class ServerConfig:
    max_body_bytes: int = 64 * 1024 * 1024
    queue_size: int = 8  # jobs waiting beyond this get 429 (field names = `serve` options)
    max_kept_jobs: int = 64
    allowed_local_media_path: Path | None = None  # as vLLM's option; None: path references are refused
    model_id: str | None = None
    shutdown_grace_s: float = 5.0  # how long shutdown waits for the running job
    decode_slots: int = 2  # requests whose media are decoded at the same time
    limits: Limits = field(default_factory=lambda: Limits(max_pixels=4096 * 4096, max_decoded_bytes=256 * 1024**2))


def error_response(status: int, message: str, param: str | None = None, kind: str = "invalid_request_error"):
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": status}}, status)


def create_app(world_model: WorldModel, config: ServerConfig | None = None) -> FastAPI:
    config = config or ServerConfig()
    jobs = JobQueue(world_model, config.queue_size, config.max_kept_jobs)
    model_id = config.model_id or world_model.name
    decoders = asyncio.Semaphore(config.decode_slots)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        jobs.start()
        try:
            yield
        finally:
            jobs.stop(config.shutdown_grace_s)

    app = FastAPI(title="cosmos-robotics world-model server", lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    app.state.jobs = jobs

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):  # a bug, still answered as JSON (no dropped socket)
        log.exception("unhandled error")
        return error_response(500, f"internal server error ({type(exc).__name__})", kind="server_error")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok" if jobs.alive else "degraded", "worker_alive": jobs.alive,
                "queued": jobs.pending.qsize(), "max_queued": config.queue_size, "model": model_id}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "cosmos-robotics"}]}

    @app.post("/v1/videos")
    async def create_video(request: Request):
        try:
            form = await request.form(max_files=1, max_fields=len(FORM_FIELDS), max_part_size=MAX_FIELD_BYTES)
        except BodyTooLarge:
            raise  # answered 413 by the middleware
        except Exception as exc:  # noqa: BLE001 - malformed multipart/urlencoded bodies are the client's error
            detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
            return error_response(400, f"body is not a valid multipart form: {detail}")
        try:
            media = await _reference(form.get("input_reference"), config.allowed_local_media_path, config.limits)
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            if len(fields) + (not isinstance(form.get("input_reference"), str)) != len(form.multi_items()):
                return error_response(422, "each form field at most once, and one file (input_reference)")
            async with decoders:
                remote_request = await run_in_threadpool(read_vllm_form, fields, media, config.limits)
            if not world_model.supports(remote_request.adapter.name, remote_request.mode):
                return error_response(422, f"model {model_id!r} does not offer {remote_request.mode.value} for "
                                      f"{remote_request.adapter.name!r}", "extra_params.action_mode")
        except PayloadError as exc:
            return error_response(422, str(exc), exc.field)
        except CosmosRoboticsError as exc:  # the input layer or the embodiment's action contract
            return error_response(422, str(exc), getattr(exc, "what", None))
        finally:
            await form.close()
        try:
            job = jobs.submit(remote_request)
        except QueueFullError as exc:
            return JSONResponse({"error": {"message": str(exc), "type": "server_busy", "code": 429}}, 429,
                                headers={"Retry-After": "1"})
        return JSONResponse(job.to_json(model_id), 200)

    def find(job_id: str):
        return jobs.get(job_id) if JOB_ID.fullmatch(job_id) else None

    @app.get("/v1/videos/{job_id}")
    def get_video(job_id: str):
        job = find(job_id)
        if job is None:
            return error_response(404, f"no job {job_id[:80]!r} (unknown, evicted, or the server restarted)", "id",
                                  "not_found")
        return job.to_json(model_id)

    @app.get("/v1/videos/{job_id}/content")
    def get_content(job_id: str):
        job = find(job_id)
        if job is None or job.video is None or not job.video.is_file():
            return error_response(404, f"job {job_id[:80]!r} has no video (unknown, not completed, or action-only)",
                                  "id", "not_found")
        return FileResponse(job.video, media_type="video/mp4", filename=f"{job_id}.mp4")

    @app.delete("/v1/videos/{job_id}")
    def delete_video(job_id: str):
        job = jobs.cancel(job_id) if JOB_ID.fullmatch(job_id) else None
        if job is None:
            return error_response(404, f"no job {job_id[:80]!r}", "id", "not_found")
        return job.to_json(model_id)

    return app


async def _reference(value: Any, media_root: Path | None, limits: Limits) -> Media:
    """``input_reference``: an uploaded file, or a local path / ``file://`` URL under the allowed media root."""
    if isinstance(value, UploadFile):
        data = await value.read(limits.max_bytes + 1)
        if not data:
            raise PayloadError("input_reference", "a non-empty image or mp4 file", "an empty upload")
        if len(data) > limits.max_bytes:
            raise PayloadError("input_reference", f"at most {limits.max_bytes} bytes", "more")
        return Media(value.filename or "", data, value.content_type or "")
    if not value:
        raise PayloadError("input_reference", "an image (FD / policy) or mp4 (ID) upload, or a local path", "nothing")
    if media_root is None:
        raise PayloadError("input_reference", "an uploaded file (local paths are disabled; start the server with "
                           "--allowed-local-media-path DIR to allow them)", repr(str(value)[:80]))
    text = str(value).removeprefix("file://")
    root = media_root.resolve()
    try:
        path = Path(text).resolve()
    except (ValueError, OSError):  # NUL bytes, loops
        path = None
    if path is None or not path.is_relative_to(root) or not path.is_file():
        raise PayloadError("input_reference", f"an existing file under the allowed media root {root}",
                           repr(text[:120]))
    data = read_file(path, "input_reference", limits)
    return Media(path.name, data, mimetypes.guess_type(path.name)[0] or "")
