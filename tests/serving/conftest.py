"""Fixtures for the serving tests (helpers live in serving_helpers.py)."""

import threading

import pytest


@pytest.fixture
def gate():
    """A gate that ScriptedWorldModel blocks on; always opened at teardown so no worker stays blocked."""
    event = threading.Event()
    yield event
    event.set()
