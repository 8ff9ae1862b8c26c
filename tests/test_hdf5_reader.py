"""Raw HDF5 episodes (robomimic and DROID layouts) read back exactly, encode through the adapters, and broken
files give typed errors."""

import h5py
import numpy as np
import pytest

from cosmos_robotics.data.hdf5_reader import DROID_RAW, ROBOMIMIC, list_episodes, read_hdf5_columns
from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.errors import CosmosRoboticsError, DatasetFormatError


def test_robomimic_episodes_read_back_in_numeric_order(tmp_path):
    path = tmp_path / "demo.hdf5"
    rng = np.random.default_rng(0)
    written = {}
    with h5py.File(path, "w") as f:
        for i in (0, 2, 10):
            written[i] = rng.normal(size=(5 + i, 7))
            f[f"data/demo_{i}/actions"] = written[i]
            f[f"data/demo_{i}/obs/robot0_eef_pos"] = rng.normal(size=(5 + i, 3))
    assert list_episodes(path) == ["demo_0", "demo_2", "demo_10"]
    columns = read_hdf5_columns(path, ROBOMIMIC, "demo_10", ["actions", "robot0_eef_pos"])
    np.testing.assert_array_equal(columns["actions"], written[10])
    with pytest.raises(DatasetFormatError, match="robot0_eef_quat"):
        read_hdf5_columns(path, ROBOMIMIC, "demo_0", ["robot0_eef_quat"])


def test_droid_trajectory_encodes_like_the_lerobot_columns(tmp_path):
    path = tmp_path / "trajectory.h5"
    cartesian = np.column_stack([np.linspace(0.4, 0.5, 17), np.zeros(17), np.full(17, 0.3),
                                 np.full(17, np.pi), np.zeros(17), np.zeros(17)])
    with h5py.File(path, "w") as f:
        f["observation/robot_state/cartesian_position"] = cartesian
        f["action/gripper_position"] = np.linspace(0, 1, 17)
    droid = get_adapter("droid")
    columns = read_hdf5_columns(path, DROID_RAW)
    direct = droid.encode_window(cartesian, np.linspace(0, 1, 17)[:-1])
    np.testing.assert_allclose(droid.encode_lerobot_window(columns, 0), direct)


@pytest.mark.parametrize("content", [b"", b"not hdf5 at all", b"\x89HDF\r\n\x1a\n" + bytes(100)])
def test_broken_files_are_typed_errors(tmp_path, content):
    path = tmp_path / "broken.h5"
    path.write_bytes(content)
    with pytest.raises(CosmosRoboticsError):
        read_hdf5_columns(path, DROID_RAW)


def test_wrong_dtype_and_ragged_lengths_are_typed_errors(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["observation/robot_state/cartesian_position"] = np.zeros((4, 6))
        f["action/gripper_position"] = np.array([b"open"] * 3)
    with pytest.raises(DatasetFormatError, match="real numbers"):
        read_hdf5_columns(path, DROID_RAW)
    with h5py.File(path, "a") as f:
        del f["action/gripper_position"]
        f["action/gripper_position"] = np.zeros(3)
    with pytest.raises(DatasetFormatError, match="different lengths"):
        read_hdf5_columns(path, DROID_RAW)
