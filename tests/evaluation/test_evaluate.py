"""The evaluation end to end on a small real run: both envs, the real embedded model, the calibrated head
detector; determinism, resume, seed refusal, the schema, a judge callable as detector and the page in Chromium."""

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from cosmos_robotics.evaluation import SeedOverlapError, evaluate
from cosmos_robotics.evaluation.protocol import ProtocolMismatchError
from cosmos_robotics.evaluation.report import ReportSchemaError, validate
from cosmos_robotics.evaluation.success import make_detector
from cosmos_robotics.reasoning import SuccessVerdict

POLICIES = ["embedded", "random"]
SMALL = {"episodes": 2, "steps": 16, "videos": 1, "progress": False}


@pytest.fixture(scope="module")
def world_model():
    from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

    return EmbeddedWorldModel()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, world_model):
    out = tmp_path_factory.mktemp("ope")
    return out, evaluate(POLICIES, out, world_model=world_model, **SMALL)


def _outcomes(report):
    return {k: report[k] for k in ("outcomes", "summary", "videos", "task")}, \
        {k: v for k, v in report["protocol"].items() if k != "versions"}


@pytest.mark.slow
def test_same_seeds_same_settings_identical_report(small_run, tmp_path, world_model):
    out, report = small_run
    again = evaluate(POLICIES, tmp_path, world_model=world_model, **SMALL)
    assert _outcomes(again) == _outcomes(report)
    first = {p: (np.load(out / "episodes" / "world_model" / p / "2000000.npz")["observation.images.wrist"])
             for p in ("embedded_replan_16", "random")}
    for p, frames in first.items():  # the imagined frames themselves, not only the verdicts
        np.testing.assert_array_equal(frames, np.load(tmp_path / "episodes" / "world_model" / p / "2000000.npz")
                                      ["observation.images.wrist"])


def test_report_matches_schema_and_counts(small_run):
    out, report = small_run
    validate(json.loads((out / "report.json").read_text()))
    assert report["protocol"]["seeds_used"] == [2_000_000, 2_000_001]
    assert {e["source"] for e in report["protocol"]["excluded_seeds"]} >= {
        "embedded world model training", "embedded policy head training", "head detector calibration"}
    assert len(report["outcomes"]["episodes"]) == 4 and len(report["videos"]) == 2
    assert report["protocol"]["world_model"]["sha256"]
    broken = json.loads(json.dumps(report))
    broken["summary"]["mmrv"]["value"] = "low"
    with pytest.raises(ReportSchemaError, match="summary/mmrv/value"):
        validate(broken)


def test_rerun_resumes_and_other_settings_are_refused(small_run, world_model):
    out, _ = small_run
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("episodes/*/*/*.json")}
    evaluate(POLICIES, out, world_model=world_model, **SMALL)
    assert {p: p.stat().st_mtime_ns for p in out.glob("episodes/*/*/*.json")} == stamps  # nothing re-run
    with pytest.raises(ProtocolMismatchError, match="episode_length"):
        evaluate(POLICIES, out, world_model=world_model, **{**SMALL, "steps": 32})


def test_training_seeds_are_refused(world_model, tmp_path):
    with pytest.raises(SeedOverlapError, match=r"embedded world model training used seeds 0-895 \(2 overlapping\); "
                       r"embedded world model training \(the run it was fine-tuned from\) used seeds 0-511 \(2 "):
        evaluate(["random"], tmp_path, world_model=world_model, **{**SMALL, "seed_start": 510})
    assert not any(tmp_path.iterdir())  # refused before anything ran


def test_detector_accepts_a_judge_callable(small_run, world_model):
    seen = []

    def judge(frames, task):
        seen.append(frames.shape)
        return SuccessVerdict(frames.mean() > 0, 0.9, "bright enough", "")

    out, report = small_run
    detector = make_detector(judge, world_model)
    from cosmos_robotics.evaluation.episodes import load_observations

    verdicts = detector.judge([load_observations(out, "world_model", "embedded:replan=16", 2_000_000)], report["task"])
    assert verdicts[0].success and verdicts[0].reason == "bright enough"
    assert seen[0][1:] == (384, 128, 3)  # the world model's composed frames of the kept observations


def _chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("COSMOS_REQUIRE_BROWSER"):
        pytest.fail("chromium is required (COSMOS_REQUIRE_BROWSER=1): run .ci/install-chromium")
    if found is None:
        pytest.skip("chromium not installed (Debian package `chromium`; .ci/install-chromium)")
    return found


def test_report_page_in_headless_chromium(small_run):
    out, report = small_run
    dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          "--virtual-time-budget=10000", (out / "report.html").as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    dom = re.sub(r'src="data:[^"]*"', "src", dom)
    svg = re.search(r'<svg id="scatter".*?</svg>', dom, re.S).group(0)
    assert svg.count('class="policy"') == len(POLICIES) and 'class="identity"' in svg
    assert re.search(r'<table id="ranks">', dom) and dom.count("<tr>") >= len(POLICIES) + 1
    videos = re.findall(r"<video[^>]*>", dom)
    assert len(videos) == 2 * len(report["videos"]) == 4
    assert all('data-ready="1"' in v and 'data-width="128"' in v for v in videos), videos  # decoded by Chromium
    assert (out / "scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_refuses_training_seeds_with_one_clear_line(tmp_path, capsys):
    from cosmos_robotics.cli import main

    code = main(["evaluate", "--policies", "random", "--episodes", "3", "--seed-start", "0", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: evaluation seeds must be disjoint") and "Traceback" not in err
