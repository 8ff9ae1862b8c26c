"""Failure paths over real HTTP: restart mid-job, timeouts, cancellation, full queue, bad payloads, big bodies."""

from __future__ import annotations

import json
import threading
import time

import httpx
import numpy as np
import pytest
from serving_helpers import IDENTITY_ROT6D, ScriptedWorldModel, free_port, gradient_frames, running

from cosmos_robotics.embodiments import ActionMode
from cosmos_robotics.errors import (
    JobCancelledError,
    JobFailedError,
    JobLostError,
    RemoteTimeoutError,
    RequestRejectedError,
    ServerBusyError,
    ServerUnreachableError,
)
from cosmos_robotics.serving import ServerConfig, create_app
from cosmos_robotics.world_models.remote import RemoteConfig, RemoteRequest, VllmOmniWorldModel
from cosmos_robotics.world_models.remote.vllm_wire import vllm_form

FAST = {"poll_interval_s": 0.02, "backoff_s": 0.05, "backoff_max_s": 0.2, "job_timeout_s": 20}
QUICK_STOP = ServerConfig(shutdown_grace_s=0.2)  # a restart must not wait for the blocked job
AV_ACTIONS = np.column_stack([np.full((4, 3), 0.1), np.tile(IDENTITY_ROT6D, (4, 1))])


def fd_form(**extra_overrides) -> tuple[dict, dict]:
    wire = RemoteRequest.of(RemoteRequest(ActionMode.FORWARD_DYNAMICS, "av", gradient_frames(1), AV_ACTIONS))
    form = vllm_form(wire)
    extra = {**json.loads(form["extra_params"]), **extra_overrides}
    media = wire.media()
    return {**form, "extra_params": json.dumps(extra)}, {"input_reference": (media.filename, media.data, "image/png")}


@pytest.fixture(scope="module")
def plain_server():
    with running(create_app(ScriptedWorldModel())) as url:
        yield url


def wait_for(predicate, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.01)


def _capture(results, errors, fn, *args, **kwargs):
    """Thread target: keep the result or the exception for the test to inspect."""
    try:
        results.append(fn(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        errors.append(exc)


def test_restart_mid_job_resubmits_transparently(gate):
    """The server restarts while a job runs; the new one forgets it (404); the client resubmits once and finishes."""
    port = free_port()
    first = ScriptedWorldModel(gate=gate)
    second = ScriptedWorldModel()
    results, errors = [], []
    client = VllmOmniWorldModel(RemoteConfig(f"http://127.0.0.1:{port}", max_retries=6, **FAST))
    thread = threading.Thread(target=_capture, args=(results, errors, client.forward_dynamics, gradient_frames(1)[0],
                                                     AV_ACTIONS), kwargs={"embodiment": "av", "seed": 2})
    with running(create_app(first, QUICK_STOP), port):
        thread.start()
        assert first.started.wait(10)
    # first server is down (its worker still blocked on the gate); bring up a fresh one on the same port
    with running(create_app(second), port):
        thread.join(20)
    assert not thread.is_alive() and not errors, errors
    assert results[0].extras["resubmits"] == 1 and len(second.calls) == 1
    assert second.calls[0].seed == 2  # the same request, so the same result
    client.close()


def test_restart_mid_job_without_resubmission_raises_job_lost(gate):
    port = free_port()
    first = ScriptedWorldModel(gate=gate)
    errors = []
    client = VllmOmniWorldModel(RemoteConfig(f"http://127.0.0.1:{port}", max_resubmits=0, max_retries=6, **FAST))
    thread = threading.Thread(target=_capture, args=([], errors, client.inverse_dynamics, gradient_frames(5)),
                              kwargs={"embodiment": "av", "chunk_size": 4})
    with running(create_app(first, QUICK_STOP), port):
        thread.start()
        assert first.started.wait(10)
    with running(create_app(ScriptedWorldModel()), port):
        thread.join(20)
    assert not thread.is_alive()
    assert isinstance(errors[0], JobLostError) and "restarted" in str(errors[0])


def test_server_gone_mid_job_raises_unreachable_after_bounded_retries(gate):
    """Refused after the job was submitted: maybe a restart, so retried (a refused first contact is not:
    test_refused_connections.py); a server that stays away ends the call after max_retries + 1 attempts."""
    port = free_port()
    first = ScriptedWorldModel(gate=gate)
    errors = []
    client = VllmOmniWorldModel(RemoteConfig(f"http://127.0.0.1:{port}", max_retries=2, **FAST))
    thread = threading.Thread(target=_capture, args=([], errors, client.forward_dynamics, gradient_frames(1)[0],
                                                     AV_ACTIONS), kwargs={"embodiment": "av"})
    with running(create_app(first, QUICK_STOP), port):
        thread.start()
        assert first.started.wait(10)
    thread.join(10)
    assert not thread.is_alive()
    assert isinstance(errors[0], ServerUnreachableError) and "3 attempt" in str(errors[0]), errors


def test_job_deadline_raises_timeout_and_cancels_server_job(gate):
    model = ScriptedWorldModel(gate=gate)
    app = create_app(model, QUICK_STOP)
    with running(app) as url, VllmOmniWorldModel(RemoteConfig(url, **{**FAST, "job_timeout_s": 1.0})) as client:
        start = time.monotonic()
        with pytest.raises(RemoteTimeoutError, match="job_timeout_s"):
            client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av")
        assert time.monotonic() - start < 3
        (job,) = app.state.jobs.jobs.values()
        assert job.status == "cancelled"  # the client sent DELETE


def test_caller_cancel_stops_poll_loop_and_cancels_job(gate):
    model = ScriptedWorldModel(gate=gate)
    app = create_app(model, QUICK_STOP)
    with running(app) as url, VllmOmniWorldModel(RemoteConfig(url, **FAST)) as client:
        threading.Thread(target=lambda: (model.started.wait(10), client.cancel()), daemon=True).start()
        with pytest.raises(JobCancelledError):
            client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av")
        (job,) = app.state.jobs.jobs.values()
        assert job.status == "cancelled"
        gate.set()
        # the cancel was consumed: the next call works and the cancelled job's late result was dropped
        assert client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av").frames.shape[0] == 5
        assert job.status == "cancelled" and job.video is None


def test_full_queue_gives_429_then_server_busy(gate):
    model = ScriptedWorldModel(gate=gate)
    with running(create_app(model, ServerConfig(queue_size=1, shutdown_grace_s=0.2))) as url:
        form, files = fd_form()
        running_job = httpx.post(f"{url}/v1/videos", data=form, files=files)
        assert running_job.status_code == 200 and model.started.wait(10)
        assert httpx.post(f"{url}/v1/videos", data=form, files=files).status_code == 200  # fills the queue
        full = httpx.post(f"{url}/v1/videos", data=form, files=files)
        assert full.status_code == 429 and "queue is full" in full.json()["error"]["message"]

        client = VllmOmniWorldModel(RemoteConfig(url, max_retries=2, **{**FAST, "backoff_s": 0.1}))
        start = time.monotonic()
        with pytest.raises(ServerBusyError, match="3 attempt") as info:
            client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av")
        assert info.value.status == 429 and 0.3 <= time.monotonic() - start < 3  # backoff 0.1 + 0.2
        gate.set()
        wait_for(lambda: httpx.get(f"{url}/health").json()["queued"] == 0)
        assert client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av").frames.shape[0] == 5


@pytest.mark.parametrize(
    ("change", "param", "needle"),
    [
        (lambda f, x: f.pop("extra_params"), "extra_params", "JSON object"),
        (lambda f, x: f.update(extra_params="{not json"), "extra_params", "valid JSON"),
        (lambda f, x: f.update(num_frames="7"), "num_frames", "action_chunk_size + 1 = 5"),
        (lambda f, x: f.update(seed="abc"), "seed", "an integer"),
        (lambda f, x: f.update(size="64by48"), "size", "WxH"),
        (lambda f, x: f.update(extra_params=json.dumps({**x, "action": [[0.1] * 7] * 4})), "extra_params.action",
         "shape [N, 9]"),
        (lambda f, x: f.update(extra_params=json.dumps({**x, "domain_name": "mars_rover"})), None, "mars_rover"),
        (lambda f, x: f.update(extra_params=json.dumps({**x, "action_mode": "dream"})), None, "unknown mode"),
    ],
)
def test_malformed_payload_is_422_naming_the_field(plain_server, change, param, needle):
    form, files = fd_form()
    change(form, json.loads(form["extra_params"]))
    response = httpx.post(f"{plain_server}/v1/videos", data=form, files=files)
    error = response.json()["error"]
    assert response.status_code == 422 and needle in error["message"], error
    assert param is None or error["param"] == param


def test_bad_media_and_unknown_jobs_are_4xx(plain_server):
    url = plain_server
    form, _ = fd_form()
    bad = httpx.post(f"{url}/v1/videos", data=form, files={"input_reference": ("x.png", b"not an image", "image/png")})
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "input_reference"
    none = httpx.post(f"{url}/v1/videos", data=form)
    assert none.status_code == 422 and "input_reference" in none.json()["error"]["message"]
    assert httpx.post(f"{url}/v1/videos", content=b"\x00garbage",
                      headers={"content-type": "multipart/form-data; boundary=zz"}).status_code in (400, 422)
    for method in ("GET", "DELETE"):
        assert httpx.request(method, f"{url}/v1/videos/nope").status_code == 404
    assert httpx.get(f"{url}/v1/videos/nope/content").status_code == 404


def test_client_gets_typed_errors_for_rejected_and_failed_jobs():
    no_policy = ScriptedWorldModel(modes=(ActionMode.FORWARD_DYNAMICS,))
    with running(create_app(no_policy)) as url, VllmOmniWorldModel(RemoteConfig(url, **FAST)) as client:
        with pytest.raises(RequestRejectedError, match="does not offer inverse_dynamics") as info:
            client.inverse_dynamics(gradient_frames(5), embodiment="av", chunk_size=4)
        assert info.value.status == 422
    with running(create_app(ScriptedWorldModel(fail="GPU fell off"))) as url, \
            VllmOmniWorldModel(RemoteConfig(url, **FAST)) as client:
        with pytest.raises(JobFailedError, match="GPU fell off"):
            client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av")


def test_request_too_large_is_413():
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)  # ~200 kB as PNG
    with running(create_app(ScriptedWorldModel(), ServerConfig(max_body_bytes=50_000))) as url:
        with VllmOmniWorldModel(RemoteConfig(url, **FAST)) as client:
            with pytest.raises(RequestRejectedError, match="exceeds the server limit of 50000 bytes") as info:
                client.forward_dynamics(noise, AV_ACTIONS, embodiment="av")
            assert info.value.status == 413
        head = (b'--zz\r\nContent-Disposition: form-data; name="input_reference"; filename="a.png"\r\n'
                b"Content-Type: image/png\r\n\r\n")
        chunks = (head if i == 0 else b"x" * 10_000 for i in range(11))  # no Content-Length: counted while streaming
        streamed = httpx.post(f"{url}/v1/videos", content=chunks,
                              headers={"content-type": "multipart/form-data; boundary=zz"})
        assert streamed.status_code == 413


def test_local_media_paths_only_under_allowed_root(tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    form, files = fd_form()
    (root / "frame.png").write_bytes(files["input_reference"][1])
    (tmp_path / "secret.png").write_bytes(files["input_reference"][1])
    model = ScriptedWorldModel()
    with running(create_app(model, ServerConfig(allowed_local_media_path=root))) as url:
        ok = httpx.post(f"{url}/v1/videos", data={**form, "input_reference": f"file://{root / 'frame.png'}"})
        assert ok.status_code == 200
        for outside in (tmp_path / "secret.png", root / ".." / "secret.png", root / "missing.png"):
            refused = httpx.post(f"{url}/v1/videos", data={**form, "input_reference": str(outside)})
            assert refused.status_code == 422 and "allowed media root" in refused.json()["error"]["message"]
    with running(create_app(ScriptedWorldModel())) as url:  # no root configured: paths are refused outright
        refused = httpx.post(f"{url}/v1/videos", data={**form, "input_reference": str(root / "frame.png")})
        assert refused.status_code == 422 and "--allowed-local-media-path" in refused.json()["error"]["message"]


def test_cancel_is_per_call_concurrent_calls_on_one_client_do_not_cancel_each_other(gate):
    model = ScriptedWorldModel(gate=gate)
    app = create_app(model, QUICK_STOP)
    with running(app) as url, VllmOmniWorldModel(RemoteConfig(url, **FAST)) as client:
        results, errors = {}, {}

        def call(name):
            try:
                results[name] = client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av", seed=3)
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                errors[name] = exc

        first, second = (threading.Thread(target=call, args=(n,)) for n in ("first", "second"))
        first.start()
        assert model.started.wait(10)
        second.start()
        wait_for(lambda: len(app.state.jobs.jobs) == 2)  # both submitted: one running (gated), one queued
        client.cancel(first.ident)
        first.join(10)
        assert isinstance(errors.get("first"), JobCancelledError)
        gate.set()
        second.join(20)
        assert "second" not in errors and results["second"].frames.shape[0] == 5
        client.cancel()  # nothing in flight: a later call is not affected
        assert client.forward_dynamics(gradient_frames(1)[0], AV_ACTIONS, embodiment="av").frames.shape[0] == 5
