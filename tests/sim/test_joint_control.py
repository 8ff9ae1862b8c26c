"""SimDroid-v0 in ``control_mode="joint"``: Policy-DROID chunks (droid_joint adapter) tracked by the real simulator.

Measured on this machine (state-only env, omega = 60 rad/s), two decoded 32 x 8 chunks back to back (64 steps, a
0.2 rad / 2 s sinusoid on all 7 joints, gripper closing): max |q - q_target| after each step 0.0006 rad (the
first step, starting from rest; 0.00013 rad after it), RMS 0.00010 rad; bounds asserted below: 0.002 / 0.0005 rad
(without the velocity feed-forward: 0.021 / 0.013; jumping to each target without interpolation: 0.0047 / 0.0026).
A held static target 0.4 rad away: 0.0008 rad after 5 steps and
below 1e-6 rad (float32 resolution of the state) from step 10 on. The gripper closes (state > 0.9) in 4 steps
(0.27 s) and passes 0.99 after 7.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.embodiments.droid_joint import PANDA_JOINT_LOWER, PANDA_JOINT_UPPER
from cosmos_robotics.errors import ActionContractError
from cosmos_robotics.sim import ENV_ID, JOINT_ACTION_NAMES, SimDroidEnv
from cosmos_robotics.sim.env import GRIPPER, HOME_QPOS, JOINTS

SHAPE = np.array([1.0, 0.5, -1.0, 0.8, 1.0, -0.7, 1.0])  # per-joint amplitude factors of the test trajectory


def policy_chunk(first_step: int) -> np.ndarray:
    """A smooth model-space chunk ``[32, 8]`` as Policy-DROID emits it (gripper flipped: model 1 = open)."""
    t = np.arange(first_step, first_step + 32) / 15.0
    joints = HOME_QPOS + 0.2 * np.sin(2 * np.pi * t / 2.0)[:, None] * SHAPE
    gripper = np.clip((t - 0.6) / 0.5, 0.0, 1.0)  # close over 0.5 s, from 0.6 s on
    return np.concatenate([joints, 1.0 - gripper[:, None]], axis=1)


def action(joints: np.ndarray, gripper: float) -> np.ndarray:
    return np.concatenate([joints, [gripper]]).astype(np.float32)


@pytest.fixture(scope="module")
def joint_env():
    env = SimDroidEnv(cameras=(), control_mode="joint")
    yield env
    env.close()


def test_check_env_passes_state_only_and_rendered():
    env = SimDroidEnv(cameras=(), control_mode="joint")
    check_env(env, skip_render_check=True)
    assert env.action_space.shape == (8,)
    np.testing.assert_allclose(env.action_space.low, [*PANDA_JOINT_LOWER, 0.0], atol=1e-6)
    np.testing.assert_allclose(env.action_space.high, [*PANDA_JOINT_UPPER, 1.0], atol=1e-6)
    rendered = gym.make(ENV_ID, control_mode="joint", image_size=(32, 32), render_mode="rgb_array")
    try:
        check_env(rendered.unwrapped)
        assert rendered.unwrapped.action_names == JOINT_ACTION_NAMES
    finally:
        rendered.close()


def test_decoded_policy_chunks_are_tracked_within_2_mrad(joint_env):
    adapter = get_adapter("droid_joint")
    obs, _ = joint_env.reset(seed=0)
    errors, states = [], []
    for first_step in (1, 33):  # two chunks back to back: the second starts where the first ended
        command = adapter.decode(policy_chunk(first_step))
        assert command.joint_positions.shape == (32, 7) and command.gripper.shape == (32,)
        for joints, gripper in zip(command.joint_positions, command.gripper, strict=True):
            obs, *_ = joint_env.step(action(joints, gripper))
            errors.append(obs["observation.state"][JOINTS] - joints)
            states.append(obs["observation.state"])
    errors, states = np.abs(np.array(errors)), np.array(states)
    assert np.ptp(states[:, JOINTS], axis=0).min() > 0.1, "the arm did not follow the trajectory's motion"
    assert errors.max() < 0.002, f"max tracking error {errors.max():.5f} rad (measured 0.0006)"
    assert np.sqrt((errors**2).mean()) < 0.0005, f"RMS tracking error {np.sqrt((errors**2).mean()):.5f} rad"
    assert states[0, GRIPPER] < 0.05 and states[-1, GRIPPER] > 0.95  # DROID convention after the adapter's flip


def test_static_target_is_reached_and_held(joint_env):
    joint_env.reset(seed=0)
    target = HOME_QPOS + np.array([0.3, -0.2, 0.2, 0.3, -0.3, 0.2, 0.4])
    errors = []
    for _ in range(30):
        obs, *_ = joint_env.step(action(target, 0.0))
        errors.append(np.abs(obs["observation.state"][JOINTS] - target).max())
    assert errors[0] > 0.1  # a 0.4 rad jump in one step exceeds the torque limits: the arm lags, no teleport
    assert errors[4] < 0.005, f"error after 5 steps {errors[4]:.5f} rad (measured 0.0008)"
    assert max(errors[9:]) < 1e-5, f"steady-state error {max(errors[9:]):.2e} rad (measured < 1e-6)"


def test_gripper_closes_in_about_a_quarter_second(joint_env):
    joint_env.reset(seed=0)
    closure = []
    for _ in range(10):
        obs, *_ = joint_env.step(action(HOME_QPOS, 1.0))
        closure.append(obs["observation.state"][GRIPPER])
    steps = next(i + 1 for i, g in enumerate(closure) if g > 0.9)
    assert 3 <= steps <= 5, f"gripper took {steps} steps to pass 0.9 (measured 4 = 0.27 s)"
    assert closure[-1] > 0.98


@pytest.mark.parametrize(
    ("joints_delta", "gripper", "what"),
    [
        ({3: 2.4}, 0.0, r"action\[3\] \(joint_4\)"),  # joint 4 must stay below -0.0698 rad
        ({1: -1.0}, 0.0, r"action\[1\] \(joint_2\)"),  # below -1.7628 rad
        ({}, 1.2, r"action\[7\] \(gripper\)"),
        ({0: np.nan}, 0.0, "finite"),
    ],
)
def test_targets_outside_the_contract_raise_and_simulate_nothing(joint_env, joints_delta, gripper, what):
    joint_env.reset(seed=0)
    before = joint_env.data.qpos.copy()
    joints = HOME_QPOS.copy()
    for i, delta in joints_delta.items():
        joints[i] += delta
    with pytest.raises(ActionContractError, match=what):
        joint_env.step(action(joints, gripper))
    with pytest.raises(ActionContractError, match="shape"):
        joint_env.step(np.zeros(7, np.float32))  # a pose-mode action in joint mode
    np.testing.assert_array_equal(joint_env.data.qpos, before)


def test_same_seed_same_states_in_joint_mode():
    runs = []
    for seed in (5, 5, 6):
        env = SimDroidEnv(cameras=(), control_mode="joint")
        obs, info = env.reset(seed=seed)
        states = [obs["observation.state"]]
        for row in get_adapter("droid_joint").decode(policy_chunk(1)).joint_positions[:12]:
            obs, _, _, _, info = env.step(action(row, 1.0))
            states.append(obs["observation.state"])
        runs.append((np.array(states), info["privileged"]["cube_pos"], env.data.qpos.copy()))
        env.close()
    (states_a, cube_a, qpos_a), (states_b, cube_b, qpos_b), (_, cube_c, _) = runs
    np.testing.assert_array_equal(states_a, states_b)
    np.testing.assert_array_equal(qpos_a, qpos_b)
    np.testing.assert_array_equal(cube_a, cube_b)
    assert not np.array_equal(cube_a, cube_c)


def test_unknown_control_mode_names_the_options():
    with pytest.raises(ValueError, match="pose, joint"):
        SimDroidEnv(cameras=(), control_mode="velocity")
