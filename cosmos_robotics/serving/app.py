"""``cosmos-robotics serve``: any :class:`WorldModel` behind the vLLM-Omni ``/v1/videos`` routes.

Clients written for vLLM-Omni (including :class:`VllmOmniWorldModel`) work unchanged against it. Bad input is
always a 4xx naming the field (never a 500); bodies are capped; local media paths are read only below an
explicitly allowed root; jobs run one at a time from a bounded queue (429 when full).
"""

from __future__ import annotations

import contextlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.datastructures import UploadFile

from cosmos_robotics.errors import CosmosRoboticsError, PayloadError
from cosmos_robotics.serving.jobs import JobQueue, QueueFullError
from cosmos_robotics.serving.limits import BodySizeLimit, BodyTooLarge
from cosmos_robotics.world_models.base import WorldModel
from cosmos_robotics.world_models.remote.wire import Media, RemoteRequest


@dataclass(frozen=True)
class ServerConfig:
    max_body_bytes: int = 64 * 1024 * 1024
    max_queued: int = 8
    max_kept_jobs: int = 64
    media_root: Path | None = None  # vLLM's --allowed-local-media-path; None: path references are refused
    model_id: str | None = None
    shutdown_grace_s: float = 5.0  # how long shutdown waits for the running job


def error_response(status: int, message: str, param: str | None = None, kind: str = "invalid_request_error"):
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": status}}, status)


def create_app(world_model: WorldModel, config: ServerConfig | None = None) -> FastAPI:
    config = config or ServerConfig()
    jobs = JobQueue(world_model, config.max_queued, config.max_kept_jobs)
    model_id = config.model_id or world_model.name

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

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok" if jobs.alive else "degraded", "worker_alive": jobs.alive,
                "queued": jobs.pending.qsize(), "max_queued": config.max_queued, "model": model_id}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "cosmos-robotics"}]}

    @app.post("/v1/videos")
    async def create_video(request: Request):
        try:
            form = await request.form()
        except BodyTooLarge:
            raise  # answered 413 by the middleware
        except Exception as exc:  # noqa: BLE001 - malformed multipart/urlencoded bodies are the client's error
            return error_response(400, f"body is not a valid multipart form: {exc}")
        try:
            media = await _reference(form.get("input_reference"), config.media_root)
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            remote_request = RemoteRequest.from_vllm_form(fields, media)
            if not world_model.supports(remote_request.adapter.name, remote_request.mode):
                return error_response(422, f"model {model_id!r} does not offer {remote_request.mode.value} for "
                                      f"{remote_request.adapter.name!r}", "extra_params.action_mode")
        except PayloadError as exc:
            return error_response(422, str(exc), exc.field)
        except CosmosRoboticsError as exc:  # the embodiment's action contract (shape, mode, domain)
            return error_response(422, str(exc), getattr(exc, "what", None))
        finally:
            await form.close()
        try:
            job = jobs.submit(remote_request)
        except QueueFullError as exc:
            return JSONResponse({"error": {"message": str(exc), "type": "server_busy", "code": 429}}, 429,
                                headers={"Retry-After": "1"})
        return JSONResponse(job.to_json(model_id), 200)

    @app.get("/v1/videos/{job_id}")
    def get_video(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            return error_response(404, f"no job {job_id!r} (unknown, evicted, or the server restarted)", "id",
                                  "not_found")
        return job.to_json(model_id)

    @app.get("/v1/videos/{job_id}/content")
    def get_content(job_id: str):
        job = jobs.get(job_id)
        if job is None or job.video is None or not job.video.is_file():
            return error_response(404, f"job {job_id!r} has no video (unknown, not completed, or action-only)",
                                  "id", "not_found")
        return FileResponse(job.video, media_type="video/mp4", filename=f"{job_id}.mp4")

    @app.delete("/v1/videos/{job_id}")
    def delete_video(job_id: str):
        job = jobs.cancel(job_id)
        if job is None:
            return error_response(404, f"no job {job_id!r}", "id", "not_found")
        return job.to_json(model_id)

    return app


async def _reference(value: Any, media_root: Path | None) -> Media:
    """``input_reference``: an uploaded file, or a local path / ``file://`` URL under the allowed media root."""
    if isinstance(value, UploadFile):
        data = await value.read()
        if not data:
            raise PayloadError("input_reference", "a non-empty image or mp4 file", "an empty upload")
        return Media(value.filename or "", data, value.content_type or "")
    if not value:
        raise PayloadError("input_reference", "an image (FD / policy) or mp4 (ID) upload, or a local path", "nothing")
    if media_root is None:
        raise PayloadError("input_reference", "an uploaded file (local paths are disabled; start the server with "
                           "--allowed-local-media-path DIR to allow them)", repr(str(value)[:80]))
    path = Path(str(value).removeprefix("file://")).resolve()
    root = media_root.resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise PayloadError("input_reference", f"an existing file under the allowed media root {root}", str(path))
    return Media(path.name, path.read_bytes(), mimetypes.guess_type(path.name)[0] or "")
