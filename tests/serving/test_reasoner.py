"""The Reasoner client and the success judge against a strict OpenAI-compatible server on 127.0.0.1.

The server (openai_chat_server.py) checks the request format and answers from the media it decoded.
"""

import json

import numpy as np
import pytest
from openai_chat_server import make_app
from serving_helpers import gradient_frames, running

from cosmos_robotics.cli import main
from cosmos_robotics.errors import (
    MalformedResponseError,
    PayloadError,
    RemoteTimeoutError,
    RequestRejectedError,
    ServerBusyError,
    ServerUnreachableError,
)
from cosmos_robotics.reasoning import ReasonerClient, ReasonerSuccessJudge, SuccessVerdict
from cosmos_robotics.reasoning.judge import VERDICT_SCHEMA


@pytest.fixture
def server():
    app = make_app("nvidia/Cosmos3-Nano")
    with running(app) as url:
        yield app, f"{url}/v1"


def test_image_and_video_go_as_data_url_parts_before_the_text(server):
    app, url = server
    client = ReasonerClient(url)
    reply = client.ask("Describe the scene.", images=[gradient_frames(1)[0]])
    assert reply.answer.startswith("decoded 1 frames 64x48") and reply.thinking == "" and reply.data is None
    body = app.state.requests[-1]
    parts = body["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["image_url", "text"]
    assert parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert body["model"] == "nvidia/Cosmos3-Nano" and body["top_k"] == 20 and "response_format" not in body

    reply = client.ask("Did it get brighter?", video=gradient_frames(8), json_schema=VERDICT_SCHEMA)
    assert reply.data["success"] is True and reply.data["reason"].startswith("decoded 8 frames 64x48")
    body = app.state.requests[-1]
    assert body["messages"][-1]["content"][0]["video_url"]["url"].startswith("data:video/mp4;base64,")
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == VERDICT_SCHEMA


def test_think_block_is_kept_apart_from_the_answer(server):
    app, url = server
    reply = ReasonerClient(url).ask("Answer as JSON.", video=gradient_frames(6), json_object=True, reasoning=True)
    assert reply.thinking.startswith("brightness goes from") and "<think>" not in reply.answer
    assert reply.data["success"] is True and reply.raw.startswith("<think>")
    assert "response_format" not in app.state.requests[-1]  # a constrained reply could not hold the reasoning
    app.state.script[:] = [("reasoning_field",)]  # a server that returns the reasoning in its own field
    reply = ReasonerClient(url).ask("Answer as JSON.", video=gradient_frames(6), json_object=True)
    assert reply.thinking.startswith("brightness goes from") and reply.data["success"] is True


def test_files_are_sent_and_bad_media_is_refused(server, tmp_path):
    from cosmos_robotics.media import write_video

    app, url = server
    client = ReasonerClient(url)
    clip = write_video(gradient_frames(5), tmp_path / "clip.mp4", fps=10)
    assert client.ask("What happens?", video=clip).answer.startswith("decoded 5 frames")
    with pytest.raises(PayloadError, match="uint8"):
        client.ask("?", images=[np.zeros((4, 4, 3), np.float32)])
    with pytest.raises(PayloadError, match=".mp4"):
        client.ask("?", video=tmp_path / "missing.mp4")
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not an image")
    with pytest.raises(RequestRejectedError, match="PNG/JPEG") as info:  # the server's 400, no retry
        client.ask("?", images=[fake])
    assert info.value.status == 400


def test_wrong_model_name_is_a_typed_404_without_retries(server):
    app, url = server
    with pytest.raises(RequestRejectedError, match="Cosmos3-Super") as info:
        ReasonerClient(url, "nvidia/Cosmos3-Super", retries=3).ask("hi")
    assert info.value.status == 404 and len(app.state.requests) == 1


def test_5xx_and_429_are_retried_a_bounded_number_of_times(server):
    app, url = server
    client = ReasonerClient(url, retries=2, backoff=0.01)
    app.state.script[:] = [("status", 503), ("status", 500)]
    assert client.ask("hi").answer == "no media" and len(app.state.requests) == 3
    app.state.requests.clear()
    app.state.script[:] = [("status", 500)] * 3
    with pytest.raises(ServerUnreachableError, match="after 3 attempts") as info:
        client.ask("hi")
    assert info.value.status == 500 and len(app.state.requests) == 3
    app.state.script[:] = [("status", 429)] * 3
    with pytest.raises(ServerBusyError):
        client.ask("hi")


def test_timeouts_are_retried_then_raised(server):
    app, url = server
    app.state.script[:] = [("stall", 1.0)]
    assert ReasonerClient(url, timeout=0.3, retries=1, backoff=0.01).ask("hi").answer == "no media"
    app.state.script[:] = [("stall", 1.0)] * 2
    with pytest.raises(RemoteTimeoutError, match="2 attempts"):
        ReasonerClient(url, timeout=0.3, retries=1, backoff=0.01).ask("hi")


def test_malformed_answers_are_typed_errors(server):
    app, url = server
    client = ReasonerClient(url)
    app.state.script[:] = [("content", "<think>still thinking when max_tokens hit")]
    with pytest.raises(MalformedResponseError, match="inside a <think>"):
        client.ask("hi")
    app.state.script[:] = [("content", "yes, it worked")]
    with pytest.raises(MalformedResponseError, match="not JSON"):
        client.ask("hi", json_object=True)
    app.state.script[:] = [("content", "template opened the block</think>\n```json\n{\"a\": 1}\n```")]
    reply = client.ask("hi", json_object=True)
    assert reply.thinking == "template opened the block" and reply.data == {"a": 1}


# -- the success judge ----------------------------------------------------------------------------------------


def test_verdict_follows_what_the_reasoner_saw(server):
    app, url = server
    judge = ReasonerSuccessJudge(base_url=url, max_frames=16)
    up = judge(gradient_frames(8), "make the scene brighter")
    assert isinstance(up, SuccessVerdict) and up.success is True and up.confidence == 0.8
    assert up.reason.startswith("decoded 8 frames 64x48") and json.loads(up.raw)["success"] is True
    assert "make the scene brighter" in app.state.requests[-1]["messages"][-1]["content"][-1]["text"]
    down = judge(gradient_frames(8)[::-1].copy(), "make the scene brighter")
    assert down.success is False
    long = judge(np.repeat(gradient_frames(4), 25, axis=0), "x")  # 100 frames -> 16, first and last kept
    assert long.reason.startswith("decoded 16 frames") and long.success is True
    still = judge(gradient_frames(1), "x")  # one frame goes as an image
    assert app.state.requests[-1]["messages"][-1]["content"][0]["type"] == "image_url" and not still.success


def test_thinking_judge_keeps_the_think_block_in_raw(server):
    _, url = server
    verdict = ReasonerSuccessJudge(base_url=url, reasoning=True)(gradient_frames(6), "brighten")
    assert verdict.success and verdict.raw.startswith("<think>") and "<think>" not in verdict.reason


@pytest.mark.parametrize("content, match", [
    ('{"success": "yes", "confidence": 0.9, "reason": "r"}', "true/false"),
    ('{"success": true, "confidence": 1.5, "reason": "r"}', r"in \[0, 1\]"),
    ('{"success": true, "confidence": 0.5, "reason": "r", "extra": 1}', "expected keys"),
    ('[true]', "expected keys"),
])  # fmt: skip
def test_invalid_verdicts_raise_instead_of_being_clamped(server, content, match):
    app, url = server
    app.state.script[:] = [("content", content)]
    with pytest.raises(MalformedResponseError, match=match):
        ReasonerSuccessJudge(base_url=url)(gradient_frames(4), "x")


def test_bad_episode_input_is_refused_before_any_request(server):
    app, url = server
    judge = ReasonerSuccessJudge(base_url=url)
    with pytest.raises(PayloadError, match="uint8"):
        judge(gradient_frames(4).astype(np.float32), "x")
    with pytest.raises(PayloadError, match="task"):
        judge(gradient_frames(4), "  ")
    assert app.state.requests == []


def test_reason_cli_asks_and_judges(server, tmp_path, capsys):
    from cosmos_robotics.media import write_video

    _, url = server
    clip = write_video(gradient_frames(6), tmp_path / "episode.mp4", fps=10)
    assert main(["reason", "--base-url", url, "--video", str(clip), "--judge", "brighten", "--show-thinking"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["success"] is True and "decoded 6 frames" in out.out
    assert main(["reason", "--base-url", url, "--video", str(clip), "--prompt", "Answer in JSON.", "--json-object"]) == 0
    assert json.loads(capsys.readouterr().out)["reason"].startswith("decoded 6 frames")
    assert main(["reason", "--base-url", url, "--model", "other", "--prompt", "hi"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_judge_is_the_world_model_env_success_detector(server):
    """Selected as CosmosWorldEnv's success detector, the judge decides success of each imagined chunk."""
    pytest.importorskip("cosmos_robotics.sim", reason="needs the SimDroid-v0 simulator")
    from scipy.spatial.transform import Rotation
    from serving_helpers import ScriptedWorldModel

    from cosmos_robotics.envs import CosmosWorldEnv

    app, url = server
    world = CosmosWorldEnv(ScriptedWorldModel(), episode_length=4, chunk_size=4,
                           success_detector=ReasonerSuccessJudge(base_url=url))  # fmt: skip
    obs, _ = world.reset(seed=0)
    state = obs["observation.state"].astype(np.float64)
    rows = np.tile(np.r_[state[:3], 0, 0, 0, 0.0], (4, 1))
    rows[:, 3:6] = Rotation.from_euler("xyz", state[3:6]).as_rotvec()
    _, _, _, _, info = world.step(rows)  # the scripted model brightens every predicted frame: success
    world.close()
    assert info["success_source"] == "ReasonerSuccessJudge" and info["is_success"]
    assert app.state.requests[-1]["messages"][-1]["content"][0]["type"] == "video_url"
