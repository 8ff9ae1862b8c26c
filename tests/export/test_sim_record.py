"""``cosmos-robotics sim record`` / ``dataset inspect`` end to end on the real MuJoCo simulator (needs
``cosmos_robotics.sim``): the recorded dataset loads in lerobot, equals a fresh in-process rollout with the same
seeds, resumes, refuses mismatched settings, and the expert's DROID model-space actions stay in [-1, 1]."""

from __future__ import annotations

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from PIL import Image
from test_writer import assert_matches

from cosmos_robotics.cli import main
from cosmos_robotics.cli.sim import simulate_episode
from cosmos_robotics.export import MODEL_ACTION_KEY, default_repo_id, read_provenance

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


def test_recording_equals_a_fresh_rollout_and_carries_provenance(recorded):
    dataset = LeRobotDataset(default_repo_id(recorded), root=recorded, video_backend="pyav")
    assert dataset.num_episodes == 2 and dataset.num_frames == 2 * STEPS
    for index in range(2):
        assert_matches(dataset, index, simulate_episode((("expert", RES, STEPS), SEED + index)))
    provenance, notes = read_provenance(recorded)
    assert provenance.synthetic and provenance.seed == SEED and provenance.generator.startswith("sim:")
    assert provenance.backend.startswith("mujoco") and provenance.params["policy"] == "expert"
    assert [n.seed for n in notes] == [SEED, SEED + 1]


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
    assert "expected a LeRobot v3 dataset" in capsys.readouterr().err
