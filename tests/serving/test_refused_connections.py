"""A refused connection (nothing listens at the address) fails at once with a typed error naming the address, from
every client that otherwise retries: the remote world models, the Reasoner client, the OpenPI policy client. What
can recover keeps its bounded retries (a restart after the server answered, 429, 5xx, timeouts: see
test_vllm_failures.py, test_reasoner.py, test_openpi.py).

The elapsed time of the failing call is asserted because failing fast is the behaviour under test: with their
default retry policies these clients would take 3.5-7.5 s to give up. The CLI runs print one ``error:`` line.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from serving_helpers import IDENTITY_ROT6D, free_port, gradient_frames

from cosmos_robotics.cli import main
from cosmos_robotics.errors import ServerUnreachableError
from cosmos_robotics.policies.openpi import PolicyDroidClient, droid_format
from cosmos_robotics.reasoning import ReasonerClient
from cosmos_robotics.world_models.factory import make_world_model

FAIL_FAST_S = 1.0
AV_ACTIONS = np.column_stack([np.full((4, 3), 0.1), np.tile(IDENTITY_ROT6D, (4, 1))])


def fails_fast(call, address: str) -> ServerUnreachableError:
    start = time.monotonic()
    with pytest.raises(ServerUnreachableError) as info:
        call()
    elapsed = time.monotonic() - start
    assert elapsed < FAIL_FAST_S, f"took {elapsed:.2f} s to report a refused connection"
    assert address in str(info.value)
    return info.value


def one_error_line(capfd, address: str) -> str:
    """stderr ends with one ``error:`` line naming the address; before it at most our own progress bar."""
    err = capfd.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 1, err
    last = err.rstrip("\n").rsplit("\n", 1)[-1].rsplit("\r", 1)[-1].strip()
    assert last.startswith("error: ") and address in last, err
    return last


@pytest.mark.parametrize("backend", ["vllm-omni", "trtllm", "nim"])
def test_world_model_clients_fail_at_once(backend, tmp_path, capfd):
    url = f"http://127.0.0.1:{free_port()}"
    model = make_world_model(backend, url)  # the default config: 4 retries with backoff on what can recover
    error = fails_fast(lambda: model.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av"), url)
    assert "nothing accepts connections" in str(error)
    capfd.readouterr()
    assert main(["fd", "--backend", backend, "--checkpoint", url, "--embodiment", "av", "--fixture",
                 "--out", str(tmp_path / "fd")]) == 2
    assert "nothing accepts connections" in one_error_line(capfd, url)


def test_reasoner_client_fails_at_once(capfd):
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = ReasonerClient(url, retries=3, backoff=2.0)  # three retries with this backoff would take 14 s
    fails_fast(lambda: client.ask("hi"), url)
    capfd.readouterr()
    assert main(["reason", "--base-url", url, "--prompt", "hi"]) == 2
    assert "is the Reasoner served" in one_error_line(capfd, url)


def test_openpi_client_fails_at_once(tmp_path, capfd):
    address = f"127.0.0.1:{free_port()}"
    client = PolicyDroidClient(address)  # 3 retries on a dropped connection
    views = {f"{droid_format.IMAGE_PREFIX}{v}": np.zeros((128, 128, 3), np.uint8) for v in droid_format.VIEW_KEYS}
    observation = {**views, droid_format.STATE_KEY: np.zeros(14, np.float32), "task": "pick"}
    assert "refused the connection" in str(fails_fast(lambda: client.select_action_chunk(observation), address))
    fails_fast(lambda: client.reset(0), address)
    capfd.readouterr()
    assert main(["rollout", "--policy", f"openpi:url=ws://{address}", "--seeds", "0", "--steps", "1",
                 "--out", str(tmp_path / "ro")]) == 2
    one_error_line(capfd, address)
