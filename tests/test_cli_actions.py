"""The installed ``cosmos-robotics`` entry point, run as a user would."""

import json
import subprocess
import sys

import numpy as np
from PIL import Image


def cli(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "cosmos_robotics.cli", *map(str, args)],
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_embodiments_table_lists_every_domain():
    out = cli("embodiments").stdout
    for name in ("av", "droid_lerobot", "umi", "hand_pose", "agibotworld"):
        assert name in out
    assert "droid_joint" in out


def test_encode_lerobot_window_then_decode_with_plot(cookbook, tmp_path):
    encoded = tmp_path / "droid.json"
    cli("actions", "encode", "--embodiment", "droid", "--lerobot", cookbook / "droid_lerobot_example",
        "--start", 0, "--out", encoded)
    payload = json.loads(encoded.read_text())
    assert payload["shape"] == [16, 10] and payload["domain_name"] == "droid_lerobot"
    plot = tmp_path / "traj.png"
    decoded = json.loads(cli("actions", "decode", "--embodiment", "droid", encoded, "--plot", plot).stdout)
    assert np.asarray(decoded["poses"]).shape == (17, 4, 4)
    assert np.asarray(decoded["gripper"]).shape == (16,)
    assert Image.open(plot).size[0] > 500


def test_decode_av_asset_to_file(cookbook, tmp_path):
    out = tmp_path / "poses.json"
    cli("actions", "decode", "--embodiment", "av", cookbook / "actions" / "av_traj_right.json", "--out", out)
    poses = np.asarray(json.loads(out.read_text())["poses"])
    assert poses.shape == (61, 4, 4) and abs(poses[-1, 0, 3] - 24.6) < 0.05


def test_encode_pose_file_round_trips(tmp_path):
    poses = np.broadcast_to(np.eye(4), (5, 4, 4)).copy()
    poses[:, 0, 3] = np.linspace(0, 0.02, 5)
    src = tmp_path / "poses.json"
    src.write_text(json.dumps({"poses": poses.tolist(), "gripper": [0, 0, 1, 1]}))
    npy = tmp_path / "actions.npy"
    cli("actions", "encode", "--embodiment", "droid", "--poses", src, "--out", npy)
    decoded = json.loads(cli("actions", "decode", "--embodiment", "droid", npy).stdout)
    np.testing.assert_allclose(np.asarray(decoded["poses"]), poses, atol=1e-5)  # float32 file
    np.testing.assert_allclose(decoded["gripper"], [0, 0, 1, 1], atol=1e-6)


def test_bad_input_prints_one_clear_line(cookbook, tmp_path):
    result = cli("actions", "decode", "--embodiment", "droid", cookbook / "actions" / "av_traj_left.json", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: [droid] model-space actions: expected shape [N, 10], got shape (60, 9) dtype float64"
    result = cli("actions", "encode", "--embodiment", "droid", "--lerobot", tmp_path, check=False)
    assert result.returncode == 2 and "meta/info.json" in result.stderr
    result = cli("actions", "decode", "--embodiment", "walker", tmp_path / "x.json", check=False)
    assert result.returncode == 2 and "available" in result.stderr
