"""``cosmos-robotics dataset inspect``: what a LeRobot v3 dataset holds, read back through lerobot itself.

Prints the features, episode/frame counts, tasks, provenance and success rate (from ``meta/cosmos_robotics.json``
when the dataset was written by this toolkit), and optionally saves a contact sheet: one row per episode, for each
camera the first, middle and last frame, so a person sees at a glance what was recorded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cosmos_robotics.data.lerobot_reader import check_finalized, lerobot_errors
from cosmos_robotics.data.video_backend import video_backend
from cosmos_robotics.errors import DatasetFormatError
from cosmos_robotics.export import IMAGE_PREFIX, default_repo_id
from cosmos_robotics.export.provenance import PROVENANCE_PATH, read_provenance

SHEET_EPISODES = 6
SHEET_POSITIONS = (0.0, 0.5, 1.0)  # fraction of the episode


def register(sub) -> None:
    ds = sub.add_parser("dataset", help="LeRobot v3 datasets").add_subparsers(dest="dataset_command", required=True)
    inspect = ds.add_parser("inspect", help="features, episodes, success rate, contact sheet")
    inspect.add_argument("root", type=Path, help="dataset directory")
    inspect.add_argument("--sheet", type=Path, help="write a contact-sheet PNG of frames here")
    inspect.set_defaults(func=inspect_dataset)


def load_dataset(root: Path):
    """The dataset through lerobot itself, after our own checks of what it would trip over with a traceback."""
    check_finalized(root)
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    with lerobot_errors(root):
        return LeRobotDataset(default_repo_id(root), root=root, video_backend=video_backend()[0])


def inspect_dataset(args) -> int:
    dataset = load_dataset(args.root)
    meta = dataset.meta
    print(f"dataset   {args.root}  (LeRobot {meta.info.codebase_version}, {meta.fps} fps, robot {meta.robot_type})")
    print(f"episodes  {meta.total_episodes}, frames {meta.total_frames}")
    backend, why = video_backend()
    print(f"video     decoded with {backend} ({why})")
    print("features")
    for name, feature in meta.features.items():
        print(f"  {name:<34} {feature['dtype']:<8} {list(feature['shape'])}")
    print("tasks     " + "; ".join(meta.tasks.index) if meta.tasks is not None else "tasks     (none)")
    if (args.root / PROVENANCE_PATH).is_file():
        provenance, notes = read_provenance(args.root)
        print(f"provenance {provenance.to_dict()}")
        if notes:
            rate = np.mean([n.success for n in notes])
            print(f"success   {sum(n.success for n in notes)}/{len(notes)} = {rate:.1%}")
    if args.sheet:
        with lerobot_errors(args.root):
            write_contact_sheet(dataset, args.sheet)
        print(f"sheet     {args.sheet}")
    return 0


def write_contact_sheet(dataset, path: Path) -> Path:
    """Rows = episodes (up to ``SHEET_EPISODES``), columns = cameras x first/middle/last frame."""
    from PIL import Image

    cameras = [k for k in dataset.meta.features if k.startswith(IMAGE_PREFIX)]
    if not cameras:
        raise DatasetFormatError(f"{dataset.root}: no camera features to draw a contact sheet from")
    rows = []
    for ep in range(min(SHEET_EPISODES, dataset.meta.total_episodes)):
        info = dataset.meta.episodes[ep]
        first, last = info["dataset_from_index"], info["dataset_to_index"] - 1
        tiles = []
        for pos in SHEET_POSITIONS:
            item = dataset[int(round(first + pos * (last - first)))]
            tiles += [(item[cam].numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8) for cam in cameras]
        height = max(t.shape[0] for t in tiles)
        rows.append(np.concatenate([np.pad(t, ((0, height - t.shape[0]), (0, 2), (0, 0))) for t in tiles], axis=1))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path)
    return path
