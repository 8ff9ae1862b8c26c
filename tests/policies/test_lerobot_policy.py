"""A small ACT trained on a recorded sim dataset, saved as LeRobot saves policies, then run through our adapter in
both envs, behind serve-policy, and by lerobot-eval through the lerobot_env_cosmos_robotics plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv
from cosmos_robotics.errors import ActionContractError, ModelNotAvailableError, UnknownPolicyError
from cosmos_robotics.policies import make_policy
from cosmos_robotics.policies.lerobot import LeRobotPolicy
from cosmos_robotics.rollout import run_episode
from cosmos_robotics.rollout.record import record_dataset
from cosmos_robotics.serving.openpi_server import PolicyServer, PolicyServerConfig, ServerThread
from cosmos_robotics.sim.pose_control import action_toward
from cosmos_robotics.training.lerobot_act import load_frames, train_act

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "plugins" / "lerobot_env_cosmos_robotics"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("act") / "sim64"
    record_dataset(root, episodes=2, policy="expert", workers=1, resolution=64, steps=40)
    return root


@pytest.fixture(scope="module")
def folder(dataset, tmp_path_factory) -> Path:
    return train_act(dataset, tmp_path_factory.mktemp("act") / "act_policy", steps=6, batch_size=4)


def test_training_labels_are_the_commanded_absolute_targets(dataset):
    """Aiming at frame t's label from frame t's state gives back the recorded delta action exactly."""
    from cosmos_robotics.data.lerobot_reader import read_episode_columns

    frames = load_frames(dataset, ("exterior_1",))
    recorded = read_episode_columns(dataset, ["observation.state", "action"], 0)
    assert frames["observation.images.exterior_1"].shape == (80, 3, 64, 64)
    from scipy.spatial.transform import Rotation

    from cosmos_robotics import geometry

    for t in (0, 10, 25):
        label = frames["action"][t].astype(np.float64)
        pose = geometry.pose_matrix(Rotation.from_rotvec(label[3:6]).as_matrix(), label[:3])
        np.testing.assert_allclose(action_toward(recorded["observation.state"][t][:6], pose, label[6]),
                                   recorded["action"][t], atol=2e-5)


def test_saved_folder_is_a_lerobot_policy_with_processors(folder):
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "policy_preprocessor.json", "policy_postprocessor.json"} <= names
    card = json.loads((folder / "cosmos_robotics.json").read_text())
    assert card["action_layout"] == "poses" and all(np.isfinite(card["losses"]))
    assert card["losses"][-1] < card["losses"][0]  # it learned something in 6 steps
    policy = make_policy(f"lerobot:path={folder}")
    assert policy.policy.config.type == "act" and policy.cameras == ["exterior_1"] and policy.chunked
    with pytest.raises(ModelNotAvailableError, match="config.json"):
        LeRobotPolicy(folder.parent)
    with pytest.raises(ActionContractError, match="action width"):
        LeRobotPolicy(folder, action_layout="joints")
    with pytest.raises(UnknownPolicyError):
        make_policy(f"lerobot:path={folder},layout=poses,extra=1")


def test_adapter_matches_lerobots_own_action_queue(folder):
    """Our chunk = what ACT's select_action returns step by step for the same observation (its n_action_steps)."""
    env = SimChunkEnv(chunk_size=8, action_type="poses", image_size=(64, 64))
    obs, info = env.reset(seed=1)
    policy = LeRobotPolicy(folder)
    policy.reset(0)
    chunk = policy.select_action_chunk({**obs, "task": info["task"]})
    assert len(chunk) == policy.config.n_action_steps == 8 and chunk.kind == "poses"
    batch = policy.preprocessor(policy._batch({**obs, "task": info["task"]}))
    policy.policy.reset()
    with torch.inference_mode():
        rows = np.stack([policy.postprocessor(policy.policy.select_action(batch))[0].numpy() for _ in range(8)])
    np.testing.assert_allclose(chunk.poses[:, :3, 3], rows[:, :3], atol=1e-5)
    np.testing.assert_allclose(chunk.gripper, rows[:, 6], atol=1e-5)
    with pytest.raises(ActionContractError, match="observation.images.exterior_1"):
        policy.select_action_chunk({"observation.state": obs["observation.state"]})


def test_runs_in_both_envs_and_behind_serve_policy(folder):
    policy = make_policy(f"lerobot:path={folder}")
    sim = run_episode(SimChunkEnv(chunk_size=8, action_type="poses", episode_length=16, image_size=(64, 64)),
                      policy, seed=0)
    imagined = run_episode(CosmosWorldEnv("embedded", action_type="poses", episode_length=16), policy, seed=0)
    for episode in (sim, imagined):
        assert [len(c) for c in episode.chunks] == [8, 8] and episode.steps == 16
        assert all(c.kind == "poses" and c.metadata["policy"] == policy.name for c in episode.chunks)
    # the world-model env starts from the same simulator state: same state input, views resized 128 -> 64 px
    np.testing.assert_allclose(imagined.chunks[0].poses[:, :3, 3], sim.chunks[0].poses[:, :3, 3], atol=0.05)

    server = PolicyServer(lambda: make_policy(f"lerobot:path={folder}"), PolicyServerConfig(port=0,
                                                                                          image_size=(64, 64)))
    with ServerThread(server) as running:
        client = make_policy(f"openpi:url={running.url},replan=8")
        served = run_episode(SimChunkEnv(chunk_size=32, action_type="joints", episode_length=16, image_size=(64, 64)),
                             client, seed=0)
    assert [len(c) for c in served.chunks] == [8, 8] and served.chunks[0].metadata["valid_steps"] == 8
    from cosmos_robotics.sim.kinematics import ArmKinematics

    reached = ArmKinematics().flange_pose(served.chunks[0].joint_positions[0])[:3, 3]
    np.testing.assert_allclose(reached, sim.chunks[0].poses[0, :3, 3], atol=3e-3)  # same first target, by IK


def test_lerobot_eval_runs_it_in_both_envs_through_the_plugin(folder, tmp_path):
    """The plugin is found by LeRobot's own discovery (an installed ``lerobot_env_*`` distribution)."""
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                              "--target", str(target), str(PLUGIN)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    assert (target / "lerobot_env_cosmos_robotics-0.1.0.dist-info").is_dir()
    env = {**os.environ, "PYTHONPATH": f"{target}{os.pathsep}{REPO}", "HF_HUB_OFFLINE": "1"}
    for env_type in ("cosmos_sim", "cosmos_world_model"):
        out = tmp_path / env_type
        run = subprocess.run([str(Path(sys.executable).parent / "lerobot-eval"), f"--policy.path={folder}",
                              f"--env.type={env_type}", "--env.episode_length=10", "--env.image_size=64",
                              "--eval.n_episodes=2", "--eval.batch_size=1", "--policy.device=cpu",
                              f"--output_dir={out}"], capture_output=True, text=True, timeout=600, env=env,
                             cwd=tmp_path)
        assert run.returncode == 0, run.stderr[-3000:]
        info = json.loads((out / "eval_info.json").read_text())
        assert info["overall"]["n_episodes"] == 2 and 0.0 <= info["overall"]["pc_success"] <= 100.0
        assert info["per_task"][0]["task_group"] == env_type
        assert (out / "videos" / f"{env_type}_0" / "eval_episode_0.mp4").stat().st_size > 0
