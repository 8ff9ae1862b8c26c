"""SimDroid-v0 against real MuJoCo: gymnasium contract, determinism, typed action errors, DROID encoding."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.policies import make_policy
from cosmos_robotics.sim import CAMERAS, ENV_ID, STATE_NAMES, SimDroidEnv
from cosmos_robotics.sim.env import EE_POSE, GRIPPER


def rollout(env: SimDroidEnv, policy_spec: str, seed: int, steps: int):
    policy = make_policy(policy_spec, seed=seed)
    obs, info = env.reset(seed=seed)
    observations, actions, infos = [obs], [], [info]
    for _ in range(steps):
        action = policy.act(obs, info)
        obs, _, _, _, info = env.step(action)
        observations.append(obs)
        actions.append(action)
        infos.append(info)
    return observations, np.array(actions), infos


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
    runs = []
    for _ in range(2):
        env = SimDroidEnv(image_size=(32, 32))
        try:
            observations, _, infos = rollout(env, "expert:noise=0.02", seed=3, steps=8)
        finally:
            env.close()
        runs.append((observations, infos))
    (obs_a, info_a), (obs_b, info_b) = runs
    for a, b in zip(obs_a, obs_b, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_array_equal(info_a[-1]["privileged"]["cube_pos"], info_b[-1]["privileged"]["cube_pos"])
    other = SimDroidEnv(cameras=())
    try:
        assert not np.array_equal(other.reset(seed=4)[1]["privileged"]["cube_pos"], info_a[0]["privileged"]["cube_pos"])
    finally:
        other.close()


def test_expert_succeeds_and_noisy_expert_fails(state_env):
    for seed in range(3):
        _, _, infos = rollout(state_env, "expert", seed, state_env.episode_length)
        assert infos[-1]["is_success"], f"expert failed on seed {seed}"
        assert not infos[0]["is_success"]
    noisy = [rollout(state_env, "expert:noise=0.05", seed, state_env.episode_length)[2][-1]["is_success"]
             for seed in range(4)]
    assert sum(noisy) <= 1, f"noise=0.05 should mostly fail, got {noisy}"


def test_terminate_on_success_option():
    env = SimDroidEnv(cameras=(), terminate_on_success=True, episode_length=100)
    policy = make_policy("expert", seed=0)
    obs, info = env.reset(seed=0)
    for step in range(100):  # noqa: B007 -- the step count is asserted below
        obs, reward, terminated, truncated, info = env.step(policy.act(obs, info))
        if terminated:
            break
    env.close()
    assert terminated and info["is_success"] and reward == 1.0 and step < 99 and not truncated


def test_ee_window_encodes_into_droid_contract(state_env):
    from cosmos_robotics.embodiments import get_adapter
    from cosmos_robotics.embodiments.droid import make_droid_adapter

    observations, actions, _ = rollout(state_env, "expert", seed=1, steps=60)
    states = np.array([o["observation.state"] for o in observations], dtype=np.float64)
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
