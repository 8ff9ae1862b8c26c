"""`cosmos-robotics serve` option checks: loopback only unless --allow-remote, sane limits."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from serving_helpers import ScriptedWorldModel, free_port, gradient_frames, running

from cosmos_robotics.cli import main
from cosmos_robotics.cli.serve import check_host
from cosmos_robotics.errors import ServeConfigError, ServerUnreachableError
from cosmos_robotics.serving import create_app
from cosmos_robotics.world_models.remote import RemoteConfig, VllmOmniWorldModel


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_are_allowed(host):
    assert check_host(host, allow_remote=False) == host


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "robot.example.com"])
def test_public_hosts_need_allow_remote(host):
    with pytest.raises(ServeConfigError, match="--allow-remote"):
        check_host(host, allow_remote=False)
    assert check_host(host, allow_remote=True) == host


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--host", "0.0.0.0"], "not a loopback address"),
        (["--queue-size", "0"], "--queue-size must be >= 1"),
        (["--allowed-local-media-path", "/definitely/not/here"], "is not a directory"),
    ],
)
def test_cli_refuses_bad_options_with_one_line(argv, needle, capsys):
    assert main(["serve", "--backend", "scripted", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def wait_until_listening(client, server, timeout_s: float = 60.0) -> list[str]:
    """The subprocess needs seconds to import and bind; until then a connection is refused, which the client
    reports at once (it does not retry a refusal), so the test polls."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return client.models()
        except ServerUnreachableError:
            assert server.poll() is None and time.monotonic() < deadline, "the server never started listening"
            time.sleep(0.2)


def test_cli_serves_a_factory_backend_end_to_end():
    """`cosmos-robotics serve --backend vllm-omni` (a subprocess) proxies to an in-test server; a client talks to it.

    Exercises the real command: argument parsing, factory lookup, uvicorn binding 127.0.0.1, and both hops of HTTP.
    """
    model = ScriptedWorldModel()
    port = free_port()
    with running(create_app(model)) as upstream:
        command = [sys.executable, "-c", "import sys; from cosmos_robotics.cli import main; sys.exit(main())",
                   "serve", "--backend", "vllm-omni", "--checkpoint", upstream, "--opt", "poll_interval_s=0.02",
                   "--port", str(port), "--model-id", "proxy"]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            with VllmOmniWorldModel(RemoteConfig(url, poll_interval_s=0.05, max_retries=8, backoff_s=0.25,
                                                 backoff_max_s=1.0, job_timeout_s=60)) as client:
                assert wait_until_listening(client, server) == ["proxy"]
                video = gradient_frames(5)
                result = client.inverse_dynamics(video, embodiment="av", chunk_size=4, seed=7)
        finally:
            server.terminate()
            output = server.communicate(timeout=15)[0]
    local = ScriptedWorldModel().inverse_dynamics(video, embodiment="av", chunk_size=4, seed=7)
    np.testing.assert_allclose(result.actions, local.actions, atol=0.02)  # two mp4 hops
    assert model.calls[0].seed == 7 and "Uvicorn running on http://127.0.0.1" in output
