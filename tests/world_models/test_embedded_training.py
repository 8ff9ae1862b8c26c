"""Training the embedded model from LeRobot v3 data recorded by ``cosmos-robotics sim record``: the loader gives the
same arrays as the in-memory simulator for the same seeds without simulating anything itself (per-frame success
comes from the recorded ``next.success``), ``train --data`` writes a checkpoint that loads, and datasets training
cannot use are refused with typed errors (real MuJoCo, real lerobot, real training steps). Old datasets without
``next.success``, and success labels across a real success transition: tests/export/test_sim_record.py."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from cosmos_robotics.cli import main
from cosmos_robotics.embodiments.droid import droid_contract_box
from cosmos_robotics.errors import DatasetFormatError
from cosmos_robotics.evaluation import psnr
from cosmos_robotics.policies import make_policy
from cosmos_robotics.training import data
from cosmos_robotics.training.data import (
    LADDER,
    load_recorded_episodes,
    simulate_episode,
)
from cosmos_robotics.world_models.embedded.checkpoint import load_checkpoint

POLICY, SEED, STEPS = "expert:contract=1", 11, 20  # 20 recorded frames = 19 actions + the frame after them
LENGTH = STEPS - 1


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("recorded") / "contract_expert"
    assert main(["sim", "record", "--episodes", "2", "--policy", POLICY, "--out", str(root), "--workers", "1",
                 "--seed", str(SEED), "--steps", str(STEPS), "--commit-every", "2"]) == 0
    return root


@pytest.fixture
def copy(recorded, tmp_path):
    """A private copy of the recorded dataset to damage."""
    target = tmp_path / "copy"
    shutil.copytree(recorded, target)
    return target


def test_ladder_specs_are_canonical_policy_names_and_contract_limits_motion():
    assert [make_policy(spec).name for spec, _, _ in LADDER] == [spec for spec, _, _ in LADDER]
    episode = simulate_episode(3, POLICY, True, 40, cameras=False)
    raw = simulate_episode(3, "expert", True, 40, cameras=False)
    low, high = droid_contract_box()  # per model-frame axis; a rotation of frames keeps the step's length
    step = np.linalg.norm(np.diff(episode.states[:, :3], axis=0), axis=1).max()
    assert step <= np.linalg.norm(np.maximum(np.abs(low[:3]), high[:3]))
    assert np.linalg.norm(np.diff(raw.states[:, :3], axis=0), axis=1).max() > step  # the raw expert moves faster


def test_recorded_episodes_equal_the_in_memory_simulation(recorded, monkeypatch):
    def no_simulator(*args):
        raise AssertionError("the loader started a simulator")

    monkeypatch.setattr(data, "_env", no_simulator)
    loaded = load_recorded_episodes([recorded], episode_length=LENGTH)
    monkeypatch.undo()
    assert loaded.seeds.tolist() == [SEED, SEED + 1] and loaded.clone.all()
    for index, seed in enumerate(loaded.seeds):
        direct = simulate_episode(int(seed), POLICY, True, LENGTH)
        for name in ("states", "gripper", "success", "chunks", "deltas"):
            got, want = getattr(loaded, name)[index], getattr(direct, name)
            assert got.dtype == want.dtype and got.shape == want.shape, name
            np.testing.assert_array_equal(got, want, err_msg=name)
        images = loaded.images[index]
        assert images.dtype == np.uint8 and images.shape == direct.images.shape == (STEPS, 3, 128, 128, 3)
        worst = min(psnr(images[t, v], direct.images[t, v]) for t in range(STEPS) for v in range(3))
        assert worst >= 35.0, f"episode {index}: worst frame PSNR {worst:.1f} dB"
        # Views in model order (wrist, exterior_1, exterior_2): each frame is closest to its own view.
        assert psnr(images[0, 0], direct.images[0, 0]) > psnr(images[0, 0], direct.images[0, 1]) + 10


def test_train_from_recorded_data_writes_a_checkpoint_that_loads(recorded, tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["train", "--out", str(out), "--data", f"{recorded},{recorded}", "--steps", "2", "--batch-size", "2",
                 "--episode-length", str(LENGTH), "--log-every", "1", "--seed", "3"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["episodes"] == 4  # the dataset twice (comma-separated)
    log = json.loads((out / "training.json").read_text())
    assert [row["step"] for row in log["history"]] == [1, 2] and str(recorded) in log["data"]
    assert all(np.isfinite(row["frames"]) for row in log["history"])
    model = load_checkpoint(out)
    assert sum(p.numel() for p in model.parameters()) == summary["parameters"]


def test_train_takes_exactly_one_source(recorded, tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path), "--data", str(recorded), "--episodes", "3", "--steps", "1"]) == 2
    assert "expected one data source" in capsys.readouterr().err
    assert not (tmp_path / "model.safetensors").exists()


def test_bad_datasets_raise_typed_errors(recorded, copy, tmp_path):
    with pytest.raises(DatasetFormatError, match="meta/info.json"):
        load_recorded_episodes([tmp_path / "missing"], episode_length=LENGTH)
    with pytest.raises(DatasetFormatError, match=f"--steps {STEPS + 5}"):
        load_recorded_episodes([recorded], episode_length=LENGTH + 5)
    with pytest.warns(UserWarning, match=f"cut to {STEPS - 4}"):
        assert load_recorded_episodes([recorded], episode_length=LENGTH - 4).images.shape[1] == STEPS - 4

    info_path = copy / "meta" / "info.json"
    info = json.loads(info_path.read_text())
    info["features"]["observation.images.exterior_1"]["shape"] = [64, 64, 3]
    info_path.write_text(json.dumps(info))
    with pytest.raises(DatasetFormatError, match="--resolution 128"):
        load_recorded_episodes([copy], episode_length=LENGTH)
    del info["features"]["observation.images.wrist"]
    info_path.write_text(json.dumps(info))
    with pytest.raises(DatasetFormatError, match="missing observation.images.wrist"):
        load_recorded_episodes([copy], episode_length=LENGTH)


def test_fine_tune_starts_from_the_given_weights_and_keeps_their_provenance(recorded, tmp_path, capsys):
    """``train --init DIR`` copies DIR's weights and normalization (a zero learning rate changes nothing) and keeps
    DIR's training log, so evaluation refuses the seeds of both runs."""
    from cosmos_robotics.evaluation.protocol import training_ranges

    base, tuned = tmp_path / "base", tmp_path / "tuned"
    common = ["--data", str(recorded), "--steps", "1", "--batch-size", "2", "--episode-length", str(LENGTH)]
    assert main(["train", "--out", str(base), *common, "--seed", "3"]) == 0
    assert main(["train", "--out", str(tuned), *common, "--seed", "4", "--lr", "0", "--weight-decay", "0",
                 "--init", str(base)]) == 0
    start, result = load_checkpoint(base).state_dict(), load_checkpoint(tuned).state_dict()
    assert start.keys() == result.keys() and all(torch.equal(start[k], result[k]) for k in start)
    log = json.loads((tuned / "training.json").read_text())
    assert log["init"] == json.loads((base / "training.json").read_text())
    assert [(r.source, r.first, r.last) for r in training_ranges(tuned / "training.json", "wm")] == [
        ("wm", SEED, SEED + 1), ("wm (the run it was fine-tuned from)", SEED, SEED + 1)]
    assert main(["train", "--out", str(tmp_path / "bad"), *common, "--init", str(tmp_path / "nowhere")]) == 2
    assert "weights not found" in capsys.readouterr().err
