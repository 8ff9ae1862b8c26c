"""SimDroid-v0 against real MuJoCo: gymnasium contract, determinism, typed action errors, DROID encoding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from cosmos_robotics.envs import SimChunkEnv
from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout import Episode, run_episode
from cosmos_robotics.sim import CAMERAS, ENV_ID, STATE_NAMES, SimDroidEnv
from cosmos_robotics.sim.env import EE_POSE, GRIPPER


def rollout(policy_spec: str, seed: int, steps: int = 100, **env_kwargs) -> Episode:
    env = SimChunkEnv(episode_length=steps, **env_kwargs)
    try:
        return run_episode(env, make_policy(policy_spec), seed)
    finally:
        env.close()


@pytest.fixture(scope="module")
def state_env():
    env = SimDroidEnv(cameras=())
    yield env
    env.close()


def test_check_env_passes_with_cameras_and_make_works():
    env = gym.make(ENV_ID, image_size=(48, 64))
    try:
        check_env(env.unwrapped, skip_render_check=True)
        obs, _ = env.reset(seed=0)
        assert set(obs) == {"observation.state", *(f"observation.images.{c}" for c in CAMERAS)}
        assert obs["observation.images.wrist"].shape == (48, 64, 3)
        assert obs["observation.state"].shape == (len(STATE_NAMES),) == (14,)
        frames = [obs[f"observation.images.{c}"] for c in CAMERAS]
        assert all(f.std() > 5 for f in frames), "a camera rendered a blank image"
        assert not np.array_equal(frames[0], frames[1]), "the two exterior cameras show the same view"
    finally:
        env.close()


def test_same_seed_gives_same_states_and_images():
    a, b = (rollout("expert:noise=0.02", seed=3, steps=8, image_size=(32, 32)) for _ in range(2))
    assert len(a.observations) == 9
    for obs_a, obs_b in zip(a.observations, b.observations, strict=True):
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
    np.testing.assert_array_equal(a.infos[-1]["privileged"]["cube_pos"], b.infos[-1]["privileged"]["cube_pos"])
    other = rollout("expert:noise=0.02", seed=4, steps=8, image_size=(32, 32))
    assert not np.array_equal(other.observations[0]["observation.images.wrist"], a.observations[0]["observation.images.wrist"])


def test_expert_succeeds_and_noisy_expert_fails():
    for seed in range(3):
        episode = rollout("expert", seed, cameras=())
        assert episode.is_success, f"expert failed on seed {seed}"
        assert not episode.success[0]
    noisy = [rollout("expert:noise=0.05", seed, cameras=()).is_success for seed in range(4)]
    assert sum(noisy) <= 1, f"noise=0.05 should mostly fail, got {noisy}"


def test_terminate_on_success_option():
    episode = rollout("expert", 0, cameras=(), terminate_on_success=True)
    assert episode.is_success and episode.steps < 100 and not episode.success[:-1].any()


def test_ee_window_encodes_into_droid_contract(state_env):
    from cosmos_robotics.embodiments import get_adapter
    from cosmos_robotics.embodiments.droid import make_droid_adapter

    episode = rollout("expert", seed=1, steps=60, cameras=())
    states, actions = episode.states().astype(np.float64), episode.actions
    unclamped = make_droid_adapter(clamp=False)
    inside, moving = [], []
    for start in (0, 16, 32):  # align, descend/grasp, lift/carry
        window = unclamped.encode_window(states[start:start + 17, EE_POSE], actions[start:start + 16, 6])
        assert window.shape == (16, 10)
        inside.append(np.mean(np.abs(window) <= 1.0))
        moving.append(np.abs(window[:, :3]).max())
    assert np.mean(inside) > 0.9, f"only {inside} of the values fall inside [-1, 1]"
    assert max(moving) > 0.3, "translations are tiny in model space: wrong units or frame?"
    chunk = get_adapter("droid").encode_window(states[:17, EE_POSE], actions[:16, 6])
    assert chunk.shape == (16, 10) and np.all(np.abs(chunk) <= 1.0)
    # Gripper channel: DROID state 0 open .. 1 closed, model channel 1 = open after the flip.
    assert states[0, GRIPPER] < 0.05 and states[40:, GRIPPER].max() > 0.4


@pytest.mark.parametrize(
    ("action", "what"),
    [
        (np.zeros(6, np.float32), "shape"),
        (np.array([0.06, 0, 0, 0, 0, 0, 0], np.float32), "dx"),
        (np.array([0, 0, 0, 0, 0, 0.2, 0], np.float32), "drz"),
        (np.array([0, 0, 0, 0, 0, 0, 1.5], np.float32), "gripper"),
        (np.array([0, 0, 0, 0, 0, 0, -0.1], np.float32), "gripper"),
        (np.array([np.nan, 0, 0, 0, 0, 0, 0], np.float32), "finite"),
    ],
)
def test_bad_actions_raise_typed_errors(state_env, action, what):
    state_env.reset(seed=0)
    before = state_env.data.qpos.copy()
    with pytest.raises(ActionContractError, match=what):
        state_env.step(action)
    np.testing.assert_array_equal(state_env.data.qpos, before)  # nothing was simulated


def test_every_action_in_the_box_respects_the_rotation_norm(state_env):
    corner = state_env.action_space.high.astype(np.float64)
    assert np.linalg.norm(corner[3:6]) <= 0.25 + 1e-6
    state_env.reset(seed=0)
    state_env.step(state_env.action_space.high)  # the extreme valid action is accepted
