"""The Reasoner success judge against the strict OpenAI-compatible test server (openai_chat_server.py)."""

import json

import numpy as np
import pytest
from openai_chat_server import make_app
from serving_helpers import gradient_frames, running

from cosmos_robotics.cli import main
from cosmos_robotics.errors import MalformedResponseError, PayloadError
from cosmos_robotics.reasoning import ReasonerSuccessJudge, SuccessVerdict


@pytest.fixture
def server():
    app = make_app("nvidia/Cosmos3-Nano")
    with running(app) as url:
        yield app, f"{url}/v1"


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
    assert main(["reason", "--url", url, "--video", str(clip), "--judge", "brighten", "--show-thinking"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["success"] is True and "decoded 6 frames" in out.out
    assert main(["reason", "--url", url, "--video", str(clip), "--prompt", "Answer in JSON.", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reason"].startswith("decoded 6 frames")
    assert main(["reason", "--url", url, "--model", "other", "--prompt", "hi"]) == 2
    assert "does not exist" in capsys.readouterr().err
