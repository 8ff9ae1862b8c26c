"""Read raw episodes from HDF5 files (robomimic ``demo.hdf5``, DROID ``trajectory.h5``) beside the LeRobot reader.

Both formats are one HDF5 tree of per-frame arrays; a *layout* maps the column names our adapters read to paths in
that tree (``{demo}`` stands for the episode group). Sizes, dtypes and finiteness are checked before anything is
read, like every other input (``cosmos_robotics.inputs``).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from cosmos_robotics.errors import DatasetFormatError
from cosmos_robotics.inputs import DEFAULT_LIMITS, REAL_KINDS, Limits, real_array

# robomimic: data/demo_<i>/{actions, obs/<key>}; columns named as in its docs.
ROBOMIMIC = {"actions": "data/{demo}/actions", "robot0_eef_pos": "data/{demo}/obs/robot0_eef_pos",
             "robot0_eef_quat": "data/{demo}/obs/robot0_eef_quat",
             "robot0_gripper_qpos": "data/{demo}/obs/robot0_gripper_qpos"}
# DROID raw trajectory.h5 (one episode per file), named like the LeRobot columns the ``droid`` adapter reads.
DROID_RAW = {"observation.state.cartesian_position": "observation/robot_state/cartesian_position",
             "action.gripper_position": "action/gripper_position"}


def list_episodes(path: str | Path) -> list[str]:
    """robomimic episode groups (``demo_0``, ``demo_1``, ... in numeric order)."""
    with _open(path) as root:
        group = root.get("data")
        if not isinstance(group, h5py.Group):
            raise DatasetFormatError(f"{path}: expected a robomimic file with a 'data' group, found {sorted(root)[:8]}")
        return sorted(group, key=lambda name: (len(name), name))


def read_hdf5_columns(path: str | Path, layout: dict[str, str], demo: str = "", columns: list[str] | None = None,
                      limits: Limits = DEFAULT_LIMITS) -> dict[str, np.ndarray]:
    """``{column: float64 [frames, ...]}`` for ``columns`` (default: all of ``layout``), of equal length."""
    names = columns or list(layout)
    if missing := [c for c in names if c not in layout]:
        raise DatasetFormatError(f"{path}: columns {missing} are not in the layout; known: {sorted(layout)}")
    out: dict[str, np.ndarray] = {}
    with _open(path) as root:
        for name in names:
            key = layout[name].format(demo=demo)
            node = root.get(key)
            if not isinstance(node, h5py.Dataset):
                raise DatasetFormatError(f"{path}: expected a dataset at {key!r} (column {name}), found "
                                         f"{'a group' if node is not None else 'nothing'}")
            if node.dtype.kind not in REAL_KINDS or node.size > limits.max_elements or node.ndim < 1:
                raise DatasetFormatError(f"{path}: {key}: expected real numbers [frames, ...] of at most "
                                         f"{limits.max_elements} values, got {node.dtype} {list(node.shape)}")
            out[name] = real_array(node[()], f"{path}: {key}", None, limits)
    if len({len(a) for a in out.values()}) > 1:
        raise DatasetFormatError(f"{path}: columns of different lengths {({k: len(v) for k, v in out.items()})}")
    return out


def _open(path: str | Path) -> h5py.File:
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(f"{path}: expected an HDF5 file, found {'a directory' if path.is_dir() else 'none'}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DatasetFormatError(f"{path}: not a readable HDF5 file ({exc})") from None
