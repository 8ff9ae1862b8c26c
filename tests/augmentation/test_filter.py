"""The quality filter keeps consistent episodes and drops inconsistent ones, saying why."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from augment_helpers import short_config

from cosmos_robotics.augmentation import FilterConfig, Generator, Job, judge
from cosmos_robotics.errors import CosmosRoboticsError


@pytest.fixture(scope="module")
def generator(source):
    return Generator(short_config(source, ["variations", "new-starts"]))


@pytest.fixture(scope="module")
def candidates(generator):
    return [generator.candidate(job) for job in (Job(0, "variations", 3, 0), Job(1, "new-starts", 4))]


def mismatched(actions: np.ndarray) -> np.ndarray:
    """The same rows played backwards with the motion reversed: plausible values, wrong for this video."""
    out = np.array(actions[::-1])
    out[:, :3] *= -1.0
    return out


def test_generated_episode_passes_and_mismatched_actions_are_dropped_with_reason(generator, candidates):
    config = FilterConfig(require_success=False)
    for candidate in candidates:
        good = judge(candidate, generator.world_model, config)
        assert good.kept, (candidate.job, good.reasons)
        assert good.scores["cycle_mse"] < config.max_cycle_mse
        bad_episode = replace(candidate.episode, model_actions=mismatched(candidate.episode.model_actions))
        bad = judge(replace(candidate, episode=bad_episode), generator.world_model, config)
        assert not bad.kept
        assert [r.split()[0] for r in bad.reasons] == ["cycle_mse"]
        assert bad.scores["cycle_mse"] > 5 * good.scores["cycle_mse"]


def test_blank_and_jumping_frames_are_dropped(generator, candidates):
    candidate = candidates[0]
    config = FilterConfig(require_success=False, max_cycle_mse=None)
    blank = candidate.video.copy()
    blank[5:] = 0
    verdict = judge(replace(candidate, video=blank), generator.world_model, config)
    reasons = [r.split()[0] for r in verdict.reasons]
    assert "min_frame_std" in reasons and "max_frame_jump" in reasons
    assert verdict.scores["min_frame_std"] == 0.0


def test_success_is_required_by_default(generator, candidates):
    candidate = candidates[0]
    verdict = judge(candidate, generator.world_model, FilterConfig())
    assert not candidate.episode.is_success  # 16 steps are too few for the task
    assert "no success" in verdict.reasons


def test_bad_threshold_is_a_typed_error():
    with pytest.raises(CosmosRoboticsError, match="max_cycle_mse"):
        FilterConfig(max_cycle_mse=-1.0)
