"""Read columns of one episode of a LeRobot v3 directory straight from its parquet files.

lerobot 0.6.1's ``LeRobotDataset`` refuses datasets whose ``info.json`` declares scalar (shape ``[]``) features —
the Cosmos cookbook's DROID example does — and decodes videos we do not need for actions. Actions only need a few
tabular columns, so we read ``meta/info.json`` and the episode's rows from ``data/`` with pyarrow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cosmos_robotics.errors import DatasetFormatError


def read_info(root: str | Path) -> dict:
    path = Path(root) / "meta" / "info.json"
    if not path.is_file():
        raise DatasetFormatError(f"{root}: expected a LeRobot v3 directory with meta/info.json, found none")
    info = json.loads(path.read_text())
    if info.get("codebase_version") != "v3.0":
        raise DatasetFormatError(f"{root}: expected LeRobot codebase_version v3.0, got {info.get('codebase_version')!r}")
    return info


def read_episode_columns(root: str | Path, columns: list[str], episode_index: int = 0) -> dict[str, np.ndarray]:
    """``{column: array [frames, ...]}`` of one episode, rows in frame order."""
    root = Path(root)
    info = read_info(root)
    missing = [c for c in columns if c not in info["features"]]
    if missing:
        raise DatasetFormatError(f"{root}: missing features {missing}; available: {sorted(info['features'])}")
    files = sorted((root / "data").glob("chunk-*/file-*.parquet"))
    if not files:
        raise DatasetFormatError(f"{root}: no parquet files under data/")
    tables = [pq.read_table(f, columns=["episode_index", "frame_index", *columns]) for f in files]
    rows = [t.filter(pc.equal(t["episode_index"], episode_index)) for t in tables]
    rows = [t for t in rows if t.num_rows]
    if not rows:
        raise DatasetFormatError(f"{root}: episode {episode_index} not found (episodes: {info.get('total_episodes')})")
    order = np.argsort(np.concatenate([t["frame_index"].to_numpy() for t in rows]))
    return {c: np.asarray([v for t in rows for v in t[c].to_pylist()], dtype=np.float64)[order] for c in columns}
