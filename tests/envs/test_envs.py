"""The chunk-level envs against the real simulator and the real embedded world model: gymnasium's checker, the
same policy object in both from the same seeds, batching, start states, typed errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy.spatial.transform import Rotation

from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv, WorldModelVectorEnv
from cosmos_robotics.errors import ActionContractError, PrivilegedStateError
from cosmos_robotics.evaluation import psnr
from cosmos_robotics.policies import ActionChunk, make_policy
from cosmos_robotics.rollout import run_episode
from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

pytest.importorskip("cosmos_robotics.sim", reason="needs the SimDroid-v0 simulator")


@pytest.fixture(scope="module")
def world_model():
    return EmbeddedWorldModel()


def test_check_env_passes_for_both_envs(world_model):
    sim = SimChunkEnv(cameras=(), chunk_size=4)
    check_env(sim, skip_render_check=True)
    sim.close()
    joints = SimChunkEnv(cameras=(), chunk_size=4, action_type="joints")
    check_env(joints, skip_render_check=True)
    joints.close()
    world = CosmosWorldEnv(world_model, chunk_size=4, episode_length=8)
    check_env(world, skip_render_check=True)
    world.close()


def test_registered_ids_make_the_envs():
    env = gym.make("cosmos_robotics/Droid-WorldModel-v0", episode_length=4)
    obs, info = env.reset(seed=2)
    assert obs["observation.images.wrist"].shape == (128, 128, 3) and info["task"]
    env.close()
    sim = gym.make("cosmos_robotics/SimDroid-Chunk-v0", cameras=())
    assert sim.reset(seed=2)[0]["observation.state"].shape == (14,)
    sim.close()


def test_one_policy_object_runs_in_both_from_the_same_start(world_model):
    from cosmos_robotics.policies import ExecuteK
    from cosmos_robotics.policies.embedded import EmbeddedPolicy

    policy = ExecuteK(EmbeddedPolicy(world_model.model), 8)
    sim, world = SimChunkEnv(episode_length=16), CosmosWorldEnv(world_model, episode_length=16)
    real, imagined = run_episode(sim, policy, seed=11), run_episode(world, policy, seed=11)
    sim.close()
    world.close()
    for key, value in real.observations[0].items():  # the same start state
        np.testing.assert_array_equal(value, imagined.observations[0][key], err_msg=key)
    assert real.steps == imagined.steps == 16 and [len(c) for c in imagined.chunks] == [8, 8]
    assert imagined.infos[0]["success_source"] == "backend" and imagined.infos[0]["state_source"] == "backend"
    # imagination follows the simulator over the first chunk (held-out quality is ~28 dB)
    first = psnr(np.stack([imagined.observations[t]["observation.images.exterior_1"] for t in range(1, 9)]),
                 np.stack([real.observations[t]["observation.images.exterior_1"] for t in range(1, 9)]))
    assert first > 20, first
    drift = np.linalg.norm(imagined.states()[8, :3] - real.states()[8, :3])
    assert drift < 0.03, drift


def test_privileged_policies_are_refused_in_a_world_model(world_model):
    world = CosmosWorldEnv(world_model, episode_length=4)
    with pytest.raises(PrivilegedStateError, match="privileged"):
        run_episode(world, make_policy("expert"), seed=0)


def test_pose_rows_and_model_chunks_mean_the_same_motion(world_model):
    """A [T, 7] pose array and its model-space encoding move the imagined robot the same way."""
    world = CosmosWorldEnv(world_model, episode_length=8, chunk_size=8)
    obs, _ = world.reset(seed=3)
    state = obs["observation.state"].astype(np.float64)
    rows = np.tile(np.r_[state[:3], 0, 0, 0, 0.0], (8, 1))
    rows[:, 3:6] = Rotation.from_euler("xyz", state[3:6]).as_rotvec()
    rows[:, 2] -= 0.01 * np.arange(1, 9)  # move down 1 cm per step
    _, _, _, truncated, info = world.step(rows)
    assert truncated and info["executed_steps"] == 8
    moved = info["observations"][-1]["observation.state"][2] - state[2]
    assert -0.12 < moved < -0.03, moved  # the imagined flange goes down (the embedded model lags like the sim)
    world.reset(seed=3)
    _, _, _, _, again = world.step(ActionChunk("droid", 15, np.zeros(8), model_actions=info["model_actions"],
                                               poses=get_adapter("droid").decode_from_cartesian(
                                                   info["model_actions"], state[:6]).poses[1:]))
    np.testing.assert_array_equal(again["frames"], info["frames"])


def test_bad_chunks_raise_typed_errors(world_model):
    world = CosmosWorldEnv(world_model, episode_length=8, chunk_size=4)
    with pytest.raises(ActionContractError, match="reset"):
        world.step(np.zeros((4, 7)))
    world.reset(seed=0)
    for bad in (np.zeros((5, 7)), np.zeros((4, 6)), np.full((4, 7), np.nan), np.array([["a"] * 7] * 4)):
        with pytest.raises(ActionContractError):
            world.step(bad)
    with pytest.raises(ActionContractError, match="action_type"):
        CosmosWorldEnv(world_model, action_type="joints")
    sim = SimChunkEnv(cameras=(), action_type="joints")
    sim.reset(seed=0)
    with pytest.raises(ActionContractError, match="joint"):
        sim.step(np.tile(np.r_[np.zeros(3), 0.5, 0, 1.0, 0, 0.0], (2, 1)))  # joint 4 must be negative
    sim.close()


def test_joint_chunk_decoded_by_the_droid_joint_adapter_is_tracked():
    """A Policy-DROID style chunk (absolute joints, model gripper 1 = open) through the chunk env: within 2 mrad."""
    from cosmos_robotics.sim.env import HOME_QPOS, JOINTS

    t = np.arange(1, 33)[:, None] / 15.0
    joints = HOME_QPOS + 0.15 * np.sin(2 * np.pi * t / 2.0) * np.array([1, 0.5, 1, 0.5, 1, 0.5, 1])
    model = np.concatenate([joints, np.ones((32, 1))], axis=1)  # gripper open in the model's convention
    command = get_adapter("droid_joint").decode(model)
    sim = SimChunkEnv(cameras=(), chunk_size=32, action_type="joints")
    sim.reset(seed=0)
    _, _, _, _, info = sim.step(ActionChunk("droid_joint", 15, command.gripper, joint_positions=command.joint_positions))
    reached = np.stack([o["observation.state"][JOINTS] for o in info["observations"]])
    assert info["executed_steps"] == 32
    assert np.abs(reached - command.joint_positions).max() < 2e-3
    sim.close()


def test_vector_env_batches_and_matches_single_envs(world_model):
    vec = WorldModelVectorEnv(3, world_model, episode_length=8, chunk_size=8)
    obs, _ = vec.reset(seed=[5, 6, 7])
    assert obs["observation.images.wrist"].shape == (3, 128, 128, 3)
    policy = make_policy("embedded")
    chunks = [policy.select_action_chunk({k: v[i] for k, v in obs.items()}).head(8) for i in range(3)]
    batched, rewards, terminated, truncated, infos = vec.step(chunks)
    assert truncated.all() and not terminated.any() and rewards.shape == (3,)
    for i, seed in enumerate((5, 6, 7)):
        single = CosmosWorldEnv(world_model, episode_length=8, chunk_size=8)
        single.reset(seed=seed)
        alone = single.step(chunks[i])[0]
        # bfloat16 kernels (chosen on CPUs with native bf16) differ between batch sizes in the last digits
        np.testing.assert_allclose(alone["observation.state"], batched["observation.state"][i], atol=5e-3)
        assert psnr(alone["observation.images.wrist"], batched["observation.images.wrist"][i]) > 40
    again, *_ = vec.step(chunks)  # next-step autoreset: the sub-envs start again from new seeds
    assert np.isfinite(again["observation.state"]).all()
    vec.close()
