"""HTTP plumbing every remote backend shares: timeouts, bounded retries with exponential backoff, cancellation,
and the mapping of HTTP failures onto typed errors whose messages say the URL, the status and what to do.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from cosmos_robotics.errors import (
    JobCancelledError,
    MalformedResponseError,
    RemoteTimeoutError,
    RequestRejectedError,
    ServerBusyError,
    ServerUnreachableError,
)


@dataclass(frozen=True)
class RemoteConfig:
    """Where the server is and how long / how often to try. Every loop is bounded by a count and a deadline."""

    base_url: str
    api_key: str | None = None
    model: str | None = None  # vLLM-Omni ``model`` form field (optional)
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 120.0  # one HTTP exchange; blocking endpoints (TRT ``/sync``, NIM) need it long
    job_timeout_s: float = 1800.0  # whole call, submission to result
    poll_interval_s: float = 0.5
    max_retries: int = 4  # extra attempts on 429 / 5xx / dropped connections (not on a first refusal)
    backoff_s: float = 0.5  # first retry delay; doubles each attempt
    backoff_max_s: float = 8.0
    max_resubmits: int = 1  # vLLM-Omni: resubmit a job the server forgot (restart); 0 -> JobLostError at once


class Deadline:
    def __init__(self, seconds: float):
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def expired(self, what: str, url: str) -> RemoteTimeoutError:
        return RemoteTimeoutError(f"{what} did not finish within the {self.seconds:g} s call deadline; raise "
                                  "job_timeout_s or check the server's load", url)


def _server_message(response: httpx.Response) -> str:
    """The server's own reason: OpenAI-style ``{"error": {"message"}}``, FastAPI ``{"detail"}``, or the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("detail"):
            return str(body["detail"])[:300]
    return str(body)[:300]


class Transport:
    """One ``httpx.Client`` (thread-safe) plus the retry policy. Each call passes its own ``cancel`` flag, which
    aborts its waits (backoff, polling) promptly without touching other calls."""

    RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

    def __init__(self, config: RemoteConfig):
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self.client = httpx.Client(
            base_url=config.base_url.rstrip("/"), headers=headers,
            timeout=httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s),
        )

    def url(self, path: str) -> str:
        return f"{self.config.base_url.rstrip('/')}{path}"

    def close(self) -> None:
        self.client.close()

    def wait(self, seconds: float, deadline: Deadline, what: str, cancel: threading.Event) -> None:
        """Sleep, but wake for a cancel; never past the deadline."""
        if deadline.remaining() <= 0:
            raise deadline.expired(what, self.config.base_url)
        if cancel.wait(max(0.0, min(seconds, deadline.remaining()))):
            raise JobCancelledError(f"{what} cancelled by the caller", self.config.base_url)

    def send(self, method: str, path: str, deadline: Deadline, cancel: threading.Event, *, allow_404: bool = False,
             reached: bool = False, **kwargs: Any) -> httpx.Response:
        """One logical request. Retries 429/5xx/dropped connections ``max_retries`` times with exponential backoff.

        A refused connection (nothing listens at the address) raises ``ServerUnreachableError`` at once, unless
        ``reached``: the server answered earlier in this call (a job was submitted), so a refusal now is a restart
        worth waiting for. A read timeout is not retried (the server may still be working on it): it raises
        ``RemoteTimeoutError``. Other 4xx raise ``RequestRejectedError`` with the server's reason; 404 is returned
        when ``allow_404``.
        """
        cfg, url = self.config, self.url(path)
        last: tuple[int | None, str] = (None, "")
        for attempt in range(cfg.max_retries + 1):
            if cancel.is_set():
                raise JobCancelledError(f"{method} {path} cancelled by the caller", url)
            remaining = deadline.remaining()
            if remaining <= 0:
                break
            timeout = httpx.Timeout(min(cfg.read_timeout_s, remaining), connect=min(cfg.connect_timeout_s, remaining))
            try:
                response = self.client.request(method, path, timeout=timeout, **kwargs)
            except httpx.ReadTimeout:
                if remaining < cfg.read_timeout_s:  # the read was cut short by the whole call's deadline
                    raise deadline.expired(f"{method} {path}", url) from None
                raise RemoteTimeoutError(
                    f"no answer within {cfg.read_timeout_s:g} s; raise read_timeout_s or check "
                    "the server's load", url) from None
            except httpx.ConnectError as exc:  # refused or unresolvable: nothing to wait for on a first contact
                if not reached:
                    raise ServerUnreachableError(
                        f"cannot connect ({exc}); nothing accepts connections at {cfg.base_url}: start the server "
                        "(`cosmos-robotics serve`, `vllm serve ... --omni`, `trtllm-serve`) or fix the URL",
                        url) from None
                last = (None, f"{type(exc).__name__}: {exc}")
            except httpx.TransportError as exc:  # reset, connect timeout, protocol error
                last = (None, f"{type(exc).__name__}: {exc}")
            else:
                if response.status_code not in self.RETRY_STATUSES:
                    return self._checked(response, url, allow_404)
                last = (response.status_code, _server_message(response))
            if attempt < cfg.max_retries:
                self.wait(min(cfg.backoff_s * 2**attempt, cfg.backoff_max_s), deadline, f"{method} {path}", cancel)
        status, reason = last
        attempts = f"{attempt + 1} attempt(s)"
        if status == 429:
            raise ServerBusyError(f"server stayed busy (queue full) after {attempts}: {reason}; retry later, send "
                                  "fewer concurrent requests or start the server with a larger queue", url, 429)
        if deadline.remaining() <= 0:
            raise deadline.expired(f"{method} {path}", url)
        raise ServerUnreachableError(
            f"server failed after {attempts}: {reason}; check that it is running at {cfg.base_url} "
            "(`cosmos-robotics serve`, `vllm serve ... --omni`, `trtllm-serve`) and its logs", url, status)

    @staticmethod
    def _checked(response: httpx.Response, url: str, allow_404: bool) -> httpx.Response:
        status = response.status_code
        if status < 400 or (status == 404 and allow_404):
            return response
        if status in (401, 403):
            raise RequestRejectedError(f"not authorized: {_server_message(response)}; pass the server's API key "
                                       "(RemoteConfig.api_key / --api-key)", url, status)
        raise RequestRejectedError(f"server rejected the request: {_server_message(response)}", url, status)

    @staticmethod
    def json(response: httpx.Response, url: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise MalformedResponseError(f"expected a JSON object, got {response.text[:120]!r}", url,
                                         response.status_code)
        return body
