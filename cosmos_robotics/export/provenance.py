"""Where a dataset came from, stored beside LeRobot's own metadata in ``meta/cosmos_robotics.json``.

LeRobot 0.6.1 parses ``meta/info.json`` into a fixed dataclass: unknown keys are logged as a warning and dropped
the next time LeRobot rewrites the file (every ``save_episode``), so provenance cannot live there. LeRobot only
reads ``info.json``, ``stats.json``, ``tasks.parquet`` and ``episodes/`` under ``meta/`` and ignores other files,
so a separate JSON file there travels with the dataset (and with ``push_to_hub``) without disturbing loaders.
The file also keeps per-episode facts LeRobot has no column for: the seed that reproduces the episode and
whether it succeeded.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cosmos_robotics import __version__
from cosmos_robotics.errors import DatasetFormatError

PROVENANCE_PATH = Path("meta") / "cosmos_robotics.json"


@dataclass(frozen=True)
class Provenance:
    """How the episodes were made. ``params`` holds generator settings needed to reproduce or resume them."""

    generator: str  # e.g. "sim:cosmos_robotics/SimDroid-v0", "replay", "world_model"
    synthetic: bool
    seed: int | None = None
    backend: str | None = None
    checkpoint: str | None = None
    params: dict = field(default_factory=dict)
    toolkit_version: str = __version__

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def reproducibility_key(self) -> dict:
        """Everything that must match for new episodes to belong to the same dataset (not the toolkit version)."""
        return {k: v for k, v in self.to_dict().items() if k != "toolkit_version"}


@dataclass(frozen=True)
class EpisodeNote:
    """Per-episode facts beside LeRobot's episode table (same ``episode_index``)."""

    episode_index: int
    length: int
    success: bool
    seed: int | None


def read_provenance(root: Path) -> tuple[Provenance, list[EpisodeNote]]:
    path = Path(root) / PROVENANCE_PATH
    try:
        raw = json.loads(path.read_text())
        prov = Provenance(**raw["provenance"])
        notes = [EpisodeNote(**e) for e in raw["episodes"]]
    except FileNotFoundError:
        raise DatasetFormatError(f"{path}: expected a cosmos-robotics provenance file, found none") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DatasetFormatError(f"{path}: expected provenance JSON with 'provenance' and 'episodes', got {exc}") from None
    return prov, notes


def write_provenance(root: Path, provenance: Provenance, notes: list[EpisodeNote]) -> None:
    """Write via a temporary file + rename so the file is never seen half-written."""
    path = Path(root) / PROVENANCE_PATH
    tmp = path.with_suffix(".json.tmp")
    payload = {"provenance": provenance.to_dict(), "episodes": [dataclasses.asdict(n) for n in notes]}
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)
