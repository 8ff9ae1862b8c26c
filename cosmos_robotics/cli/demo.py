"""``cosmos-robotics demo``: the main job on the bundled data, with no GPU and no download.

Until the embedded world model ships, the demo runs the embodiment adapters on the real Cosmos cookbook data:
it decodes the published AV and UMI model-space chunks, encodes the DROID episode window by window and decodes it
back, and writes plots and a ``summary.json`` that a person can check against the published numbers.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cosmos_robotics.data.lerobot_reader import read_episode_columns
from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.errors import ClampWarning, DatasetFormatError
from cosmos_robotics.viz import plot_trajectories

REPO_DATA = Path(__file__).resolve().parents[2] / "datasets" / "cosmos3_cookbook"


def register(sub) -> None:
    parser = sub.add_parser("demo", help="run the main job on the bundled data (CPU, offline)")
    parser.add_argument("--out", type=Path, default=Path("outputs/demo"))
    parser.add_argument("--data", type=Path, default=REPO_DATA, help="the cookbook sample data directory")
    parser.set_defaults(func=run)


def run(args) -> int:
    if not (args.data / "actions").is_dir():
        raise DatasetFormatError(f"{args.data}: cookbook sample data not found (pass --data DIR from a repo clone)")
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    summary: dict = {"av": {}, "umi": {}, "droid": {}}

    av = get_adapter("av")
    trajectories = {}
    for name in ("av_traj_forward", "av_traj_left", "av_traj_right"):
        poses = av.decode(np.asarray(json.loads((args.data / "actions" / f"{name}.json").read_text()))).poses
        trajectories[name] = poses
        summary["av"][name] = {"end_xyz_m": poses[-1, :3, 3].round(3).tolist()}
    plot_trajectories(trajectories, args.out / "av_trajectories.png", "AV: decoded cookbook chunks (OpenCV frame)",
                      axes=(0, 1, 2))

    umi = get_adapter("umi")
    command = umi.decode(np.asarray(json.loads((args.data / "actions" / "umi.json").read_text())))
    raw = umi.denormalize(np.asarray(json.loads((args.data / "actions" / "umi.json").read_text())))
    summary["umi"] = {"steps": len(command.gripper), "path_length_m": float(np.linalg.norm(
        np.diff(command.poses[:, :3, 3], axis=0), axis=1).sum()), "gripper_width_m": [float(raw[:, 9].min()),
                                                                                      float(raw[:, 9].max())]}
    plot_trajectories({"umi": command.poses}, args.out / "umi_trajectory.png", "UMI: decoded cookbook chunk")

    droid = get_adapter("droid")
    columns = read_episode_columns(args.data / "droid_lerobot_example", list(droid.lerobot_columns))
    cartesian = columns[droid.lerobot_columns[0]]
    chunk = droid.preset.chunk_size
    starts = range(0, len(cartesian) - chunk, chunk)
    decoded, errors, clamped = [cartesian[:1, :3]], [], 0
    for s in tqdm(starts, desc="DROID windows", unit="chunk"):
        window = {k: v[s : s + chunk + 1] for k, v in columns.items()}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ClampWarning)
            actions = droid.encode_columns(window)
        clamped += sum(w.message.count for w in caught if isinstance(w.message, ClampWarning))
        poses = droid.decode_from_cartesian(actions, cartesian[s]).poses
        errors.append(float(np.abs(poses[:, :3, 3] - cartesian[s : s + chunk + 1, :3]).max()))
        decoded.append(poses[1:, :3, 3])
    summary["droid"] = {"frames": len(cartesian), "windows": len(starts), "max_window_position_error_m": max(errors),
                        "clamped_values": clamped,
                        "note": "position error comes from the cookbook's [-1, 1] clamp on fast motions"}
    recorded = droid.poses_from_cartesian(cartesian)
    chained = recorded[: len(np.concatenate(decoded))].copy()
    chained[:, :3, 3] = np.concatenate(decoded)
    plot_trajectories({"recorded": recorded, "encoded->decoded": chained}, args.out / "droid_trajectory.png",
                      "DROID episode: recorded vs encode->decode per 16-step window")
    summary["seconds"] = time.perf_counter() - start
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}/summary.json and 3 trajectory plots")
    return 0
