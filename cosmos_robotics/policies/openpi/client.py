"""``PolicyDroidClient``: a Cosmos3-Nano-Policy-DROID server (RoboLab reference, vLLM-Omni's
``/v1/realtime/robot/openpi``, ``cosmos-robotics serve-policy``) as a ``Policy``: 32 absolute joint targets per call.

Each episode is one session (``session_id`` changes at ``reset``; servers that announce a ``reset`` endpoint in
their metadata also get an explicit reset). A refused first connection raises ``ServerUnreachableError`` at once
(nothing listens there); a dropped connection to a server that answered before is re-opened and the request
re-sent, up to ``retries`` times; a reply that takes longer than ``timeout_s`` raises ``RemoteTimeoutError`` and the connection
is closed (a late reply must never answer the next request). Run it with ``ExecuteK`` to execute k of the 32
rows (``make_policy("openpi:url=ws://127.0.0.1:8000,replan=16")``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from cosmos_robotics.errors import MalformedResponseError, RemoteTimeoutError, ServerUnreachableError
from cosmos_robotics.policies.base import ActionChunk
from cosmos_robotics.policies.openpi import codec, droid_format


class PolicyDroidClient:
    needs_privileged_state = False

    def __init__(self, url: str, timeout_s: float = 60.0, retries: int = 3, composed: bool = False,
                 api_key: str | None = None, max_message_bytes: int = 64 * 1024 * 1024):
        if not url.startswith(("ws://", "wss://")):
            url = f"ws://{url}"
        self.url, self.timeout_s, self.retries, self.composed = url, float(timeout_s), int(retries), composed
        self.name = f"openpi:url={url}" + (",composed=1" if composed else "")
        self._headers = {"Authorization": f"Api-Key {api_key}"} if api_key else None
        self._max_size = max_message_bytes
        self._ws: ClientConnection | None = None
        self._reached = False  # a server answered once: a later refusal is a restart, worth retrying
        self.server_metadata: dict[str, Any] = {}
        self.session_id = self._new_session(None)

    # ----------------------------------------------------------------- Policy protocol
    def reset(self, seed: int | None = None) -> None:
        self.session_id = self._new_session(seed)
        if "reset" in self._metadata().get("endpoints", ()):
            reply = self._call({"endpoint": "reset", "session_id": self.session_id})
            if not isinstance(reply, dict) or "status" not in reply:
                raise MalformedResponseError(f"reset: expected {{'status': ...}}, got {type(reply).__name__}", self.url)

    def select_action_chunk(self, observation: dict[str, Any]) -> ActionChunk:
        start = time.perf_counter()
        reply = self._call(droid_format.request(observation, self.session_id, self.composed))
        chunk = droid_format.chunk_from_reply(reply, self.url)
        chunk.metadata.update(policy=self.name, latency_s=time.perf_counter() - start)
        return chunk

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    # ----------------------------------------------------------------- transport
    @staticmethod
    def _new_session(seed: int | None) -> str:
        return f"cosmos-robotics-{uuid.uuid4().hex[:12]}" + ("" if seed is None else f"-seed-{seed}")

    def _metadata(self) -> dict[str, Any]:
        try:
            self._connection()
        except (ConnectionClosed, OSError, InvalidHandshake) as exc:  # TimeoutError is an OSError
            raise ServerUnreachableError(f"policy server unreachable: {type(exc).__name__}: {exc}", self.url) from None
        return self.server_metadata

    def _connection(self) -> ClientConnection:
        if self._ws is None:
            ws = connect(self.url, compression=None, max_size=self._max_size, open_timeout=self.timeout_s,
                         additional_headers=self._headers, legacy=True)  # a long-lived connection
            try:
                metadata = codec.unpackb(ws.recv(timeout=self.timeout_s))
            except BaseException:
                ws.close()
                raise
            self.server_metadata = metadata if isinstance(metadata, dict) else {}
            self._ws, self._reached = ws, True
        return self._ws

    def _call(self, message: dict[str, Any]) -> Any:
        """Send one request, return the decoded reply; reconnect and resend after a dropped connection."""
        frame = codec.packb(message)
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(2.0, 0.25 * 2**attempt))
            try:
                ws = self._connection()
                ws.send(frame)
                reply = ws.recv(timeout=self.timeout_s)
            except TimeoutError:
                self.close()
                raise RemoteTimeoutError(f"no policy reply within {self.timeout_s:g} s", self.url) from None
            except (ConnectionClosed, OSError, InvalidHandshake) as exc:
                self.close()
                if isinstance(exc, ConnectionRefusedError) and not self._reached:
                    raise ServerUnreachableError(f"policy server refused the connection ({exc}); nothing listens "
                                                 "there: start it (`cosmos-robotics serve-policy`) or fix the URL",
                                                 self.url) from None
                last = exc
                continue
            if isinstance(reply, str):  # openpi servers close the connection after a text (traceback) frame
                self.close()
                return reply
            return codec.unpackb(reply)
        raise ServerUnreachableError(f"policy server unreachable after {self.retries + 1} attempts: "
                                     f"{type(last).__name__}: {last}", self.url)
