"""Training the embedded model from LeRobot v3 data recorded by ``cosmos-robotics sim record``: the loader gives the
same arrays as the in-memory simulator for the same seeds without simulating anything itself (per-frame success
comes from the recorded ``next.success``), ``train --data`` writes a checkpoint that loads, fine-tunes (``--init``)
and distils (``--teacher``) keep what they start from, and datasets, configs and sources training cannot use are
refused with typed errors (real MuJoCo, real lerobot, real training steps). Old datasets without
``next.success``, and success labels across a real success transition: tests/export/test_sim_record.py."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from cosmos_robotics.cli import main
from cosmos_robotics.embodiments.droid import droid_contract_box
from cosmos_robotics.errors import CosmosRoboticsError, DatasetFormatError
from cosmos_robotics.evaluation import psnr
from cosmos_robotics.evaluation.protocol import training_ranges
from cosmos_robotics.policies import make_policy
from cosmos_robotics.training import data
from cosmos_robotics.training.data import (
    LADDER,
    Episodes,
    load_recorded_episodes,
    simulate_episode,
)
from cosmos_robotics.training.embedded import PER_FRAME, Batches, student_of, train
from cosmos_robotics.training.student_file import pack_student, unpack_student
from cosmos_robotics.world_models.embedded.checkpoint import WEIGHTS_FILE, load_checkpoint
from cosmos_robotics.world_models.embedded.config import CHUNK, TrainConfig

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


def test_batches_draw_windows_of_one_episode_and_distinct_steps_reproducibly():
    n, length, views = 3, 24, 2
    frame = np.arange(n * (length + 1), dtype=np.uint8).reshape(n, length + 1, 1, 1, 1, 1)
    windows = length + 1 - CHUNK
    episodes = Episodes(
        images=np.broadcast_to(frame, (n, length + 1, views, 4, 4, 3)).copy(),
        states=np.zeros((n, length + 1, 14), np.float32), gripper=np.zeros((n, length), np.float32),
        success=np.zeros((n, length + 1), bool), chunks=np.zeros((n, windows, CHUNK, 10), np.float32),
        deltas=np.zeros((n, windows, CHUNK, 14), np.float32), clone=np.ones(n, bool), seeds=np.arange(n))
    draws = [Batches(episodes, torch.device("cpu"), seed=4).sample(64, 5) for _ in range(2)]
    for key in draws[0]:
        assert torch.equal(draws[0][key], draws[1][key]), key  # the same seed draws the same batch
    video, steps = draws[0]["video"], draws[0]["steps"]
    assert steps.shape == (64, 5) and steps.min() >= 1 and steps.max() <= CHUNK
    assert all(len(set(row.tolist())) == 5 for row in steps)  # no step decoded twice in a sample
    ids = video[:, :, 0, 0, 0, 0].long()  # frame numbers: 17 consecutive frames of one episode per sample
    assert torch.equal(ids - ids[:, :1], torch.arange(CHUNK + 1).expand(64, -1))
    assert ((ids[:, 0] % (length + 1)) < windows).all() and len(set(ids[:, 0].tolist())) > 10
    other = Batches(episodes, torch.device("cpu"), seed=5).sample(64, 5)
    assert not torch.equal(other["steps"], steps)


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


@pytest.fixture(scope="module")
def base(recorded, tmp_path_factory):
    """A one-step checkpoint of the shipped architecture: the start of a fine-tune, the teacher of a student."""
    out = tmp_path_factory.mktemp("base")
    assert main(["train", "--out", str(out), "--data", str(recorded), "--steps", "1", "--batch-size", "2",
                 "--episode-length", str(LENGTH), "--seed", "3"]) == 0
    return out


COMMON = ["--steps", "1", "--batch-size", "2", "--episode-length", str(LENGTH)]


def test_fine_tune_starts_from_the_given_weights_and_keeps_their_provenance(recorded, base, tmp_path, capsys):
    """``train --init DIR`` copies DIR's weights and normalization (a zero learning rate changes nothing) and keeps
    DIR's training log, so evaluation refuses the seeds of both runs."""
    tuned = tmp_path / "tuned"
    common = ["--data", str(recorded), *COMMON]
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


def test_a_distilled_student_is_its_teacher_but_for_the_trained_per_frame_path(recorded, base, tmp_path):
    """``train --teacher DIR --model-config ...``: every tensor outside the FiLM blocks and the decoder is the
    teacher's, unchanged by training (so ID, policy, state and success heads are the teacher's); the per-frame
    tensors of the teacher's shape start as the teacher's and are trained; the teacher's seeds count as seen."""
    student_dir = tmp_path / "student"
    assert main(["train", "--out", str(student_dir), "--data", str(recorded), *COMMON, "--steps", "2", "--seed", "5",
                 "--lr", "1e-2", "--teacher", str(base), "--model-config", '{"res_blocks": 1}']) == 0
    teacher, student = load_checkpoint(base), load_checkpoint(student_dir)
    assert student.config == replace(teacher.config, res_blocks=1)
    taught, own = teacher.state_dict(), student.state_dict()
    per_frame = [k for k in own if k.split(".")[0] in PER_FRAME]
    assert per_frame and all(k.startswith(("blocks.0.", "decoder.")) for k in per_frame)
    assert "blocks.1.film.weight" in taught and not any(k.startswith("blocks.1.") for k in own)
    for key in own.keys() - set(per_frame):
        assert torch.equal(own[key], taught[key]), f"{key} is not the teacher's"
    params = dict(student.named_parameters())
    changed = [k for k in per_frame if k in params and not torch.equal(own[k], taught[k])]
    assert len(changed) > 0.8 * sum(k in params for k in per_frame), "the per-frame path was not trained"

    log = json.loads((student_dir / "training.json").read_text())
    assert log["teacher"] == json.loads((base / "training.json").read_text())
    assert log["trained_modules"] == list(PER_FRAME)
    assert log["trained_parameters"] == sum(params[k].numel() for k in per_frame if k in params) < log["parameters"]
    assert all(np.isfinite(row["teacher"]) and np.isfinite(row["frames"]) for row in log["history"])
    assert [r.source for r in training_ranges(student_dir / "training.json", "wm")] == ["wm", "wm (its teacher)"]

    further = tmp_path / "further"  # --init with --teacher: the student continues where it stopped
    assert main(["train", "--out", str(further), "--data", str(recorded), *COMMON, "--lr", "0", "--weight-decay", "0",
                 "--teacher", str(base), "--init", str(student_dir)]) == 0
    again = load_checkpoint(further).state_dict()
    assert again.keys() == own.keys() and all(torch.equal(again[k], own[k]) for k in own)
    log = json.loads((further / "training.json").read_text())
    assert log["init"]["teacher"] == log["teacher"] and log["trained_parameters"] < log["parameters"]


def test_a_student_file_keeps_only_the_per_frame_path_and_rebuilds_the_checkpoint_on_its_teacher(recorded, base,
                                                                                                     tmp_path):
    """What a GPU run hands back to the next: the per-frame tensors, config and log, bound to the teacher's digest;
    unpacked on that teacher it is the checkpoint it came from, bit for bit; on another teacher it is refused."""
    student_dir = tmp_path / "student"
    assert main(["train", "--out", str(student_dir), "--data", str(recorded), *COMMON, "--lr", "1e-2",
                 "--teacher", str(base), "--model-config", '{"res_blocks": 1}']) == 0
    file = pack_student(student_dir, base, tmp_path / "student.safetensors")
    assert file.stat().st_size < (student_dir / WEIGHTS_FILE).stat().st_size / 10
    rebuilt = unpack_student(file, base, tmp_path / "rebuilt")
    before, after = load_file(str(student_dir / WEIGHTS_FILE)), load_file(str(rebuilt / WEIGHTS_FILE))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    for name in ("config.json", "training.json"):
        assert json.loads((rebuilt / name).read_text()) == json.loads((student_dir / name).read_text())
    with pytest.raises(CosmosRoboticsError, match="student of the teacher with weights sha256 [0-9a-f]{64}, got"):
        unpack_student(file, "bundled", tmp_path / "elsewhere")
    with pytest.raises(CosmosRoboticsError, match="expected a student of this teacher"):
        pack_student(student_dir, "bundled", tmp_path / "wrong.safetensors")
    with pytest.raises(CosmosRoboticsError, match="expected a student file written by pack_student"):
        unpack_student(base / WEIGHTS_FILE, base, tmp_path / "plain")
    assert not any((tmp_path / name).exists() for name in ("elsewhere", "wrong.safetensors", "plain"))


def test_a_separable_student_shares_and_freezes_everything_but_its_per_frame_path(base):
    teacher = load_checkpoint(base)
    student = student_of(teacher, replace(teacher.config, style="separable", dec_channels=(32, 16)))
    taught = teacher.state_dict()
    for name, tensor in student.state_dict().items():
        if name.split(".")[0] not in PER_FRAME:
            assert torch.equal(tensor, taught[name]), name
    trainable = {name.split(".")[0] for name, p in student.named_parameters() if p.requires_grad}
    assert trainable == set(PER_FRAME)


def test_students_and_their_sources_are_checked_before_training(recorded, base, tmp_path, capsys):
    out = tmp_path / "student"
    common = ["train", "--out", str(out), "--data", str(recorded), *COMMON, "--teacher", str(base)]
    assert main([*common, "--model-config", '{"hidden": 128, "head_channels": 32}']) == 2
    err = capsys.readouterr().err
    assert "hidden must be 256, got 128" in err and "head_channels must be 64, got 32" in err
    assert main([*common, "--model-config", '{"decoder": [32, 16]}']) == 2
    assert "expected a JSON object of ['enc_channels'" in capsys.readouterr().err
    assert main([*common, "--model-config", '{"style": "tiny"}']) == 2
    assert "style must be one of" in capsys.readouterr().err
    assert main([*common, "--model-config", "[1, 2"]) == 2
    assert "--model-config: expected a JSON object, got '[1, 2'" in capsys.readouterr().err
    assert not out.exists()
    # Continuing a student of another teacher: its per-frame path learned on other features.
    with pytest.raises(CosmosRoboticsError, match="expected a student of this teacher"):
        train(load_recorded_episodes([recorded], episode_length=LENGTH), TrainConfig(steps=1), init=base,
              teacher="bundled")
