"""One observation (camera images + state + task) of a LeRobot v3 dataset, read through LeRobot itself.

Used to start a world-model env or a replay from a recorded frame: the images come back as uint8 ``H x W x 3``
under LeRobot keys (``observation.images.<camera>``), the state as ``observation.state``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cosmos_robotics.data.video_backend import video_backend
from cosmos_robotics.errors import DatasetFormatError

IMAGE_PREFIX, STATE_KEY = "observation.images.", "observation.state"


def read_observation(dataset: str | Path, episode: int, frame: int, cameras: tuple[str, ...]) -> tuple[dict, str]:
    """``(observation, task)`` of frame ``frame`` of episode ``episode`` of the dataset at ``dataset``."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(dataset)
    if not (root / "meta" / "info.json").is_file():
        raise DatasetFormatError(f"{root}: expected a LeRobot v3 dataset (meta/info.json), found none")
    try:
        loaded = LeRobotDataset(f"local/{root.name}", root=root, video_backend=video_backend()[0])
    except (ValueError, KeyError, OSError) as exc:
        raise DatasetFormatError(f"{root}: expected a LeRobot v3 dataset LeRobot can read, got: {exc}") from None
    episodes = loaded.meta.episodes
    if not 0 <= episode < len(episodes):
        raise DatasetFormatError(f"{root}: expected an episode index in 0..{len(episodes) - 1}, got {episode}")
    length = int(episodes[episode]["length"])
    if not 0 <= frame < length:
        raise DatasetFormatError(f"{root}: expected a frame index in 0..{length - 1} of episode {episode}, got {frame}")
    missing = [IMAGE_PREFIX + c for c in cameras if IMAGE_PREFIX + c not in loaded.meta.features]
    if missing or STATE_KEY not in loaded.meta.features:
        raise DatasetFormatError(f"{root}: expected features {', '.join(IMAGE_PREFIX + c for c in cameras)} and "
                                 f"{STATE_KEY}; missing {', '.join(missing) or STATE_KEY}")
    item = loaded[int(episodes[episode]["dataset_from_index"]) + frame]
    observation = {IMAGE_PREFIX + c: (item[IMAGE_PREFIX + c].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                   for c in cameras}
    observation[STATE_KEY] = item[STATE_KEY].numpy().astype(np.float32)
    return observation, str(item.get("task", ""))
