"""``serve-policy``: any ``Policy`` behind an OpenPI-compatible websocket server, in the Policy-DROID format.

Wire protocol as openpi's ``WebsocketPolicyServer`` (msgpack frames in openpi's array format, one metadata frame on
connect, ``GET /healthz`` -> 200, one reply per request in order) plus vLLM-Omni's additions: ``"endpoint":
"reset"`` (-> ``{"status": "reset successful"}``, ends the connection's sessions) and ``session_id`` (each session gets its own policy object from
the factory, reset at its first request; sessions end with a reset, a new ``session_id`` on the connection, or the
connection). Differences from openpi, on purpose:

* inference runs in a worker thread, so the event loop keeps answering keepalive pings during a slow model call;
* a bad request is answered with a binary ``{"type": "error", "message": ...}`` and the connection stays open
  (openpi sends a text traceback and closes); other connections never notice;
* frames above ``max_message_bytes`` close that connection with code 1009 (openpi: no limit);
* loopback only unless the CLI is told otherwise (``cli.serve.check_host``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from cosmos_robotics.errors import CosmosRoboticsError, PayloadError
from cosmos_robotics.policies.base import Policy
from cosmos_robotics.policies.openpi import codec, droid_format

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000  # 0: any free port (``PolicyServer.port`` says which)
    max_message_bytes: int = 16 * 1024 * 1024
    max_sessions: int = 8  # policy objects alive at once; the least recently used session is dropped beyond
    image_size: tuple[int, int] = (128, 128)  # what the served policy's cameras give (H, W)
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0


class PolicyServer:
    """``make_policy()`` builds one policy per session; ``serve_forever()`` or ``ServerThread`` runs it."""

    def __init__(self, make_policy: Callable[[], Policy], config: PolicyServerConfig | None = None):
        from cosmos_robotics.sim.kinematics import ArmKinematics

        self.make_policy, self.config = make_policy, config or PolicyServerConfig()
        self._spare: Policy | None = make_policy()  # built up front: a bad policy fails before the port opens
        self.name = self._spare.name
        self.kinematics = ArmKinematics()
        self.sessions: dict[tuple[int, str], Policy] = {}  # (connection, session id) -> policy, LRU order
        self._lock = threading.Lock()  # sessions change on the event loop and in the worker
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="policy")  # one model call at a time
        self._connections = itertools.count()
        self.port: int | None = None

    def metadata(self) -> dict[str, Any]:
        return {"policy": self.name, "format": "cosmos3-policy-droid", "action_space": "joint_pos",
                "action_horizon": droid_format.HORIZON, "action_dim": droid_format.ACTION_DIM,
                "fps": droid_format.FPS, "endpoints": ["infer", "reset"], "needs_session_id": False}

    # ----------------------------------------------------------------- transport
    async def serve_forever(self, ready: Callable[[], None] | None = None,
                            stop: asyncio.Event | None = None) -> None:
        async with serve(self._handle, self.config.host, self.config.port, compression=None,
                         max_size=self.config.max_message_bytes, process_request=_health,
                         ping_interval=self.config.ping_interval, ping_timeout=self.config.ping_timeout) as server:
            self.port = server.sockets[0].getsockname()[1]
            log.info("serving %s on ws://%s:%d", self.name, self.config.host, self.port)
            if ready is not None:
                ready()
            await (stop.wait() if stop is not None else asyncio.Future())

    async def _handle(self, ws: ServerConnection) -> None:
        connection = next(self._connections)
        try:
            await ws.send(codec.packb(self.metadata()))
            async for frame in ws:
                reply = await self._answer(connection, frame)
                await ws.send(codec.packb(reply))
        except ConnectionClosed:
            pass
        finally:
            self._end_sessions(lambda key: key[0] == connection)

    # ----------------------------------------------------------------- requests
    async def _answer(self, connection: int, frame: bytes | str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        try:
            if isinstance(frame, str):
                raise PayloadError("frame", "a binary msgpack frame", "a text frame")
            message = codec.unpackb(frame)
            if not isinstance(message, dict):
                raise PayloadError("message", "a map", type(message).__name__)
            endpoint = message.pop("endpoint", "infer")
            session = str(message.pop("session_id", "default"))
            if endpoint == "reset":
                self._end_sessions(lambda key: key[0] == connection)  # vLLM-Omni: reset the connection's state
                return {"status": "reset successful"}
            if endpoint != "infer":
                raise PayloadError("endpoint", "'infer' or 'reset'", repr(endpoint))
            return await loop.run_in_executor(self._worker, self._infer, connection, session, message)
        except PayloadError as exc:
            return {"type": "error", "message": f"Invalid request payload: {exc}"}
        except CosmosRoboticsError as exc:
            return {"type": "error", "message": f"Internal inference error: {exc}"}
        except Exception as exc:  # a policy bug must not take the server down; the log has the traceback
            log.exception("inference failed")
            return {"type": "error", "message": f"Internal inference error: {type(exc).__name__}: {exc}"}

    def _infer(self, connection: int, session: str, message: dict) -> dict[str, Any]:
        start = time.perf_counter()
        observation = droid_format.observation(message, self.config.image_size, self.kinematics)
        seed = message.get("seed")
        policy = self._session(connection, session, None if seed is None else int(seed))
        begin = time.perf_counter()
        chunk = policy.select_action_chunk(observation)
        infer_s = time.perf_counter() - begin
        actions, valid = droid_format.action(chunk, observation["observation.state"][droid_format.JOINTS],
                                             self.kinematics)
        timing = {"infer_ms": infer_s * 1e3, "total_ms": (time.perf_counter() - start) * 1e3}
        # "action": the Cosmos reference server's key; "actions": openpi's DROID clients read this one.
        return {"action": actions, "actions": actions, "valid_steps": valid, "server_timing": timing}

    def _session(self, connection: int, session: str, seed: int | None) -> Policy:
        """This session's policy: the one it has, or a new one (a new session id ends the connection's old one)."""
        key = (connection, session)
        with self._lock:
            if key in self.sessions:
                self.sessions[key] = self.sessions.pop(key)  # most recently used last
                return self.sessions[key]
        self._end_sessions(lambda k: k[0] == connection)
        policy, self._spare = self._spare or self.make_policy(), None
        policy.reset(seed)
        with self._lock:
            while len(self.sessions) >= self.config.max_sessions:
                del self.sessions[next(iter(self.sessions))]
            self.sessions[key] = policy
        return policy

    def _end_sessions(self, which: Callable[[tuple[int, str]], bool]) -> None:
        with self._lock:
            for key in [k for k in self.sessions if which(k)]:
                del self.sessions[key]


def _health(connection: ServerConnection, request):
    if request.path == "/healthz":
        return connection.respond(HTTPStatus.OK, "OK\n")
    return None


class ServerThread:
    """A ``PolicyServer`` on its own event loop in a background thread (tests, benchmarks, notebooks)."""

    def __init__(self, server: PolicyServer, start_timeout_s: float = 30.0):
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        if not started.wait(start_timeout_s) or self.server.port is None:
            raise CosmosRoboticsError(f"policy server did not start within {start_timeout_s:g} s "
                                      f"({self.server.config.host}:{self.server.config.port})")

    @property
    def url(self) -> str:
        return f"ws://{self.server.config.host}:{self.server.port}"

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.serve_forever(started.set, self._stop))
        finally:
            started.set()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
