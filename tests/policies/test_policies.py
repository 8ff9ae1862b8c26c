"""The policy protocol and its wrappers, replay of a recorded episode, and the world-model planner."""

from __future__ import annotations

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from cosmos_robotics.cli import main
from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv
from cosmos_robotics.errors import ActionContractError, UnknownPolicyError
from cosmos_robotics.export import default_repo_id
from cosmos_robotics.policies import ActionChunk, ExecuteK, Policy, TemporalEnsemble, make_policy
from cosmos_robotics.rollout import run_episode

pytest.importorskip("cosmos_robotics.sim", reason="needs the SimDroid-v0 simulator")


class Counting:
    """A policy whose chunk ``k`` targets x = 10 k + row, so every wrapper's arithmetic can be read off."""

    name, needs_privileged_state = "counting", False

    def __init__(self, rows: int = 4):
        self.rows, self.calls = rows, 0

    def reset(self, seed=None):
        self.calls = 0

    def select_action_chunk(self, observation):
        poses = np.repeat(np.eye(4)[None], self.rows, axis=0)
        poses[:, 0, 3] = 10 * self.calls + np.arange(self.rows)
        self.calls += 1
        return ActionChunk("droid", 15, np.full(self.rows, 0.1 * self.calls), poses=poses)


def test_every_policy_follows_the_protocol():
    names = {"expert": "expert", "expert:contract=1,noise=0.01": "expert:noise=0.01,contract=1",
             "embedded": "embedded:replan=16", "embedded:replan=4": "embedded:replan=4",
             "embedded:ensemble=0.1": "embedded:ensemble=0.1"}
    for spec, name in names.items():
        policy = make_policy(spec)
        assert isinstance(policy, Policy) and policy.name == name
        assert make_policy(policy.name).name == name  # a name is a spec that builds the same policy
    assert make_policy("expert").needs_privileged_state and not make_policy("embedded").needs_privileged_state


def test_execute_k_and_chunk_validation():
    chunk = ExecuteK(Counting(), 3).select_action_chunk({})
    assert len(chunk) == 3 and chunk.poses[:, 0, 3].tolist() == [0, 1, 2]
    with pytest.raises(ActionContractError):
        ExecuteK(Counting(), 0)
    with pytest.raises(ActionContractError, match="exactly one"):
        ActionChunk("droid", 15, np.zeros(2))
    with pytest.raises(ActionContractError, match="one length"):
        ActionChunk("droid", 15, np.zeros(2), joint_positions=np.zeros((3, 7)))


def test_temporal_ensemble_weights_the_oldest_prediction_most():
    m = 0.5
    policy = TemporalEnsemble(Counting(rows=4), m)
    first = policy.select_action_chunk({})
    assert len(first) == 1 and first.poses[0, 0, 3] == 0.0  # only chunk 0 covers step 0
    second = policy.select_action_chunk({})  # step 1: chunk 0 row 1 (x=1), chunk 1 row 0 (x=10)
    w = np.exp(-m * np.arange(2))
    w /= w.sum()
    assert second.poses[0, 0, 3] == pytest.approx(w @ [1.0, 10.0])
    assert second.gripper[0] == pytest.approx(w @ [0.1, 0.2])
    for _ in range(3):  # chunk 0 expires after its 4 rows: step 4 averages chunks 1..4 only
        last = policy.select_action_chunk({})
    assert last.metadata["ensembled"] == 4
    np.testing.assert_allclose(last.poses[0, :3, :3], np.eye(3), atol=1e-12)


def test_bad_specs():
    for spec, match in (("oracle", "expert"), ("embedded:replan=40", "replan"), ("planner:speed=1", "samples"),
                        ("replay:episode=x", "number")):
        with pytest.raises(UnknownPolicyError, match=match):
            make_policy(spec)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One 40-step expert episode recorded through ``cosmos-robotics rollout --record`` (seed 21)."""
    out = tmp_path_factory.mktemp("rollout")
    assert main(["rollout", "--policy", "expert:noise=0.01", "--env", "sim", "--seeds", "21", "--steps", "40",
                 "--out", str(out), "--record", str(out / "data")]) == 0
    return out


def test_rollout_cli_writes_videos_summary_and_a_dataset_lerobot_loads(recorded):
    import json

    summary = json.loads((recorded / "summary.json").read_text())
    assert summary["policy"] == "expert:noise=0.01" and summary["episodes"][0]["steps"] == 40
    assert (recorded / "episode_21.mp4").stat().st_size > 1000
    dataset = LeRobotDataset(default_repo_id(recorded / "data"), root=recorded / "data", video_backend="pyav")
    assert dataset.num_episodes == 1 and dataset.num_frames == 40


def test_replay_of_a_recorded_episode_reproduces_it(recorded):
    env = SimChunkEnv(episode_length=40, cameras=())
    original = run_episode(env, make_policy("expert:noise=0.01"), seed=21)
    replayed = run_episode(env, make_policy(f"replay:dataset={recorded / 'data'},episode=0"), seed=21)
    env.close()
    np.testing.assert_allclose(replayed.states(), original.states(), atol=1e-5)
    np.testing.assert_allclose(replayed.actions, original.actions, atol=1e-6)
    assert [len(c) for c in replayed.chunks] == [16, 16, 8]


def test_world_model_env_starts_from_a_dataset_frame(recorded):
    world = CosmosWorldEnv(episode_length=4)
    obs, info = world.reset(options={"dataset": recorded / "data", "episode": 0, "frame": 10})
    sim = SimChunkEnv(episode_length=40)
    episode = run_episode(sim, make_policy("expert:noise=0.01"), seed=21)
    sim.close()
    np.testing.assert_allclose(obs["observation.state"], episode.observations[10]["observation.state"], atol=1e-6)
    from cosmos_robotics.evaluation import psnr

    assert psnr(obs["observation.images.wrist"], episode.observations[10]["observation.images.wrist"]) > 30
    assert info["task"] == episode.task
    with pytest.raises(Exception, match="frame index"):
        world.reset(options={"dataset": recorded / "data", "episode": 0, "frame": 400})


def test_planner_never_rates_its_choice_below_the_proposal():
    from cosmos_robotics.policies.embedded import EmbeddedPolicy
    from cosmos_robotics.policies.planner import WorldModelPlanner
    from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

    wm = EmbeddedWorldModel()
    planner = WorldModelPlanner(wm, EmbeddedPolicy(wm.model), samples=3, iterations=1, elites=1, seed=0)
    world = CosmosWorldEnv(wm, episode_length=16)
    obs, info = world.reset(seed=4)
    chunk = planner.select_action_chunk({**obs, "task": info["task"]})
    proposal = EmbeddedPolicy(wm.model).select_action_chunk(obs)
    _, _, _, _, imagined = world.step(proposal)
    assert len(chunk) == 16 and chunk.model_actions.shape == (16, 10)
    assert chunk.metadata["predicted_success"] >= imagined["success_probability"].max() - 1e-6
    with pytest.raises(ActionContractError, match="privileged"):
        WorldModelPlanner(wm, make_policy("expert"))
