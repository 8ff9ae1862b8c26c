"""Augmented datasets: LeRobot loads them, every episode carries its provenance, dropped ones their reasons,
the card says they are synthetic, and a rerun resumes."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from augment_helpers import short_config
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from cosmos_robotics.augmentation import Generator, augment
from cosmos_robotics.augmentation.card import file_digest
from cosmos_robotics.cli import main
from cosmos_robotics.export import read_provenance
from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, WEIGHTS_FILE

STRATEGIES = ("variations", "new-starts", "relabel")


class CorruptingRunner:
    """In-process generation in which job 1 gets actions that do not match its video."""

    def __init__(self, config):
        self.generator = Generator(config)
        original = self.generator.candidate

        def candidate(job):
            made = original(job)
            if job.index == 1:
                actions = np.array(made.episode.model_actions[::-1])
                actions[:, :3] *= -1.0
                made = replace(made, episode=replace(made.episode, model_actions=actions))
            return made

        self.generator.candidate = candidate

    def source_count(self):
        return self.generator.source_count()

    def map(self, jobs):
        return (self.generator.run(job) for job in jobs)

    def close(self):
        self.generator.env.close()


@pytest.fixture(scope="module")
def augmented(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("augmented") / "synthetic"
    config = short_config(source, STRATEGIES)
    runner = CorruptingRunner(config)
    summary = augment(config, out, episodes=2, max_attempts=3, runner=runner, commit_every=1, progress=False)
    return out, config, runner, summary


def test_kept_episodes_load_with_lerobot_and_carry_provenance(augmented, source):
    out, _, _, summary = augmented
    assert (summary.kept, summary.dropped, summary.processed) == (2, 1, 3)
    dataset = LeRobotDataset("local/synthetic", root=out, video_backend="pyav")
    assert dataset.meta.total_episodes == 2 and dataset.num_frames == 2 * 16
    frame = dataset[0]
    assert frame["observation.images.wrist"].shape == (3, 128, 128)
    provenance, notes = read_provenance(out)
    assert provenance.synthetic and provenance.backend == "embedded"
    assert provenance.checkpoint == file_digest(DEFAULT_WEIGHTS / WEIGHTS_FILE)
    assert [n.seed for n in notes] == [0, 2]
    log = json.loads((out / "meta" / "augmentation.json").read_text())
    kept = log["episodes"]
    assert [(r["episode_index"], r["strategy"], r["seed"]) for r in kept] == [(0, "variations", 0), (1, "relabel", 2)]
    for row in kept:
        assert row["source"]["dataset"] == str(source.absolute()) and row["source"]["episode"] == 0
        assert row["checkpoint_sha256"] == provenance.checkpoint and row["backend"] == "embedded"
        assert row["kept"] and row["reasons"] == [] and row["scores"]["cycle_mse"] < 0.03
    assert kept[1]["scores"]["replay_psnr"] > 20.0  # relabelled: the labels' replay reproduces the source video


def test_dropped_episode_keeps_reason_and_scores(augmented):
    out = augmented[0]
    (dropped,) = json.loads((out / "meta" / "augmentation.json").read_text())["dropped"]
    assert dropped["job_index"] == 1 and dropped["strategy"] == "new-starts" and not dropped["kept"]
    assert dropped["reasons"][0].startswith("cycle_mse") and dropped["scores"]["cycle_mse"] > 0.1
    assert dropped["policy"] == "embedded:replan=16"


def test_dataset_card_says_synthetic(augmented):
    card = (augmented[0] / "README.md").read_text()
    assert "Every episode in this dataset is synthetic" in card
    assert "512 SimDroid-v0 episodes, seeds [0, 511]" in card
    assert "| new-starts | 0 | 1 |" in card and "Kept 2 of 3 candidates" in card


def test_rerun_resumes_after_the_last_processed_job(augmented):
    out, config, runner, _ = augmented
    again = augment(config, out, episodes=2, runner=runner, progress=False)
    assert again.generated_now == 0 and again.kept == 2
    more = augment(config, out, episodes=3, max_attempts=4, runner=runner, progress=False)
    assert (more.generated_now, more.kept, more.processed) == (1, 3, 4)
    assert [n.seed for n in read_provenance(out)[1]] == [0, 2, 3]


def test_cli_refuses_a_source_strategy_without_source(tmp_path, capsys):
    assert main(["augment", "--strategies", "variations", "--out", str(tmp_path / "x")]) == 2
    assert "need --source" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
