"""What the remote backends share: configuration, one HTTP transport, and caller-side cancellation."""

from __future__ import annotations

import threading
from typing import Self

from cosmos_robotics.world_models.base import WorldModel
from cosmos_robotics.world_models.remote.transport import RemoteConfig, Transport


class RemoteWorldModel(WorldModel):
    """A :class:`WorldModel` whose ``_generate`` is one call to a Cosmos 3 server.

    The server returns model-space actions; :meth:`WorldModel.generate` decodes them through the adapter like any
    backend. ``cancel()`` (from any thread) stops the call in flight at its next wait and asks the server to drop
    the job; the call raises ``JobCancelledError``.
    """

    config_class = RemoteConfig  # the factory's options are its fields

    def __init__(self, config: RemoteConfig | str | None = None, **options):
        """``config``: a :class:`RemoteConfig`, or the base URL with ``options`` as its other fields."""
        if isinstance(config, RemoteConfig):
            self.config = config
        else:
            self.config = RemoteConfig(config, **options) if config else RemoteConfig(**options)
        self.cancel_event = threading.Event()
        self.transport = Transport(self.config, self.cancel_event)

    def cancel(self) -> None:
        self.cancel_event.set()

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
