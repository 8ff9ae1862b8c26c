"""The LeRobot v3 writer against real lerobot: written episodes load back with LeRobotDataset, bit-exact numbers,
video frames within PSNR 35 dB, provenance present, bad input refused with typed errors and nothing written."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.utils import constants as lerobot_constants
from synthetic_episodes import PROVENANCE, SPEC, make_episode

from cosmos_robotics import __version__
from cosmos_robotics.errors import DatasetFormatError, EpisodeRecordError
from cosmos_robotics.evaluation import psnr
from cosmos_robotics.export import (
    ACTION_KEY,
    IMAGE_PREFIX,
    MODEL_ACTION_KEY,
    STATE_KEY,
    SUCCESS_KEY,
    LeRobotEpisodeWriter,
    default_repo_id,
    read_provenance,
)


def load(root) -> LeRobotDataset:
    return LeRobotDataset(default_repo_id(root), root=root, video_backend="pyav")


def episode_rows(dataset: LeRobotDataset, episode_index: int) -> list[dict]:
    ep = dataset.meta.episodes[episode_index]
    return [dataset[i] for i in range(ep["dataset_from_index"], ep["dataset_to_index"])]


def assert_matches(dataset: LeRobotDataset, episode_index: int, record, action_atol: float = 0.0) -> None:
    rows = episode_rows(dataset, episode_index)
    assert len(rows) == record.length
    np.testing.assert_array_equal(np.stack([r[STATE_KEY].numpy() for r in rows]), record.states)
    np.testing.assert_allclose(np.stack([r[ACTION_KEY].numpy() for r in rows]), record.actions, rtol=0, atol=action_atol)
    np.testing.assert_array_equal(np.stack([r[MODEL_ACTION_KEY].numpy() for r in rows]), record.model_actions)
    success = np.stack([r[SUCCESS_KEY].numpy() for r in rows])
    assert success.dtype == bool and success.shape == (record.length,)  # a (1,) feature is a scalar column
    np.testing.assert_array_equal(success, record.frame_success)
    assert {r["task"] for r in rows} == {record.task}
    for cam, frames in record.frames.items():
        decoded = np.stack([(r[IMAGE_PREFIX + cam].numpy().transpose(1, 2, 0) * 255).round() for r in rows])
        assert decoded.shape == frames.shape
        worst = min(psnr(d, f) for d, f in zip(decoded, frames, strict=True))
        assert worst >= 35.0, f"{cam} episode {episode_index}: worst frame PSNR {worst:.1f} dB"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Three episodes in two commits (the second one resumes a committed dataset)."""
    root = tmp_path_factory.mktemp("ds") / "dataset"
    records = [make_episode(seed) for seed in range(3)]
    with LeRobotEpisodeWriter(root, SPEC, PROVENANCE) as writer:
        writer.add(records[0])
        writer.add(records[1])
        writer.commit()
    with LeRobotEpisodeWriter(root, SPEC, PROVENANCE) as writer:
        assert writer.num_committed == 2
        writer.add(records[2])
    return root, records


def test_episodes_load_back_exactly(written):
    root, records = written
    dataset = load(root)
    assert SUCCESS_KEY == lerobot_constants.SUCCESS
    assert dataset.meta.features[SUCCESS_KEY] == {"dtype": "bool", "shape": (1,), "names": None}
    assert dataset.num_episodes == 3
    assert dataset.num_frames == sum(r.length for r in records)
    for index, record in enumerate(records):
        assert_matches(dataset, index, record)


def test_stats_cover_images_and_provenance_is_stored(written):
    root, records = written
    dataset = load(root)
    for cam in SPEC.cameras:
        mean = np.asarray(dataset.meta.stats[IMAGE_PREFIX + cam]["mean"])
        assert mean.shape == (3, 1, 1) and 0.2 < mean.mean() < 0.8
    np.testing.assert_allclose(
        dataset.meta.stats[STATE_KEY]["mean"], np.concatenate([r.states for r in records]).mean(0), rtol=1e-5
    )
    provenance, notes = read_provenance(root)
    assert provenance == PROVENANCE and provenance.toolkit_version == __version__
    assert [(n.episode_index, n.seed, n.success, n.length) for n in notes] == [
        (i, r.seed, r.success, r.length) for i, r in enumerate(records)
    ]


def test_exception_inside_block_publishes_nothing_and_the_next_writer_adopts_the_finished_episode(tmp_path):
    root = tmp_path / "adopt"
    with LeRobotEpisodeWriter(root, SPEC, PROVENANCE) as writer:
        writer.add(make_episode(0))
    with pytest.raises(RuntimeError, match="boom"), LeRobotEpisodeWriter(root, SPEC, PROVENANCE) as writer:
        writer.add(make_episode(1))
        raise RuntimeError("boom")
    assert load(root).num_episodes == 1  # root never saw the uncommitted episode
    assert not root.with_name(f".{root.name}.staging").exists()
    with LeRobotEpisodeWriter(root, SPEC, PROVENANCE) as writer:
        assert writer.num_adopted == 1 and writer.num_committed == 2
    dataset = load(root)
    assert dataset.num_episodes == 2
    assert_matches(dataset, 1, make_episode(1))
    assert not root.with_name(f".{root.name}.journal").exists()


def test_abort_drops_the_batch_for_good(tmp_path):
    root = tmp_path / "abort"
    with LeRobotEpisodeWriter(root, SPEC, PROVENANCE) as writer:
        writer.add(make_episode(0))
        writer.commit()
        writer.add(make_episode(1))
        writer.abort()
    with LeRobotEpisodeWriter(root, SPEC, PROVENANCE) as writer:
        assert writer.num_adopted == 0 and writer.num_committed == 1


def test_reopening_with_other_provenance_or_features_is_refused(written):
    root, _ = written
    other = dataclasses.replace(PROVENANCE, seed=1)
    with pytest.raises(DatasetFormatError, match="refusing to append"):
        LeRobotEpisodeWriter(root, SPEC, other)
    with pytest.raises(DatasetFormatError, match="features"):
        LeRobotEpisodeWriter(root, dataclasses.replace(SPEC, cameras={"front": (32, 32)}), PROVENANCE)
    with pytest.raises(DatasetFormatError, match=f"features that differ: {SUCCESS_KEY};"):
        LeRobotEpisodeWriter(root, dataclasses.replace(SPEC, frame_success=False), PROVENANCE)
    assert load(root).num_episodes == 3


def test_existing_non_dataset_dir_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DatasetFormatError, match="notes.txt"):
        LeRobotEpisodeWriter(tmp_path, SPEC, PROVENANCE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def _bad_records():
    good = make_episode(0, length=5)
    frames = dict(good.frames)
    yield "states float64", dataclasses.replace(good, states=good.states.astype(np.float64)), "states"
    yield "actions too short", dataclasses.replace(good, actions=good.actions[:4]), "actions"
    yield "action dim", dataclasses.replace(good, actions=good.actions[:, :3]), "actions"
    yield "nan state", dataclasses.replace(good, states=np.where(good.states > 0, np.nan, good.states)), "states"
    yield "frames float", dataclasses.replace(good, frames={**frames, "front": frames["front"] / 255.0}), "front"
    yield "frames short", dataclasses.replace(good, frames={**frames, "wrist": frames["wrist"][:4]}), "wrist"
    yield "camera missing", dataclasses.replace(good, frames={"front": frames["front"]}), "cameras"
    yield "no model actions", dataclasses.replace(good, model_actions=None), "model_actions"
    yield "no frame success", dataclasses.replace(good, frame_success=None), "frame_success"
    yield "frame success int", dataclasses.replace(good, frame_success=good.frame_success.astype(np.int64)), "bool"
    yield "frame success short", dataclasses.replace(good, frame_success=good.frame_success[:4]), r"bool \[5\]"
    yield "empty task", dataclasses.replace(good, task=" "), "task"


@pytest.mark.parametrize(("label", "record", "what"), list(_bad_records()), ids=[b[0] for b in _bad_records()])
def test_bad_records_raise_typed_errors_and_write_nothing(tmp_path, label, record, what):
    root = tmp_path / "dataset"
    with LeRobotEpisodeWriter(root, SPEC, PROVENANCE) as writer, pytest.raises(EpisodeRecordError, match=what):
        writer.add(record)
    assert not root.exists()
    assert not any(p.name.endswith(".staging") for p in tmp_path.iterdir())


def test_frame_success_needs_the_feature_declared():
    record = make_episode(0, length=5)
    with pytest.raises(EpisodeRecordError, match=f"no {SUCCESS_KEY} feature"):
        dataclasses.replace(SPEC, frame_success=False).validate(record)
    assert SUCCESS_KEY not in dataclasses.replace(SPEC, frame_success=False).features()
