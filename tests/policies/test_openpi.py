"""OpenPI interop against real servers on 127.0.0.1: the real openpi-client (own venv, numpy < 2) driving
``serve-policy``, our Policy-DROID client against it (contract keys/shapes/dtypes, malformed messages, a 10 s model
call with keepalive pings, reset, a dropped connection), and the served chunks driving SimDroid-v0's joint mode."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request

import msgpack
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from cosmos_robotics.envs import SimChunkEnv
from cosmos_robotics.errors import (
    ActionContractError,
    JobFailedError,
    MalformedResponseError,
    PayloadError,
    RemoteTimeoutError,
    RequestRejectedError,
    ServerUnreachableError,
)
from cosmos_robotics.policies import make_policy
from cosmos_robotics.policies.openpi import PolicyDroidClient, codec, droid_format
from cosmos_robotics.rollout import run_episode
from cosmos_robotics.serving.openpi_server import PolicyServer, PolicyServerConfig, ServerThread
from cosmos_robotics.sim import SimDroidEnv
from cosmos_robotics.sim.kinematics import ArmKinematics

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


class Slow:
    """The embedded policy, ``seconds`` slower per call: a slow world-model policy stand-in with real output."""

    needs_privileged_state = False

    def __init__(self, seconds: float):
        self.inner, self.seconds = make_policy("embedded"), seconds
        self.name = f"slow-{seconds:g}s"

    def reset(self, seed=None):
        self.inner.reset(seed)

    def select_action_chunk(self, observation):
        time.sleep(self.seconds)
        return self.inner.select_action_chunk(observation)


@pytest.fixture(scope="module")
def observation():
    env = SimDroidEnv()
    obs, _ = env.reset(seed=3)
    env.close()
    return {**obs, "task": "Pick up the red cube and place it on the plate."}


@pytest.fixture(scope="module")
def served():
    server = PolicyServer(lambda: make_policy("embedded"), PolicyServerConfig(port=0, max_message_bytes=4 * 2**20))
    with ServerThread(server) as running:
        yield running


def test_codec_round_trip_is_openpi_format_and_writable():
    message = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.uint8(7), "c": [np.zeros(2, bool), "x"],
               "d": {"e": np.array([1.5, -2.0]).astype(">f8")}}
    raw = msgpack.unpackb(codec.packb(message))
    assert raw["a"] == {b"__ndarray__": True, b"data": message["a"].tobytes(), b"dtype": "<f4", b"shape": [2, 3]}
    back = codec.unpackb(codec.packb(message))
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], message["a"]) and back["a"].flags.writeable
    assert back["b"] == 7 and back["b"].dtype == np.uint8 and back["c"][1] == "x"
    assert back["d"]["e"].dtype == np.dtype(">f8") and back["d"]["e"].tolist() == [1.5, -2.0]
    back["a"][0, 0] = 9  # openpi's decoder would give a read-only view here
    for bad in (np.array([1j]), np.array([object()]), np.zeros(1, [("x", "f4")])):
        with pytest.raises(PayloadError, match="dtype"):
            codec.packb({"x": bad})
    with pytest.raises(PayloadError, match="bytes for"):
        codec.unpackb(msgpack.packb({b"__ndarray__": True, b"data": b"\0" * 3, b"dtype": "<f4", b"shape": [1]}))
    with pytest.raises(PayloadError, match="msgpack"):
        codec.unpackb(b"\xc1\x00")


def test_request_has_the_contract_keys_shapes_and_dtypes(observation):
    three = droid_format.request(observation, "s1")
    assert set(three) == {*droid_format.VIEW_KEYS.values(), "observation/joint_position",
                          "observation/gripper_position", "prompt", "session_id"}
    for key in droid_format.VIEW_KEYS.values():
        assert three[key].dtype == np.uint8 and three[key].shape == (128, 128, 3)
    assert three["observation/joint_position"].shape == (7,) and three["observation/joint_position"].dtype == np.float32
    assert three["observation/gripper_position"].shape == (1,) and three["prompt"].startswith("Pick up")
    np.testing.assert_array_equal(three["observation/joint_position"], observation["observation.state"][7:])
    composed = droid_format.request(observation, "s1", composed=True)["observation/image"]
    assert composed.dtype == np.uint8 and composed.shape == (540, 640, 3)
    # the server recovers each view from the concat view (letterbox removed, resized back)
    views = droid_format.decompose(composed)
    wrist = droid_format.unpad(views["wrist"], 1.0)
    assert wrist.shape == (360, 360, 3) and composed[:360, :100].max() == 0  # black letterbox bars


def test_served_chunk_is_the_embedded_plan_in_joint_space(served, observation):
    client = PolicyDroidClient(served.url)
    chunk = client.select_action_chunk(observation)
    assert chunk.kind == "joints" and chunk.joint_positions.shape == (32, 7) and chunk.gripper.shape == (32,)
    assert chunk.metadata["valid_steps"] == 16 and client.server_metadata["action_horizon"] == 32
    np.testing.assert_array_equal(chunk.joint_positions[16:], np.repeat(chunk.joint_positions[15:16], 16, axis=0))
    plan = make_policy("embedded").select_action_chunk(observation)  # the same policy, run here in pose space
    kinematics = ArmKinematics()
    reached = np.stack([kinematics.flange_pose(q) for q in chunk.joint_positions[:16]])
    assert np.abs(reached[:, :3, 3] - plan.poses[:, :3, 3]).max() < 2e-3  # IK within 2 mm (float32 wire)
    np.testing.assert_allclose(chunk.gripper[:16], plan.gripper, atol=1e-6)
    client.close()


@pytest.fixture(scope="module")
def openpi_python() -> str:
    """openpi-client 0.1.2 + openpi-server 0.1.0 from PyPI (numpy 1.26) in .venv-openpi (.ci/openpi-client-venv)."""
    made = subprocess.run(["bash", str(REPO / ".ci" / "openpi-client-venv")], capture_output=True, text=True,
                          timeout=600)
    assert made.returncode == 0, made.stderr[-2000:]
    return made.stdout.strip()


def _wait_healthy(port: int, proc: subprocess.Popen | None = None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc is None or proc.poll() is None, proc.stdout.read()
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read() == b"OK\n":
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"nothing healthy on port {port} after {seconds:g} s")


def test_real_openpi_client_drives_serve_policy(served, observation, tmp_path, openpi_python):
    python = subprocess.CompletedProcess([], 0, stdout=openpi_python)
    np.savez(tmp_path / "obs.npz", **{k.replace("/", "|"): v for k, v in droid_format.request(observation, "x").items()
                                      if k not in ("prompt", "session_id")})
    script = tmp_path / "drive.py"
    script.write_text(f"""
import json, numpy as np
from openpi_client import image_tools, websocket_client_policy
obs = {{k.replace("|", "/"): v for k, v in np.load({str(tmp_path / "obs.npz")!r}).items()}}
obs["prompt"] = "Pick up the red cube and place it on the plate."
client = websocket_client_policy.WebsocketClientPolicy(host="127.0.0.1", port={served.server.port})
out = {{"metadata": client.get_server_metadata(), "numpy": np.__version__}}
three = client.infer(obs)
pad = lambda img: image_tools.resize_with_pad(img, 360, 640)
composed = np.concatenate([pad(obs["observation/wrist_image_left"]), np.concatenate(
    [image_tools.resize_with_pad(pad(obs[k]), 180, 320) for k in
     ("observation/exterior_image_1_left", "observation/exterior_image_2_left")], axis=1)])
one = client.infer({{"observation/image": composed, "prompt": obs["prompt"],
                    **{{k: obs[k] for k in ("observation/joint_position", "observation/gripper_position")}}}})
out["three"] = {{"actions": three["actions"].tolist(), "dtype": three["action"].dtype.str,
                "shape": list(three["action"].shape), "keys": sorted(three)}}
out["composed"] = {{"actions": one["actions"].tolist(), "shape": list(one["actions"].shape)}}
print(json.dumps(out))
""")
    run = subprocess.run([python.stdout.strip(), str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["numpy"].startswith("1.") and out["metadata"]["action_space"] == "joint_pos"
    assert out["three"]["shape"] == [32, 8] and out["three"]["dtype"] == "<f4"
    assert {"action", "actions", "server_timing", "valid_steps"} <= set(out["three"]["keys"])
    ours = PolicyDroidClient(served.url).select_action_chunk(observation)
    theirs = np.asarray(out["three"]["actions"])
    np.testing.assert_array_equal(theirs[:, :7], ours.joint_positions.astype(np.float32))  # same request, same plan
    composed = np.asarray(out["composed"]["actions"])  # views went through letterbox + resize: close, not equal
    assert composed.shape == (32, 8) and np.abs(composed[:16, :7] - theirs[:16, :7]).max() < 0.15
    assert urllib.request.urlopen(f"http://127.0.0.1:{served.server.port}/healthz", timeout=5).read() == b"OK\n"


def _raw(url):
    ws = connect(url, compression=None, legacy=True)
    assert codec.unpackb(ws.recv(timeout=10))["format"] == "cosmos3-policy-droid"
    return ws


def _ask(ws, frame):
    ws.send(frame)
    return codec.unpackb(ws.recv(timeout=30))


def test_malformed_messages_get_errors_and_the_connection_lives_on(served, observation):
    good = droid_format.request(observation, "m")
    ws, other = _raw(served.url), _raw(served.url)
    cases = {
        "a text frame": ("not msgpack", "binary msgpack frame"),
        "bad msgpack": (b"\xc1", "msgpack"),
        "a list": (codec.packb([1, 2]), "a map"),
        "no joints": (codec.packb({k: v for k, v in good.items() if k != "observation/joint_position"}),
                      "observation/joint_position"),
        "float image": (codec.packb({**good, "observation/wrist_image_left": np.zeros((8, 8, 3), np.float32)}),
                        "uint8"),
        "6 joints": (codec.packb({**good, "observation/joint_position": np.zeros(6)}), "[7]"),
        "gripper 2": (codec.packb({**good, "observation/gripper_position": np.array([2.0])}), "0 open"),
        "NaN joint": (codec.packb({**good, "observation/joint_position": np.full(7, np.nan)}), "finite"),
        "no images": (codec.packb({k: v for k, v in good.items() if "image" not in k}), "observation/image"),
        "unknown endpoint": (codec.packb({**good, "endpoint": "train"}), "endpoint"),
    }
    for name, (frame, expected) in cases.items():
        reply = _ask(ws, frame)
        assert reply["type"] == "error" and "Invalid request payload" in reply["message"], name
        assert expected in reply["message"], (name, reply["message"])
    assert _ask(ws, codec.packb(good))["action"].shape == (32, 8)  # same connection, still serving
    assert _ask(other, codec.packb(good))["action"].shape == (32, 8)
    with pytest.raises(RequestRejectedError, match="gripper"):  # our client turns the error into a typed one
        PolicyDroidClient(served.url).select_action_chunk({**observation, "observation.state": np.r_[
            observation["observation.state"][:6], 3.0, observation["observation.state"][7:]]})
    ws.send(codec.packb({"x": np.zeros(5 * 2**20, np.uint8)}))  # over the 4 MiB cap: this connection closes
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1009
    assert _ask(other, codec.packb(good))["action"].shape == (32, 8)  # the other connection never noticed
    other.close()


def test_reply_shapes_of_the_field():
    rows = np.tile(np.r_[0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785, 0.0], (32, 1)).astype(np.float32)
    for reply in ({"action": rows}, {"actions": rows, "server_timing": {}}, rows):
        chunk = droid_format.chunk_from_reply(codec.unpackb(codec.packb(reply)))
        assert len(chunk) == 32 and chunk.kind == "joints"
    with pytest.raises(JobFailedError, match="Traceback"):
        droid_format.chunk_from_reply("Traceback (most recent call last): ...")
    with pytest.raises(RequestRejectedError):
        droid_format.chunk_from_reply({"type": "error", "message": "Invalid request payload"})
    with pytest.raises(JobFailedError):
        droid_format.chunk_from_reply({"type": "error", "message": "Internal inference error"})
    with pytest.raises(MalformedResponseError, match="'action' or 'actions'"):
        droid_format.chunk_from_reply({"video": rows})
    with pytest.raises(ActionContractError, match="shape"):
        droid_format.chunk_from_reply({"action": rows[:, :7]})
    with pytest.raises(ActionContractError, match="Franka joint 4"):
        droid_format.chunk_from_reply({"action": np.where(np.arange(8) == 3, 1.0, rows)})


def test_ten_second_model_call_keeps_the_connection_alive(observation):
    """Pings every 0.5 s with a 0.5 s timeout: a blocked event loop would drop the client within a second."""
    config = PolicyServerConfig(port=0, ping_interval=0.5, ping_timeout=0.5)
    with ServerThread(PolicyServer(lambda: Slow(10.0), config)) as running:
        client = PolicyDroidClient(running.url, timeout_s=30)
        client.reset(0)
        ws = client._connection()
        health = []
        probe = threading.Thread(target=lambda: (time.sleep(2), health.append(time.perf_counter()), health.append(
            urllib.request.urlopen(running.url.replace("ws", "http") + "/healthz", timeout=2).read()),
            health.append(time.perf_counter())))
        probe.start()
        start = time.perf_counter()
        chunk = client.select_action_chunk(observation)
        probe.join()
        assert time.perf_counter() - start >= 10 and len(chunk) == 32
        assert client._ws is ws  # no reconnect happened
        assert health[1] == b"OK\n" and health[2] - health[0] < 1.0  # the loop answered during the model call
        client.close()


def test_timeout_reset_sessions_and_a_dropped_connection(observation):
    with ServerThread(PolicyServer(lambda: Slow(3.0), PolicyServerConfig(port=0))) as running:
        with pytest.raises(RemoteTimeoutError, match="1 s"):
            PolicyDroidClient(running.url, timeout_s=1).select_action_chunk(observation)
    server = PolicyServer(lambda: make_policy("embedded"), PolicyServerConfig(port=0))
    running = ServerThread(server)
    client = PolicyDroidClient(running.url, retries=5)
    client.reset(7)
    first = client.session_id
    client.select_action_chunk(observation)
    assert [k[1] for k in server.sessions] == [first]
    client.reset(8)  # the server announced a reset endpoint: the session is gone before the next request
    assert client.session_id != first and server.sessions == {}
    client.select_action_chunk(observation)
    assert len(server.sessions) == 1
    port = server.port
    running.close()  # the server goes away under the client ...
    again = ServerThread(PolicyServer(lambda: make_policy("embedded"), PolicyServerConfig(port=port)))
    try:
        assert len(client.select_action_chunk(observation)) == 32  # ... which reconnects and resends
        client.close()
        deadline = time.monotonic() + 5
        while again.server.sessions and time.monotonic() < deadline:
            time.sleep(0.05)
        assert again.server.sessions == {}  # per-session state left with the connection
    finally:
        again.close()
    client.retries = 1  # the server answered this client before: a refusal may be a restart, so it is retried
    with pytest.raises(ServerUnreachableError, match="2 attempts"):
        client.select_action_chunk(observation)
    with pytest.raises(ServerUnreachableError, match="refused the connection"):  # never reached: no retry
        PolicyDroidClient(f"127.0.0.1:{port}", retries=1).select_action_chunk(observation)


def test_served_chunks_drive_the_simulator_in_joint_mode(served):
    policy = make_policy(f"openpi:url={served.url},replan=16")
    episode = run_episode(SimChunkEnv(chunk_size=32, action_type="joints", episode_length=48), policy, seed=0)
    assert [len(c) for c in episode.chunks] == [16, 16, 16] and episode.steps == 48
    assert all(c.kind == "joints" for c in episode.chunks)


def test_our_client_against_openpis_reference_server(served, observation, tmp_path, openpi_python):
    """openpi's own WebsocketPolicyServer (what RoboLab's Cosmos server runs) in front of serve-policy: replies
    under "actions", no reset endpoint, and on an exception a text traceback frame then close 1011."""
    script = tmp_path / "reference.py"
    script.write_text(f"""
from openpi_client import websocket_client_policy
from openpi_server import WebsocketPolicyServer
class Proxy:
    def __init__(self):
        self.inner = websocket_client_policy.WebsocketClientPolicy(host="127.0.0.1", port={served.server.port})
    def infer(self, obs):
        if obs["prompt"] == "raise":
            raise ValueError("the model failed")
        return {{"actions": self.inner.infer(obs)["actions"]}}
    def reset(self):
        pass
WebsocketPolicyServer(Proxy(), host="127.0.0.1", port=18766, metadata={{"action_space": "joint_pos"}}).serve_forever()
""")
    proc = subprocess.Popen([openpi_python, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_healthy(18766, proc)
        client = PolicyDroidClient("127.0.0.1:18766")
        client.reset(0)  # no "endpoints" in the metadata: no reset message, which openpi's server would choke on
        assert client.server_metadata == {"action_space": "joint_pos"}
        chunk = client.select_action_chunk(observation)
        direct = PolicyDroidClient(served.url).select_action_chunk(observation)
        np.testing.assert_array_equal(chunk.joint_positions, direct.joint_positions)
        assert "infer_ms" in chunk.metadata["server_timing"]
        with pytest.raises(JobFailedError, match="the model failed"):
            client.select_action_chunk({**observation, "task": "raise"})
        assert client._ws is None  # the server closed the connection after its traceback frame
        assert len(client.select_action_chunk(observation)) == 32  # reconnected
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_policy_cli(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "cosmos_robotics.cli", "serve-policy", "--policy", "embedded",
                          "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--allow-remote" in bad.stderr
    port = 18765
    proc = subprocess.Popen([sys.executable, "-m", "cosmos_robotics.cli", "serve-policy", "--policy", "embedded",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_healthy(port, proc)
        client = PolicyDroidClient(f"ws://127.0.0.1:{port}")
        assert client._metadata()["policy"] == "embedded:replan=16"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
