"""What the remote backends share: configuration, one HTTP transport, and per-call cancellation."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Self

from cosmos_robotics.world_models.base import WorldModel
from cosmos_robotics.world_models.remote.transport import RemoteConfig, Transport


class RemoteWorldModel(WorldModel):
    """A :class:`WorldModel` whose ``_generate`` is one call to a Cosmos 3 server.

    The server returns model-space actions; :meth:`WorldModel.generate` decodes them through the adapter like any
    backend. One client may serve calls from several threads at once; each call has its own cancel flag, so
    ``cancel(thread_id)`` (from any thread) stops only the call running on that thread, and ``cancel()`` the calls
    in flight now (never a later one). A cancelled call stops at its next wait, asks the server to drop the job
    and raises ``JobCancelledError``.
    """

    config_class = RemoteConfig  # the factory's options are its fields

    def __init__(self, config: RemoteConfig | str | None = None, **options):
        """``config``: a :class:`RemoteConfig`, or the base URL with ``options`` as its other fields."""
        if isinstance(config, RemoteConfig):
            self.config = config
        else:
            self.config = RemoteConfig(config, **options) if config else RemoteConfig(**options)
        self.transport = Transport(self.config)
        self._calls: dict[int, threading.Event] = {}
        self._calls_lock = threading.Lock()

    @contextlib.contextmanager
    def call(self) -> Iterator[threading.Event]:
        """The cancel flag of one call, registered under the calling thread for its duration."""
        event, key = threading.Event(), threading.get_ident()
        with self._calls_lock:
            self._calls[key] = event
        try:
            yield event
        finally:
            with self._calls_lock:
                if self._calls.get(key) is event:
                    del self._calls[key]

    def cancel(self, thread_id: int | None = None) -> None:
        """Cancel the call running on ``thread_id`` (``threading.get_ident()`` of its thread), or all in flight."""
        with self._calls_lock:
            events = list(self._calls.values()) if thread_id is None else [self._calls.get(thread_id)]
        for event in events:
            if event is not None:
                event.set()

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
