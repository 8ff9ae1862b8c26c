"""``cosmos-robotics fd`` (forward dynamics: frame + actions -> video) and ``id`` (video -> actions).

Both write ``--out DIR/video.mp4``, ``actions.json`` (model space under ``actions``, what ``fd --actions`` and
``actions decode`` read, and robot space through the embodiment adapter) and ``trajectory.png``. ``fd --dataset``
starts from a recorded frame (its camera views, composed by the backend, and its ``observation.state``), which is
what the embedded backend needs. ``--fixture`` uses the bundled cookbook assets of the embodiment:

* AV: ``images/av_0.jpg`` + ``actions/av_traj_forward.json`` (FD), ``videos/av_0.mp4`` (ID);
* UMI: ``images/umi.png`` + ``actions/umi.json`` (two 16-step chunks -> a rollout), ``videos/umi.mp4`` (ID);
* DROID: the example episode has only the ``exterior_image_2_left`` camera, so the ``concat_view`` input puts it
  in its slot (bottom right, half size) and leaves the wrist (top) and exterior-1 (bottom left) slots black;
  FD actions are the episode's first two chunks encoded through the ``droid`` adapter, and decoded poses start at
  the episode's first flange pose, plotted against the recorded ones.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.errors import ActionContractError, DatasetFormatError
from cosmos_robotics.inputs import read_array_file

COOKBOOK = Path(__file__).resolve().parents[2] / "datasets" / "cosmos3_cookbook"
DROID_EXAMPLE = COOKBOOK / "droid_lerobot_example"
DROID_EXTERIOR_2 = DROID_EXAMPLE / "videos/observation.image.exterior_image_2_left/chunk-000/file-000.mp4"
FIXTURE_CHUNKS = 2  # DROID / UMI fixtures: two chunks, i.e. a rollout


@dataclass
class Inputs:
    frames: np.ndarray | None  # uint8 [F, H, W, 3]; None: composed from ``views`` by the backend
    actions: np.ndarray | None = None  # model space [T, D] (FD)
    initial_pose: np.ndarray | None = None
    reference_poses: np.ndarray | None = None  # recorded poses to plot against
    state: np.ndarray | None = None  # the state row a state-conditioned backend needs (FD)
    views: dict[str, np.ndarray] | None = None  # camera views of a recorded frame (fd --dataset)


def register(subparsers) -> None:
    from cosmos_robotics.cli import add_command
    from cosmos_robotics.embodiments import available_adapters
    from cosmos_robotics.world_models.factory import available_backends

    for name, handler, summary, example in (
        ("fd", _run_fd, "forward dynamics: a frame and model-space actions -> predicted video",
         "cosmos-robotics fd --backend diffusers --checkpoint /tmp/tiny --embodiment av --fixture "
         "--num-inference-steps 2 --out out/fd"),
        ("id", _run_id, "inverse dynamics: a video -> model-space and robot-space actions",
         "cosmos-robotics id --backend diffusers --checkpoint /tmp/tiny --embodiment av --video out/fd/video.mp4 "
         "--num-inference-steps 2 --out out/id"),
    ):
        parser = add_command(
            subparsers, name, summary,
            f"{summary[0].upper()}{summary[1:]}, through any backend. Writes under --out video.mp4 (ID: when\n"
            "the backend generates one), actions.json (model space under \"actions\", as `actions encode` writes\n"
            "it, and robot space through the embodiment adapter) and trajectory.png. --fixture runs on the\n"
            "cookbook sample data of a repository clone. The embedded backend models the DROID simulator task:\n"
            "three 128 px views (stacked 384x128, as in its videos) and, for FD, the robot state: start FD from a\n"
            "recorded frame with --dataset (a `sim record` or `rollout --record` dataset) or give --image and\n"
            "--state. Frames come back at the size the model keeps (diffusers rounds down to multiples of 16:\n"
            "360 rows -> 352); a changed size is reported.",
            example)
        parser.add_argument("--embodiment", required=True, help=f"action contract: {', '.join(available_adapters())} (or a Cosmos 3 domain name)")
        parser.add_argument("--backend", default="diffusers", choices=available_backends(), help="world-model backend")
        parser.add_argument("--checkpoint", help="model id, local directory or server URL (default: the backend's)")
        parser.add_argument("--device", help="e.g. cuda, cuda:1, cpu (default: CUDA when available)")
        parser.add_argument("--num-inference-steps", type=_positive_int,
                            help="denoising steps (default: the embodiment preset; the tiny checkpoint on a CPU "
                                 "wants 2-4)")
        parser.add_argument("--seed", type=int, default=0, help="sampling seed (chunk k of a rollout uses seed + k)")
        parser.add_argument("--prompt", help="text prompt (default: the embodiment preset)")
        parser.add_argument("--video", type=Path, help="input video (FD: its first frame is the condition)")
        if name == "fd":
            parser.add_argument("--image", type=Path, help="conditioning image")
            parser.add_argument("--dataset", type=Path,
                                help="LeRobot v3 dataset to start from: the camera views and observation.state of "
                                     "--frame of --episode")
            parser.add_argument("--episode", type=int, default=0, help="with --dataset: episode index")
            parser.add_argument("--frame", type=int, default=0, help="with --dataset: frame index in the episode")
            parser.add_argument("--state", type=Path,
                                help='state row for state-conditioned backends, .json [...] / {"state": [...]} or '
                                     ".npy (embedded: SimDroid observation.state [14])")
            parser.add_argument("--actions", type=Path,
                                help="model-space actions [T, D]: .npy, JSON [[...]] / {\"actions\": [[...]]} "
                                     "(what `actions encode` and `id` write)")
        parser.add_argument("--fixture", action="store_true", help="use the bundled cookbook assets")
        parser.add_argument("--out", type=Path, required=True, help="output directory")
        parser.set_defaults(func=handler)


# -- inputs -----------------------------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"expected an integer in 1..10000, got {text!r}")
    return value


def _check_out(out: Path) -> None:
    """Fail before loading a model, not after generating: ``--out`` must be a directory we can create."""
    if out.exists() and not out.is_dir():
        raise DatasetFormatError(f"--out {out}: expected a directory (or a new path), found a file")


def _read_actions(path: Path) -> np.ndarray:
    """Model-space ``[T, D]``: ``.npy``, or JSON ``[[...]]`` / ``{"actions": [[...]]}`` (checked by the input layer)."""
    return read_array_file(path, "actions", key="actions", shape=(None, None))


def _droid_fixture(adapter, num_frames: int, num_actions: int) -> Inputs:
    from cosmos_robotics.data.lerobot_reader import read_episode_columns
    from cosmos_robotics.embodiments.droid import compose_concat_view
    from cosmos_robotics.media import read_video

    exterior_2 = read_video(DROID_EXTERIOR_2, max_frames=num_frames)
    black = np.zeros_like(exterior_2)
    frames = compose_concat_view(black, black, exterior_2)
    columns = read_episode_columns(DROID_EXAMPLE, list(adapter.lerobot_columns))
    poses = adapter.poses_from_cartesian(columns[adapter.lerobot_columns[0]])
    actions = adapter.encode_lerobot_window(columns, start=0, length=num_actions) if num_actions else None
    span = max(num_actions, num_frames - 1) + 1
    return Inputs(frames, actions, initial_pose=poses[0], reference_poses=poses[:span])


def _droid_fixture_for(adapter, mode: str) -> Inputs:
    chunk = adapter.preset.chunk_size
    if mode == "fd":
        return _droid_fixture(adapter, 1, FIXTURE_CHUNKS * chunk)
    return _droid_fixture(adapter, FIXTURE_CHUNKS * chunk + 1, 0)


def _asset_fixture(image: str, actions: str, video: str, chunks: int):
    """A cookbook image + action file (FD) or video of ``chunks`` chunks (ID)."""
    def load(adapter, mode: str) -> Inputs:
        from cosmos_robotics.media import read_image, read_video

        if mode == "fd":
            return Inputs(read_image(COOKBOOK / image)[None], _read_actions(COOKBOOK / actions))
        return Inputs(read_video(COOKBOOK / video, max_frames=chunks * adapter.preset.chunk_size + 1))
    return load


def _dataset_start(root: Path, episode: int, frame: int, adapter, actions: np.ndarray) -> Inputs:
    """A recorded frame: its camera views (the backend composes them into its input), its state and, for an
    embodiment that reads the flange pose off the state (SimDroid's first six entries), the pose decoding starts at."""
    from cosmos_robotics.data.lerobot_frames import IMAGE_PREFIX, STATE_KEY, read_observation

    observation, _ = read_observation(root, episode, frame, adapter.cameras)
    state = observation[STATE_KEY]
    from_cartesian = getattr(adapter, "poses_from_cartesian", None)
    initial = None if from_cartesian is None else from_cartesian(state[None, :6].astype(np.float64))[0]
    return Inputs(None, actions, initial_pose=initial, state=state,
                  views={c: observation[IMAGE_PREFIX + c] for c in adapter.cameras})


FIXTURES = {  # embodiment -> the bundled cookbook sample it runs on
    "droid": _droid_fixture_for,
    "av": _asset_fixture("images/av_0.jpg", "actions/av_traj_forward.json", "videos/av_0.mp4", 1),
    "umi": _asset_fixture("images/umi.png", "actions/umi.json", "videos/umi.mp4", FIXTURE_CHUNKS),
}


def _fixture(adapter, mode: str) -> Inputs:
    if not COOKBOOK.is_dir():
        raise DatasetFormatError(f"--fixture reads the sample data of a repository clone ({COOKBOOK}), which this "
                                 "installation does not have; pass --image/--video/--actions instead")
    if adapter.name not in FIXTURES:
        raise DatasetFormatError(f"--fixture: bundled assets exist for {', '.join(FIXTURES)}; got {adapter.name!r}")
    return FIXTURES[adapter.name](adapter, mode)


def _inputs(args, adapter, mode: str) -> Inputs:
    from cosmos_robotics.media import read_image, read_video

    _check_out(args.out)
    if args.fixture:
        return _fixture(adapter, mode)
    if mode == "fd":
        if sum(a is not None for a in (args.image, args.video, args.dataset)) != 1 or args.actions is None:
            raise DatasetFormatError("fd: expected --actions and exactly one of --image / --video / --dataset "
                                     "(or --fixture)")
        if args.dataset is not None and args.state is not None:
            raise DatasetFormatError("fd: --dataset brings its own observation.state; expected no --state with it")
        actions = _read_actions(args.actions)
        if args.dataset is not None:
            return _dataset_start(args.dataset, args.episode, args.frame, adapter, actions)
        frames = read_image(args.image)[None] if args.image else read_video(args.video, max_frames=1)
        state = None if args.state is None else read_array_file(args.state, "state", key="state", shape=(None,))
        return Inputs(frames, actions, state=state)
    if args.video is None:
        raise DatasetFormatError("id: expected --video (or --fixture)")
    return Inputs(read_video(args.video))


# -- outputs ----------------------------------------------------------------------------------------------------
def _write_outputs(out: Path, adapter, mode: str, frames, actions, inputs: Inputs, settings, timings) -> None:
    from cosmos_robotics.media import write_video
    from cosmos_robotics.viz import plot_trajectories

    out.mkdir(parents=True, exist_ok=True)
    command = adapter.decode_rollout(actions, inputs.initial_pose)
    if frames is not None:
        write_video(frames, out / "video.mp4", fps=adapter.preset.fps)
    record = {
        "embodiment": adapter.name, "mode": mode, "actions": np.asarray(actions).tolist(),
        "robot": command.to_json(), "settings": settings, "timings": timings,
    }
    tmp = out / ".actions.json.partial"
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, out / "actions.json")
    label = "commanded" if mode == "forward_dynamics" else "predicted"
    trajectories = {label: command.poses}
    if inputs.reference_poses is not None:
        trajectories["recorded"] = inputs.reference_poses[: len(command.poses)]
    axes = adapter.plot_axes
    plot_trajectories(trajectories, out / "trajectory.png", f"{adapter.name} {mode}", axes=axes,
                      labels=tuple("xyz"[i] for i in axes))


def _model(args):
    from cosmos_robotics.world_models.factory import make_world_model

    options = {"device": args.device} if args.device else {}
    return make_world_model(args.backend, args.checkpoint, **options)


def _call_options(args) -> dict:
    options = {"seed": args.seed}
    if args.num_inference_steps is not None:
        options["num_inference_steps"] = args.num_inference_steps
    if args.prompt is not None:
        options["prompt"] = args.prompt
    return options


def _run_fd(args: argparse.Namespace) -> int:
    adapter = get_adapter(args.embodiment)
    adapter.check_mode("forward_dynamics")
    inputs = _inputs(args, adapter, "fd")
    actions = adapter.validate_model_actions(inputs.actions)
    model = _model(args)
    frame = inputs.frames[0] if inputs.views is None else model.compose_frame(adapter.name, inputs.views)
    result = model.rollout(frame, actions, embodiment=adapter.name, state=inputs.state, **_call_options(args))
    _write_outputs(args.out, adapter, "forward_dynamics", result.frames, actions, inputs, result.settings,
                   result.timings)
    _report_frame_size(result.extras)
    print(f"wrote {args.out}/video.mp4 ({len(result.frames)} frames), actions.json, trajectory.png")
    return 0


def _report_frame_size(extras: dict) -> None:
    if "frame_size" in extras:
        (h, w), (oh, ow) = extras["frame_size"]["input"], extras["frame_size"]["output"]
        print(f"note: the model returned {oh}x{ow} frames for the {h}x{w} input (the size it can keep)")


def _run_id(args: argparse.Namespace) -> int:
    """Windows of ``chunk + 1`` frames, each starting on the previous window's last frame; actions concatenated."""
    adapter = get_adapter(args.embodiment)
    adapter.check_mode("inverse_dynamics")
    inputs = _inputs(args, adapter, "id")
    chunk = adapter.preset.chunk_size
    windows = (len(inputs.frames) - 1) // chunk
    if windows < 1:
        raise ActionContractError(adapter.name, "video", f">= {chunk + 1} frames (one chunk)",
                                  f"{len(inputs.frames)} frames")
    model = _model(args)
    options = _call_options(args)
    seed = options.pop("seed")
    frames, actions, timings, result = [], [], {}, None
    for k in tqdm(range(windows), desc="inverse dynamics", unit="chunk"):
        window = inputs.frames[k * chunk : (k + 1) * chunk + 1]
        result = model.inverse_dynamics(window, embodiment=adapter.name, seed=seed + k, **options)
        if result.frames is not None:  # backends that generate a video with the actions (diffusers)
            frames.extend(result.frames if k == 0 else result.frames[1:])
        actions.append(result.actions)
        for key, value in result.timings.items():
            timings[key] = timings.get(key, 0.0) + value
    _write_outputs(args.out, adapter, "inverse_dynamics", np.stack(frames) if frames else None,
                   np.concatenate(actions), inputs, result.settings, timings)
    _report_frame_size(result.extras)
    video = f"{args.out}/video.mp4, " if frames else ""
    print(f"wrote {video}{args.out}/actions.json ({windows * chunk} actions), trajectory.png")
    return 0
