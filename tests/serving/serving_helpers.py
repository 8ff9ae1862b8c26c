"""Test helpers. Real HTTP on 127.0.0.1: uvicorn in a thread on a free port, and a small deterministic world model."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import numpy as np
import uvicorn

from cosmos_robotics.embodiments import ActionMode
from cosmos_robotics.world_models import BackendOutput, WorldModel, WorldModelRequest

IDENTITY_ROT6D = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]


class ScriptedWorldModel(WorldModel):
    """Outputs that are simple functions of the inputs, so a test can tell what reached the model.

    FD: frame k = frame 0 + 6k + seed (brightness ramp). ID / policy (AV): action t = [mean(frame t)/255,
    seed/100, 0.001(t+1), identity rot6d]. Policy on droid_joint: the state's joints repeated + open gripper.
    ``gate``: when given, every call blocks on it (bounded) so tests can hold a job "in progress".
    """

    name = "scripted"

    def __init__(self, gate: threading.Event | None = None, modes: tuple[ActionMode, ...] = tuple(ActionMode),
                 fail: str | None = None):
        self.gate, self.modes, self.fail = gate, modes, fail
        self.started = threading.Event()
        self.calls: list[WorldModelRequest] = []

    def supports(self, embodiment: str, mode: ActionMode) -> bool:
        return mode in self.modes

    def _generate(self, request: WorldModelRequest) -> BackendOutput:
        self.calls.append(request)
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(20), "test gate never released"
        if self.fail:
            raise RuntimeError(self.fail)
        frames = request.frames
        chunk = request.chunk_size
        if request.mode is ActionMode.FORWARD_DYNAMICS:
            ramp = (6 * np.arange(chunk + 1) + request.seed)[:, None, None, None]
            out = np.clip(frames[:1].astype(np.int64) + ramp, 0, 255).astype(np.uint8)
            return BackendOutput(out, None)
        if request.adapter.name == "droid_joint":
            row = np.concatenate([request.state[:7], [1.0]])  # model gripper 1 = open
            return BackendOutput(None, np.tile(row, (chunk, 1)))
        source = frames if request.mode is ActionMode.INVERSE_DYNAMICS else np.repeat(frames[:1], chunk, 0)
        t = np.arange(chunk)
        actions = np.column_stack([source[:chunk].mean(axis=(1, 2, 3)) / 255, np.full(chunk, request.seed / 100),
                                   0.001 * (t + 1), np.tile(IDENTITY_ROT6D, (chunk, 1))])
        return BackendOutput(np.repeat(frames[:1], chunk + 1, 0), actions)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running(app, port: int | None = None):
    """Serve ``app`` on 127.0.0.1 in a thread; yields the base URL; always shuts down within a few seconds."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive(), "server did not stop"


def gradient_frames(n: int, h: int = 48, w: int = 64, base: int = 40, step: int = 25) -> np.ndarray:
    """``n`` frames of distinct mean brightness with some texture (so H.264 keeps them apart)."""
    yy, xx = np.mgrid[0:h, 0:w]
    texture = ((xx + yy) % 16).astype(np.int64)
    return np.stack([np.clip(base + step * i + texture, 0, 255) for i in range(n)]).astype(np.uint8)[..., None] \
        .repeat(3, axis=-1)
