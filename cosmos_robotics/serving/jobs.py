"""Jobs for the HTTP server: a bounded queue, one worker thread, and a bounded store of finished jobs.

One worker because a world model holds one accelerator; the bounded queue turns overload into a fast 429 instead
of unbounded memory and latency. A job cancelled while running cannot interrupt the model call: its result is
discarded when the call returns. A finished job keeps no decoded media: its request (with the conditioning
frames) is dropped and the generated frames live only as the mp4 a client can fetch, so memory is bounded by
``(max_queued + 1)`` decoded requests however many jobs are kept.
"""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosmos_robotics.embodiments import ActionMode
from cosmos_robotics.media import write_video
from cosmos_robotics.world_models.base import WorldModel
from cosmos_robotics.world_models.remote.request import RemoteRequest, action_object

log = logging.getLogger(__name__)
FINISHED = ("completed", "failed", "cancelled")


class QueueFullError(Exception):
    pass


@dataclass
class Job:
    id: str
    request: RemoteRequest | None  # None once finished: the frames it holds are not needed any more
    size: str
    num_frames: int
    fps: float
    status: str = "queued"
    progress: int = 0
    created_at: int = field(default_factory=lambda: int(time.time()))
    completed_at: int | None = None
    error: str | None = None
    action: dict[str, Any] | None = None
    video: Path | None = None

    def to_json(self, model: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id, "object": "video", "model": model, "status": self.status, "progress": self.progress,
            "created_at": self.created_at, "completed_at": self.completed_at, "size": self.size,
            "num_frames": self.num_frames, "seconds": str(round(self.num_frames / self.fps, 3)),
            "content_available": self.video is not None,  # ours only: action-only results have no mp4
            "error": None if self.error is None else {"code": "generation_failed", "message": self.error},
        }
        if self.action is not None:
            body["action"] = self.action
        return body


class JobQueue:
    def __init__(self, world_model: WorldModel, max_queued: int = 8, max_kept: int = 64):
        self.world_model, self.max_kept = world_model, max_kept
        self.pending: queue.Queue[Job] = queue.Queue(maxsize=max_queued)
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.media_dir = tempfile.TemporaryDirectory(prefix="cosmos-serve-")
        self.worker: threading.Thread | None = None
        self.running: set[str] = set()

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.worker = threading.Thread(target=self._run, name="cosmos-serve-worker", daemon=True)
        self.worker.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop taking jobs; wait a bounded time for the running one (a stuck model call is left to the daemon)."""
        self.stopping.set()
        if self.worker is not None:
            self.worker.join(timeout_s)
        self.media_dir.cleanup()

    @property
    def alive(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    # -- API ------------------------------------------------------------------------------------------------------
    def submit(self, request: RemoteRequest) -> Job:
        job = Job(id=f"video_{uuid.uuid4().hex}", request=request, size=request.size, num_frames=request.num_frames,
                  fps=request.fps)
        with self.lock:
            try:
                self.pending.put_nowait(job)
            except queue.Full:
                raise QueueFullError(f"job queue is full ({self.pending.maxsize} waiting); retry later") from None
            self.jobs[job.id] = job
            self._evict()
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None and job.status not in FINISHED:
                job.status, job.completed_at = "cancelled", int(time.time())
                if job.id not in self.running:  # a queued job: its frames are freed now, the worker skips it
                    job.request = None
            return job

    # -- worker ---------------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                job = self.pending.get(timeout=0.1)
            except queue.Empty:
                continue
            with self.lock:
                if job.status != "queued":
                    job.request = None
                    continue
                job.status = "in_progress"
                self.running.add(job.id)
            try:
                self._execute(job)
            finally:
                with self.lock:
                    self.running.discard(job.id)
                    job.request = None

    def _execute(self, job: Job) -> None:
        request = job.request
        assert request is not None
        try:
            result = self.world_model.generate(request)
            video = None
            if result.frames is not None and not self.stopping.is_set():
                video = write_video(result.frames, Path(self.media_dir.name) / f"{job.id}.mp4", request.fps)
            action = None
            if result.actions is not None and request.mode is not ActionMode.FORWARD_DYNAMICS:
                action = action_object(result.actions, request.adapter, request.mode)
        except Exception as exc:  # noqa: BLE001 - any backend failure becomes a failed job, never a dead worker
            log.exception("job %s failed", job.id)
            with self.lock:
                if job.status == "in_progress":
                    job.status, job.error, job.completed_at = "failed", f"{type(exc).__name__}: {exc}", int(time.time())
            return
        with self.lock:
            if job.status == "in_progress":  # else cancelled meanwhile: drop the result
                job.status, job.progress, job.completed_at = "completed", 100, int(time.time())
                job.action, job.video = action, video

    def _evict(self) -> None:
        """Keep at most ``max_kept`` jobs; drop the oldest finished ones first (called with the lock held)."""
        finished = [k for k, j in self.jobs.items() if j.status in FINISHED]
        while len(self.jobs) > self.max_kept and finished:
            job = self.jobs.pop(finished.pop(0))
            if job.video is not None:
                job.video.unlink(missing_ok=True)
