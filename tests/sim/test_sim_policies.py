"""The policy registry: spec parsing, typed errors, seeded behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from cosmos_robotics.envs import SimChunkEnv
from cosmos_robotics.errors import UnknownPolicyError
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout import run_episode


@pytest.mark.parametrize(
    ("spec", "name", "noise", "slip"),
    [
        ("expert", "expert", 0.0, 0.0),
        ("expert:noise=0.03", "expert:noise=0.03", 0.03, 0.0),
        ("expert:slip=0.3", "expert:slip=0.3", 0.0, 0.3),
        ("expert:noise=0.02,slip=0.3", "expert:noise=0.02,slip=0.3", 0.02, 0.3),
        ("expert:miss=0.5", "expert:miss=0.5", 0.0, 0.0),
        (" expert:slip=0.3, noise=0.02 ", "expert:noise=0.02,slip=0.3", 0.02, 0.3),
    ],
)
def test_specs_parse(spec, name, noise, slip):
    policy = make_policy(spec, seed=0)
    assert policy.needs_privileged_state
    assert (policy.name, policy.policy.noise, policy.policy.slip) == (name, noise, slip)


@pytest.mark.parametrize(
    ("spec", "listed"),
    [("oracle", "expert"), ("expert:speed=2", "noise, slip"), ("expert:noise", "noise, slip"),
     ("expert:noise=high", "number"), ("expert:slip=1.5", "slip")],
)
def test_bad_specs_raise_value_errors_that_say_what_works(spec, listed):
    with pytest.raises(UnknownPolicyError, match=listed) as err:
        make_policy(spec)
    assert isinstance(err.value, ValueError)


def test_same_seed_same_actions_and_slip_drops_the_cube():
    env = SimChunkEnv(cameras=())
    try:
        obs, info = env.reset(seed=5)
        seen = {**obs, "privileged": info["privileged"]}
        a, b = make_policy("expert:noise=0.02", seed=7), make_policy("expert:noise=0.02", seed=7)
        np.testing.assert_array_equal(a.select_action_chunk(seen).poses, b.select_action_chunk(seen).poses)
        episode = run_episode(env, make_policy("expert:slip=1"), seed=0, keep_observations=False)
        heights = [i["privileged"]["cube_pos"][2] for i in episode.infos]
        assert max(heights) > 0.035, "the expert should lift the cube before it slips"
        assert not episode.is_success
        assert heights[-1] < 0.035  # it fell back down
    finally:
        env.close()


def test_a_missed_grasp_closes_the_gripper_beside_the_cube():
    """``miss`` aims the grasp off the cube (seed 1: 3.4 cm): the fingers close fully on nothing, the cube stays on
    the table, while the same seed without the flaw succeeds."""
    env = SimChunkEnv(cameras=())
    try:
        missed = run_episode(env, make_policy("expert:miss=1", seed=1), seed=1)
        heights = [i["privileged"]["cube_pos"][2] for i in missed.infos]
        assert missed.states()[:, 6].max() > 0.85, "the gripper should close on nothing"
        assert max(heights) < 0.03 and not missed.is_success
        assert run_episode(env, make_policy("expert", seed=1), seed=1, keep_observations=False).is_success
    finally:
        env.close()
