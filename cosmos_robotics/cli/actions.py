"""``cosmos-robotics actions encode|decode``: robot data <-> Cosmos 3 model-space action chunks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from cosmos_robotics.data.lerobot_reader import read_episode_columns
from cosmos_robotics.embodiments import PoseAdapter, get_adapter
from cosmos_robotics.errors import DatasetFormatError


def register(sub) -> None:
    parser = sub.add_parser("actions", help="encode robot data into model-space chunks, or decode them back")
    actions = parser.add_subparsers(dest="actions_command", required=True, metavar="ACTION")

    enc = actions.add_parser("encode", help="robot data -> model-space [T, D]")
    enc.add_argument("--embodiment", required=True)
    source = enc.add_mutually_exclusive_group(required=True)
    source.add_argument("--lerobot", type=Path, help="LeRobot v3 dataset directory")
    source.add_argument("--poses", type=Path, help='JSON {"poses": [T+1 x 4x4], "gripper": [T]} or .npy [T+1,4,4]')
    enc.add_argument("--episode", type=int, default=0)
    enc.add_argument("--start", type=int, default=0, help="first frame of the window")
    enc.add_argument("--length", type=int, help="actions in the window (default: the preset chunk size)")
    enc.add_argument("--out", type=Path, help=".json or .npy (default: JSON on stdout)")
    enc.set_defaults(func=run_encode)

    dec = actions.add_parser("decode", help="model-space [T, D] -> absolute poses / joint targets + gripper")
    dec.add_argument("--embodiment", required=True)
    dec.add_argument("file", type=Path, help='.npy, or JSON [[...]] / {"actions": [[...]]}')
    dec.add_argument("--initial-pose", type=Path, help="JSON/.npy 4x4 start pose (default identity)")
    dec.add_argument("--out", type=Path, help="JSON output (default: stdout)")
    dec.add_argument("--plot", type=Path, help="PNG of the decoded trajectory")
    dec.set_defaults(func=run_decode)


def load_array(path: Path, key: str) -> np.ndarray:
    if not path.is_file():
        raise DatasetFormatError(f"{path} does not exist")
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(data, dict):
        if key not in data:
            raise DatasetFormatError(f"{path}: expected key {key!r}, found {sorted(data)}")
        data = data[key]
    return np.asarray(data, dtype=np.float64)


def emit(payload: dict, out: Path | None) -> None:
    text = json.dumps(payload)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


def run_encode(args) -> int:
    adapter = get_adapter(args.embodiment)
    if args.lerobot is not None:
        if not isinstance(adapter, PoseAdapter) or not adapter.lerobot_columns:
            raise DatasetFormatError(f"embodiment {adapter.name!r} has no LeRobot column mapping; use --poses")
        columns = read_episode_columns(args.lerobot, list(adapter.lerobot_columns), args.episode)
        actions = adapter.encode_lerobot_window(columns, args.start, args.length)
    else:
        gripper = load_array(args.poses, "gripper") if adapter.has_gripper else None
        actions = adapter.encode_poses(load_array(args.poses, "poses"), gripper)
    if args.out is not None and args.out.suffix == ".npy":
        np.save(args.out, actions.astype(np.float32))
    else:
        emit({"embodiment": adapter.name, "domain_name": adapter.domain_name, "shape": list(actions.shape),
              "actions": actions.tolist()}, args.out)
    return 0


def run_decode(args) -> int:
    adapter = get_adapter(args.embodiment)
    initial = None if args.initial_pose is None else load_array(args.initial_pose, "pose")
    command = adapter.decode(load_array(args.file, "actions"), initial)
    emit(command.to_json(), args.out)
    if args.plot is not None:
        if command.poses is None:
            raise DatasetFormatError(f"--plot needs poses; {adapter.name!r} decodes to joint targets")
        from cosmos_robotics.viz import plot_trajectories

        plot_trajectories({args.file.stem: command.poses}, args.plot, title=f"{adapter.name}: {command.frame}")
    return 0
