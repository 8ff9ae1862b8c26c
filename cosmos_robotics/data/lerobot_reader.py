"""Read columns of one episode of a LeRobot v3 directory straight from its parquet files.

lerobot 0.6.1's ``LeRobotDataset`` refuses datasets whose ``info.json`` declares scalar (shape ``[]``) features —
the Cosmos cookbook's DROID example does — and decodes videos we do not need for actions. Actions only need a few
tabular columns, so we read ``meta/info.json`` (through the input layer) and the episode's rows from ``data/`` with
pyarrow; a malformed file is a :class:`DatasetFormatError` naming it.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cosmos_robotics.errors import DatasetFormatError, InputError
from cosmos_robotics.inputs import json_object, parse_json, read_file, real_array


def read_info(root: str | Path) -> dict:
    path = Path(root) / "meta" / "info.json"
    if not path.is_file():
        raise DatasetFormatError(f"{root}: expected a LeRobot v3 directory with meta/info.json, found none")
    info = json_object(parse_json(read_file(path, "meta/info.json"), f"{path}"), f"{path}")
    if info.get("codebase_version") != "v3.0":
        raise DatasetFormatError(f"{root}: expected LeRobot codebase_version v3.0, got {info.get('codebase_version')!r}")
    if not isinstance(info.get("features"), dict):
        raise DatasetFormatError(f"{path}: expected a 'features' object, got {type(info.get('features')).__name__}")
    return info


def read_episode_columns(root: str | Path, columns: list[str], episode: int = 0) -> dict[str, np.ndarray]:
    """``{column: array [frames, ...]}`` of one episode, rows in frame order."""
    root = Path(root)
    info = read_info(root)
    missing = [c for c in columns if c not in info["features"]]
    if missing:
        raise DatasetFormatError(f"{root}: missing features {missing}; available: {sorted(info['features'])}")
    files = sorted((root / "data").glob("chunk-*/file-*.parquet"))
    if not files:
        raise DatasetFormatError(f"{root}: no parquet files under data/")
    rows = []
    for file in files:
        try:
            table = pq.read_table(file, columns=["episode_index", "frame_index", *columns])
            table = table.filter(pc.equal(table["episode_index"], episode))
        except (pa.ArrowException, OSError, KeyError) as exc:
            raise DatasetFormatError(f"{file}: not a readable LeRobot data file with columns "
                                     f"{['episode_index', 'frame_index', *columns]} ({exc})") from None
        if table.num_rows:
            rows.append(table)
    if not rows:
        raise DatasetFormatError(f"{root}: episode {episode} not found (episodes: {info.get('total_episodes')})")
    order = np.argsort(np.concatenate([t["frame_index"].to_numpy() for t in rows]), kind="stable")
    out = {}
    for c in columns:
        try:
            out[c] = real_array([v for t in rows for v in t[c].to_pylist()], f"{root}: column {c}")[order]
        except InputError as exc:
            raise DatasetFormatError(str(exc)) from None
    return out


def check_finalized(root: str | Path) -> dict:
    """What ``LeRobotDataset`` needs before it would fall back to the hub (and fail with a network error)."""
    root = Path(root)
    info = read_info(root)
    for pattern, what in (("meta/tasks.parquet", "the task table"), ("meta/episodes/*/*.parquet", "episode metadata"),
                          ("data/*/*.parquet", "data files")):
        if not any(root.glob(pattern)):
            raise DatasetFormatError(f"{root}: expected {what} ({pattern}), found none; was the dataset finalized?")
    return info


@contextlib.contextmanager
def lerobot_errors(root: Path):
    """lerobot, ``datasets``, pyarrow and PyAV raise untyped errors on broken files: one line naming the dataset."""
    import av
    import pyarrow as pa
    from datasets.exceptions import DatasetGenerationError

    quiet = logging.getLogger("datasets")  # it logs each broken file (twice) before raising; we say it once
    level = quiet.level
    quiet.setLevel(logging.CRITICAL + 1)
    try:
        yield
    except (KeyError, ValueError, TypeError, IndexError, OSError, pa.ArrowException, DatasetGenerationError,
            av.FFmpegError) as exc:
        cause = exc.__cause__ or exc
        raise DatasetFormatError(f"{root}: not a readable LeRobot v3 dataset ({type(cause).__name__}: "
                                 f"{' '.join(str(cause).split())[:200]})") from None
    finally:
        quiet.setLevel(level)
