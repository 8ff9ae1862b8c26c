"""LeRobot v3 export: one crash-safe writer for simulated, replayed and world-model-generated episodes."""

from cosmos_robotics.export.episode import (
    ACTION_KEY,
    IMAGE_PREFIX,
    MODEL_ACTION_KEY,
    STATE_KEY,
    SUCCESS_KEY,
    DatasetSpec,
    EpisodeRecord,
)
from cosmos_robotics.export.provenance import EpisodeNote, Provenance, read_provenance
from cosmos_robotics.export.writer import LeRobotEpisodeWriter, default_repo_id

__all__ = [
    "ACTION_KEY",
    "IMAGE_PREFIX",
    "MODEL_ACTION_KEY",
    "STATE_KEY",
    "SUCCESS_KEY",
    "DatasetSpec",
    "EpisodeNote",
    "EpisodeRecord",
    "LeRobotEpisodeWriter",
    "Provenance",
    "default_repo_id",
    "read_provenance",
]
