"""``cosmos-robotics sim record`` / ``dataset inspect`` end to end on the real MuJoCo simulator (needs
``cosmos_robotics.sim``): the recorded dataset loads in lerobot, equals a fresh in-process rollout with the same
seeds (per-frame ``next.success`` included, which the embedded-model loader reads instead of re-simulating),
resumes, refuses mismatched settings and old datasets without ``next.success``, and the expert's DROID model-space
actions stay in [-1, 1]."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from PIL import Image
from test_writer import assert_matches

from cosmos_robotics.cli import main
from cosmos_robotics.errors import DatasetFormatError
from cosmos_robotics.export import (
    IMAGE_PREFIX,
    MODEL_ACTION_KEY,
    SUCCESS_KEY,
    EpisodeRecord,
    LeRobotEpisodeWriter,
    default_repo_id,
    read_provenance,
)
from cosmos_robotics.rollout.record import sim_provenance, sim_spec, simulate_record
from cosmos_robotics.training import data

pytest.importorskip("cosmos_robotics.sim", reason="needs the SimDroid-v0 simulator")

RES, STEPS, SEED = 128, 100, 7


def record(root, episodes: int, policy: str = "expert") -> int:
    return main([
        "sim", "record", "--episodes", str(episodes), "--policy", policy, "--out", str(root), "--workers", "2",
        "--seed", str(SEED), "--resolution", str(RES), "--steps", str(STEPS), "--commit-every", "1",
    ])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim") / "expert"
    assert record(root, 2) == 0
    return root


def independent_rollout(seed: int) -> EpisodeRecord:
    """The episode written out step by step from the gym API and the DROID adapter, not through the recorder's
    rollout runner, chunk env and ``droid_model_actions`` (comparing those with themselves could not fail)."""
    import gymnasium as gym

    from cosmos_robotics.embodiments.droid import make_droid_adapter
    from cosmos_robotics.policies.scripted_expert import ScriptedExpert
    from cosmos_robotics.sim import ENV_ID

    env = gym.make(ENV_ID, image_size=(RES, RES), episode_length=STEPS)
    policy = ScriptedExpert(seed=seed)  # the raw step policy, not the recorder's chunk path
    obs, info = env.reset(seed=seed)
    policy.reset(seed)
    cams = [k for k in obs if k.startswith(IMAGE_PREFIX)]
    frames, states, actions, success = {k: [] for k in cams}, [], [], []
    for _ in range(STEPS):
        for k in cams:
            frames[k].append(obs[k])
        states.append(obs["observation.state"])
        actions.append(np.asarray(policy.act(obs, info), dtype=np.float32))
        obs, _, terminated, _, info = env.step(actions[-1])
        success.append(info["is_success"])
        if terminated:
            break
    cartesian = np.concatenate([np.stack(states)[:, :6], obs["observation.state"][None, :6]]).astype(np.float64)
    grip = np.stack(actions)[:, 6].astype(np.float64)
    model = make_droid_adapter(clamp=False).encode_window(cartesian, grip).astype(np.float32)
    task = env.unwrapped.task
    env.close()
    return EpisodeRecord(frames={k.removeprefix(IMAGE_PREFIX): np.stack(v) for k, v in frames.items()},
                         states=np.stack(states), actions=np.stack(actions), model_actions=model,
                         frame_success=np.asarray(success, dtype=bool), task=task, success=bool(success[-1]),
                         seed=seed)


def test_recording_equals_an_independent_rollout_and_carries_provenance(recorded):
    dataset = LeRobotDataset(default_repo_id(recorded), root=recorded, video_backend="pyav")
    assert dataset.num_episodes == 2 and dataset.num_frames == 2 * STEPS
    # One episode is enough. The recorder's chunk path turns each expert delta into an absolute target and back,
    # which moves near-zero components (~1e-17) by a float32 step; states and everything else match exactly.
    assert_matches(dataset, 1, independent_rollout(SEED + 1), action_atol=1e-12)
    provenance, notes = read_provenance(recorded)
    assert provenance.synthetic and provenance.seed == SEED and provenance.generator.startswith("sim:")
    assert provenance.backend.startswith("mujoco") and provenance.params["policy"] == "expert"
    assert [n.seed for n in notes] == [SEED, SEED + 1]


def test_next_success_is_is_success_after_each_action_and_the_embedded_loader_reads_it(recorded, monkeypatch):
    """Against an independent state-only rollout (the embedded model's in-memory source, whose ``success[t+1]`` is
    ``info["is_success"]`` after action ``t``); the embedded-model loader must give that rollout's arrays, success
    labels included, without starting a simulator."""
    def no_simulator(*args):
        raise AssertionError("the loader started a simulator")

    monkeypatch.setattr(data, "_env", no_simulator)
    with pytest.warns(UserWarning) as caught:  # "expert" is not a ladder rung: loads, with warnings
        loaded = data.load_recorded_episodes([recorded], episode_length=STEPS - 1)
    monkeypatch.undo()
    assert any("not a rung of the training ladder" in str(w.message) for w in caught)
    dataset = LeRobotDataset(default_repo_id(recorded), root=recorded, video_backend="pyav")
    table = dataset.hf_dataset.with_format("numpy")
    _, notes = read_provenance(recorded)
    ep, note = dataset.meta.episodes[0], notes[0]  # one episode is enough and saves a rollout
    rows = slice(ep["dataset_from_index"], ep["dataset_to_index"])
    fresh = data.simulate_episode(note.seed, "expert", False, STEPS, cameras=False)
    np.testing.assert_array_equal(table["observation.state"][rows], fresh.states[:-1])
    np.testing.assert_array_equal(table[SUCCESS_KEY][rows], fresh.success[1:])
    assert not fresh.success[0] and fresh.success[-2] and note.success  # the expert succeeds mid-episode
    assert note.success == table[SUCCESS_KEY][rows][-1]
    assert loaded.seeds[0] == note.seed
    for name in ("states", "gripper", "success", "chunks", "deltas"):  # the loader's window: one frame less
        np.testing.assert_array_equal(getattr(loaded, name)[0], getattr(fresh, name)[:-1], err_msg=name)


def test_dataset_recorded_without_next_success_is_refused(tmp_path, capsys):
    """A dataset as the recorder wrote it before ``next.success`` existed (same spec and provenance otherwise)."""
    old = tmp_path / "old"
    episode = simulate_record((("expert", RES, 4), SEED))
    with LeRobotEpisodeWriter(old, dataclasses.replace(sim_spec(RES), frame_success=False),
                              sim_provenance("expert", SEED, RES, STEPS)) as writer:
        writer.add(dataclasses.replace(episode, frame_success=None))
    assert record(old, 2) == 2
    assert f"features that differ: {SUCCESS_KEY};" in capsys.readouterr().err
    assert LeRobotDataset(default_repo_id(old), root=old, video_backend="pyav").num_episodes == 1  # untouched
    with pytest.raises(DatasetFormatError, match=f"expected per-frame success \\({SUCCESS_KEY}\\).*re-record.*"
                                                 f"--policy expert --seed {SEED} --resolution {RES} --steps {STEPS}"):
        data.load_recorded_episodes([old], episode_length=3)


def test_expert_droid_model_actions_stay_in_range(recorded):
    dataset = LeRobotDataset(default_repo_id(recorded), root=recorded, video_backend="pyav")
    model = np.stack(dataset.hf_dataset[MODEL_ACTION_KEY])
    assert model.shape == (2 * STEPS, 10)
    inside = np.mean(np.abs(model) <= 1.0)
    assert inside >= 0.95, f"only {inside:.1%} of DROID model-space values inside [-1, 1]"
    assert np.ptp(model[:, 9]) > 1.0  # the gripper really opens and closes (normalized -1 .. 1)


def test_resume_adds_missing_episodes_and_refuses_other_settings(recorded, tmp_path, capsys):
    assert record(recorded, 2) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert record(recorded, 3) == 0
    assert [n.seed for n in read_provenance(recorded)[1]] == [SEED, SEED + 1, SEED + 2]
    assert record(recorded, 4, policy="expert:noise=0.03") == 2
    assert "refusing to append" in capsys.readouterr().err
    assert main(["dataset", "inspect", str(recorded), "--sheet", str(tmp_path / "sheet.png")]) == 0
    out = capsys.readouterr().out
    assert "action.cosmos3" in out and "success" in out and "episodes  3" in out
    width, height = Image.open(tmp_path / "sheet.png").size
    assert (width, height) == (9 * (RES + 2), 3 * (RES + 2))


def test_inspect_rejects_a_non_dataset(tmp_path, capsys):
    assert main(["dataset", "inspect", str(tmp_path)]) == 2
    assert "expected a LeRobot v3 directory" in capsys.readouterr().err
