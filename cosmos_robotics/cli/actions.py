"""``cosmos-robotics actions encode|decode``: robot data <-> Cosmos 3 model-space action chunks."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from cosmos_robotics.data.lerobot_reader import read_episode_columns
from cosmos_robotics.embodiments import PoseAdapter, get_adapter
from cosmos_robotics.errors import DatasetFormatError, InputError
from cosmos_robotics.inputs import json_object, parse_json, read_array_file, read_file, real_array


def register(sub) -> None:
    from cosmos_robotics.cli import add_command
    from cosmos_robotics.embodiments import available_adapters

    parser = sub.add_parser("actions", help="encode robot data into model-space chunks, or decode them back")
    actions = parser.add_subparsers(dest="actions_command", required=True, metavar="ACTION")

    enc = add_command(
        actions, "encode", "robot data -> model-space [T, D]",
        "Encodes a window of robot data (a LeRobot v3 episode's columns, or absolute poses + gripper) into the\n"
        "exact model-space chunk the Cosmos 3 embodiment was trained on; values clamped by the normalization are\n"
        "reported. The output file is what `fd --actions` and `actions decode` read.",
        "cosmos-robotics actions encode --embodiment droid --lerobot datasets/cosmos3_cookbook/droid_lerobot_example "
        "--out chunk.json")
    enc.add_argument("--embodiment", required=True, help=f"action contract: {', '.join(available_adapters())} (or a Cosmos 3 domain name)")
    source = enc.add_mutually_exclusive_group(required=True)
    source.add_argument("--lerobot", type=Path, help="LeRobot v3 dataset directory")
    source.add_argument("--poses", type=Path, help='JSON {"poses": [T+1 x 4x4], "gripper": [T]} or .npy [T+1,4,4]')
    enc.add_argument("--episode", type=int, default=0, help="episode index in the --lerobot dataset")
    enc.add_argument("--start", type=int, default=0, help="first frame of the window")
    enc.add_argument("--length", type=int, help="actions in the window (default: the preset chunk size)")
    enc.add_argument("--out", type=Path, help=".json or .npy (default: JSON on stdout)")
    enc.set_defaults(func=run_encode)

    dec = add_command(
        actions, "decode", "model-space actions [T, D] -> absolute poses / joint targets + gripper",
        "Decodes model-space actions back into what a robot executes: absolute poses from --initial-pose (the\n"
        "identity when not given: then the poses are relative to where the actions start) or absolute joint\n"
        "targets, plus the gripper in the robot's convention. Actions longer than one chunk (a rollout, `id`\n"
        "over a long video) are decoded chunk after chunk, each from where the previous one ended.",
        "cosmos-robotics actions decode --embodiment droid chunk.json --plot chunk.png --out command.json")
    dec.add_argument("--embodiment", required=True, help=f"action contract: {', '.join(available_adapters())} (or a Cosmos 3 domain name)")
    dec.add_argument("file", type=Path,
                     help='.npy, or JSON [[...]] / {"actions": [[...]]} (what `actions encode`, `fd` and `id` write)')
    dec.add_argument("--initial-pose", type=Path, help='JSON 4x4 / {"pose": 4x4} or .npy start pose (default identity)')
    dec.add_argument("--out", type=Path, help="JSON output (default: stdout)")
    dec.add_argument("--plot", type=Path, help="PNG of the decoded trajectory")
    dec.set_defaults(func=run_decode)


def read_poses(path: Path, with_gripper: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``.npy`` poses, or JSON ``{"poses": [...], "gripper": [...]}`` (``gripper`` only for embodiments with one)."""
    if path.suffix.lower() == ".npy":
        if with_gripper:
            raise InputError(f"poses {path.name}", 'JSON {"poses": ..., "gripper": ...} (this embodiment has a '
                             "gripper; an .npy holds only poses)", "an .npy file")
        return read_array_file(path, "poses", shape=(None, 4, 4)), None
    if path.suffix.lower() != ".json":
        raise InputError("poses", "a .json or .npy file", repr(path.name))
    data = json_object(parse_json(read_file(path, "poses"), f"poses {path.name}"), f"poses {path.name}")
    keys = ("poses", "gripper") if with_gripper else ("poses",)
    if missing := [k for k in keys if k not in data]:
        raise InputError(f"poses {path.name}", f"keys {list(keys)}", f"keys {sorted(data)[:8]} (missing {missing})")
    poses = real_array(data["poses"], f"poses {path.name}['poses']", (None, 4, 4))
    gripper = real_array(data["gripper"], f"poses {path.name}['gripper']", (None,)) if with_gripper else None
    return poses, gripper


def emit(payload: dict, out: Path | None, what: str) -> None:
    """JSON to stdout, or to ``out`` through a temporary file (never a half-written output), saying so on stderr
    (stdout stays machine-readable)."""
    text = json.dumps(payload)
    if out is None:
        sys.stdout.write(text + "\n")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, out)
    print(f"wrote {out} ({what})", file=sys.stderr)


def run_encode(args) -> int:
    adapter = get_adapter(args.embodiment)
    if args.lerobot is not None:
        if not isinstance(adapter, PoseAdapter) or not adapter.lerobot_columns:
            raise DatasetFormatError(f"embodiment {adapter.name!r} has no LeRobot column mapping; use --poses")
        columns = read_episode_columns(args.lerobot, list(adapter.lerobot_columns), args.episode)
        actions = adapter.encode_lerobot_window(columns, args.start, args.length)
    elif not isinstance(adapter, PoseAdapter):
        raise DatasetFormatError(f"embodiment {adapter.name!r} is not pose-based: it has no --poses encoding")
    else:
        actions = adapter.encode_poses(*read_poses(args.poses, adapter.has_gripper))
    what = f"{adapter.name} model-space actions {list(actions.shape)}"
    if args.out is not None and args.out.suffix == ".npy":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(f".{args.out.name}.partial.npy")
        np.save(tmp, actions.astype(np.float32))
        os.replace(tmp, args.out)
        print(f"wrote {args.out} ({what})", file=sys.stderr)
    else:
        emit({"embodiment": adapter.name, "domain_name": adapter.domain_name, "shape": list(actions.shape),
              "actions": actions.tolist()}, args.out, what)
    return 0


def run_decode(args) -> int:
    adapter = get_adapter(args.embodiment)
    initial = None
    if args.initial_pose is not None:
        initial = read_array_file(args.initial_pose, "initial pose", key="pose", shape=(4, 4))
    actions = read_array_file(args.file, "actions", key="actions", shape=(None, None))
    command = adapter.decode_rollout(actions, initial)
    if args.plot is not None and command.poses is None:
        raise DatasetFormatError(f"--plot needs poses; {adapter.name!r} decodes to joint targets")
    emit(command.to_json(), args.out, f"{adapter.name} robot command for {len(actions)} actions")
    if args.plot is not None:
        from cosmos_robotics.viz import plot_trajectories

        plot_trajectories({args.file.stem: command.poses}, args.plot, title=f"{adapter.name}: {command.frame}")
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
