"""Build the committed corpus of malformed CLI inputs: files under ``files/`` and the cases in ``cases.json``.

Run from the repository root (``python tests/data/malformed/make_corpus.py``); the output is deterministic, and
``tests/test_malformed_inputs.py`` runs every case. In ``argv``, ``@NAME`` is a corpus file and ``{tmp}`` a fresh
temporary directory. Each case is expected to exit 2 with exactly one ``error:`` line and no traceback.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

HERE = Path(__file__).parent
FILES = HERE / "files"
EYE = np.eye(4).tolist()
ROT6D = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def write(name: str, data: bytes | str) -> str:
    path = FILES / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return f"@{name}"


def npy(name: str, array: np.ndarray, allow_pickle: bool = False) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return write(name, buffer.getvalue())


def png(width: int, height: int, color: int = 0, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    fill = (color,) * 3 if mode == "RGB" else color
    Image.new(mode, (width, height), fill).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def mp4(frames: int, width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "40", "preset": "ultrafast"}
        black = np.zeros((height, width, 3), np.uint8)
        for _ in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(black, format="rgb24")))
        container.mux(stream.encode())
    return buffer.getvalue()


def dataset(name: str, info, data_table: pa.Table | None | bytes = None, extra: dict | None = None) -> str:
    root = FILES / "datasets" / name
    (root / "meta").mkdir(parents=True, exist_ok=True)
    if info is not None:
        (root / "meta" / "info.json").write_text(info if isinstance(info, str) else json.dumps(info))
    if data_table is not None:
        (root / "data" / "chunk-000").mkdir(parents=True, exist_ok=True)
        target = root / "data" / "chunk-000" / "file-000.parquet"
        if isinstance(data_table, bytes):
            target.write_bytes(data_table)
        else:
            pq.write_table(data_table, target)
    for rel, content in (extra or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    return f"@datasets/{name}"


def droid_info(**overrides) -> dict:
    features = {
        "observation.state.cartesian_position": {"dtype": "float32", "shape": [6], "names": None},
        "action.gripper_position": {"dtype": "float32", "shape": [1], "names": None},
        "episode_index": {"dtype": "int64", "shape": [1], "names": None},
        "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    }
    return {"codebase_version": "v3.0", "fps": 15, "total_episodes": 1, "features": features, **overrides}


def droid_table(rows: int = 20, cartesian=None, gripper=None) -> pa.Table:
    cartesian = cartesian if cartesian is not None else [[0.5, 0.0, 0.3, 3.1, 0.0, 0.0]] * rows
    gripper = gripper if gripper is not None else [0.0] * rows
    return pa.table({"episode_index": [0] * rows, "frame_index": list(range(rows)),
                     "observation.state.cartesian_position": cartesian, "action.gripper_position": gripper})


def main() -> None:
    shutil.rmtree(FILES, ignore_errors=True)
    cases: list[dict] = []

    def case(name: str, *argv: str) -> None:
        cases.append({"name": name, "argv": list(argv)})

    # -- JSON / .npy action files (actions decode; most also through fd --actions) ---------------------------
    bad_arrays = {
        "invalid_utf8": write("actions/invalid_utf8.json", b"\xff\xfe[[1, 2]]"),
        "latin1": write("actions/latin1.json", "[[1, 2]] \u00e9".encode("latin-1")),
        "empty_file": write("actions/empty.json", b""),
        "not_json": write("actions/not_json.json", "hello"),
        "truncated": write("actions/truncated.json", "[[1, 2"),
        "bom": write("actions/bom.json", "\ufeff[[1, 2]]".encode()),
        "deep_100k": write("actions/deep_100k.json", "[" * 100_000 + "]" * 100_000),
        "deep_40": write("actions/deep_40.json", "[" * 40 + "1" + "]" * 40),
        "deep_objects": write("actions/deep_objects.json", '{"a":' * 5000 + "1" + "}" * 5000),
        "huge_int": write("actions/huge_int.json", "[[1" + "0" * 400 + "]]"),
        "huge_float": write("actions/huge_float.json", "[[1e400, 0, 0, 1, 0, 0, 0, 1, 0, 1]]"),
        "nan": write("actions/nan.json", "[[NaN, 0, 0, 1, 0, 0, 0, 1, 0, 1]]"),
        "infinity": write("actions/infinity.json", "[[Infinity, 0, 0, 1, 0, 0, 0, 1, 0, 1]]"),
        "strings": write("actions/strings.json", json.dumps([["a"] * 10])),
        "numeric_strings": write("actions/numeric_strings.json", json.dumps([["1"] * 10])),
        "bools": write("actions/bools.json", json.dumps([[True] * 10])),
        "nulls": write("actions/nulls.json", json.dumps([[None] * 10])),
        "ragged": write("actions/ragged.json", json.dumps([[0.0] * 10, [0.0] * 9])),
        "mixed_nesting": write("actions/mixed_nesting.json", json.dumps([[0.0] * 10, 5])),
        "dict_actions": write("actions/dict_actions.json", json.dumps({"actions": {"a": 1}})),
        "wrong_key": write("actions/wrong_key.json", json.dumps({"acts": [[0.0] * 10]})),
        "scalar": write("actions/scalar.json", "5"),
        "string_top": write("actions/string_top.json", '"actions"'),
        "one_dim": write("actions/one_dim.json", json.dumps([0.0] * 10)),
        "three_dim": write("actions/three_dim.json", json.dumps([[[0.0] * 10]])),
        "empty_list": write("actions/empty_list.json", "[]"),
        "empty_rows": write("actions/empty_rows.json", "[[]]"),
        "wrong_width": write("actions/wrong_width.json", json.dumps([[0.0, 0, 0, *ROT6D]] * 4)),
        "far_rot6d": write("actions/far_rot6d.json", json.dumps([[0.0, 0, 0, 5, 5, 5, 0, 0, 0, 0.5]] * 4)),
        "npy_garbage": write("actions/garbage.npy", bytes(range(256)) * 4),
        "npy_empty": write("actions/empty.npy", b""),
        "npy_truncated": write("actions/truncated.npy", npy_bytes(np.zeros((16, 10)))[:100]),
        "npy_object": npy("actions/object.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True),
        "npy_bool": npy("actions/bool.npy", np.ones((4, 10), dtype=bool)),
        "npy_complex": npy("actions/complex.npy", np.ones((4, 10), dtype=complex)),
        "npy_strings": npy("actions/strings.npy", np.full((4, 10), "ab")),
        "npy_structured": npy("actions/structured.npy", np.zeros(4, dtype=[("a", "f8"), ("b", "f8")])),
        "npy_nan": npy("actions/nan.npy", np.full((4, 10), np.nan)),
        "npy_inf": npy("actions/inf.npy", np.full((4, 10), np.inf)),
        "npy_one_dim": npy("actions/one_dim.npy", np.zeros(10)),
        "npy_three_dim": npy("actions/three_dim.npy", np.zeros((2, 4, 10))),
        "npy_zero_rows": npy("actions/zero_rows.npy", np.zeros((0, 10))),
        "npy_huge_header": write("actions/huge_header.npy", huge_header_npy()),
        "npz_as_npy": write("actions/archive.npy", npz_bytes()),
        "txt_suffix": write("actions/actions.txt", json.dumps([[0.0] * 10])),
        "no_suffix": write("actions/actions", json.dumps([[0.0] * 10])),
    }
    for name, ref in bad_arrays.items():
        case(f"decode_droid_{name}", "actions", "decode", "--embodiment", "droid", ref)
    for name in ("invalid_utf8", "deep_100k", "huge_int", "ragged", "strings", "npy_object", "npy_garbage",
                 "wrong_width", "bools", "npy_nan"):
        if name != "wrong_width":  # 9 wide is av's width
            case(f"decode_av_{name}", "actions", "decode", "--embodiment", "av", bad_arrays[name])
        case(f"decode_umi_{name}", "actions", "decode", "--embodiment", "umi", bad_arrays[name])
    joint_bools = write("actions/joint_bools.json", json.dumps([[True] * 8]))
    case("decode_droid_joint_bools", "actions", "decode", "--embodiment", "droid_joint", joint_bools)
    joint_limit = write("actions/joint_limit.json", json.dumps([[0, 0, 0, -1.0, 0, 1.0, 0, 1]] * 3 +
                                                                [[0, 0, 0, -1.0, 9.0, 1.0, 0, 1]]))
    case("decode_droid_joint_limit", "actions", "decode", "--embodiment", "droid_joint", joint_limit)
    case("decode_droid_joint_gripper", "actions", "decode", "--embodiment", "droid_joint",
         write("actions/joint_gripper.json", json.dumps([[0, 0, 0, -1.0, 0, 1.0, 0, 3]])))
    case("decode_droid_joint_initial_pose", "actions", "decode", "--embodiment", "droid_joint",
         write("actions/joint_ok.json", json.dumps([[0, 0, 0, -1.0, 0, 1.0, 0, 1]])), "--initial-pose",
         write("poses/identity.json", json.dumps(EYE)))
    case("decode_droid_joint_plot", "actions", "decode", "--embodiment", "droid_joint", "@actions/joint_ok.json",
         "--plot", "{tmp}/plot.png")
    good_droid = write("actions/droid_ok.json", json.dumps([[0.0, 0, 0, *ROT6D, 0.5]] * 4))
    initial_poses = {
        "3x3": write("poses/initial_3x3.json", json.dumps(np.eye(3).tolist())),
        "not_rigid": write("poses/initial_not_rigid.json", json.dumps((2 * np.eye(4)).tolist())),
        "strings": write("poses/initial_strings.json", json.dumps([["a"] * 4] * 4)),
        "wrong_key": write("poses/initial_wrong_key.json", json.dumps({"start": EYE})),
        "ragged": write("poses/initial_ragged.json", json.dumps([[1, 0, 0, 0], [0, 1, 0]])),
        "nan": write("poses/initial_nan.json", json.dumps(EYE).replace("1.0", "NaN", 1)),
        "missing": "{tmp}/missing.json",
        "directory": "{tmp}",
    }
    for name, ref in initial_poses.items():
        case(f"decode_initial_pose_{name}", "actions", "decode", "--embodiment", "droid", good_droid,
             "--initial-pose", ref)
    case("decode_missing_file", "actions", "decode", "--embodiment", "droid", "{tmp}/nope.json")
    case("decode_directory", "actions", "decode", "--embodiment", "droid", "{tmp}")
    case("decode_unknown_embodiment", "actions", "decode", "--embodiment", "walker", good_droid)
    case("decode_out_is_directory", "actions", "decode", "--embodiment", "droid", good_droid, "--out", "{tmp}")
    case("decode_no_file", "actions", "decode", "--embodiment", "droid")
    case("decode_no_embodiment", "actions", "decode", good_droid)
    case("actions_no_subcommand", "actions")
    case("actions_unknown_subcommand", "actions", "transmogrify")

    # -- poses files (actions encode --poses) ---------------------------------------------------------------
    line = np.broadcast_to(np.eye(4), (5, 4, 4)).copy()
    bad_poses = {
        "not_rigid": {"poses": (line * 2).tolist(), "gripper": [0] * 4},
        "one_pose": {"poses": [EYE], "gripper": []},
        "no_gripper_key": {"poses": line.tolist()},
        "gripper_length": {"poses": line.tolist(), "gripper": [0] * 7},
        "gripper_strings": {"poses": line.tolist(), "gripper": ["open"] * 4},
        "gripper_range": {"poses": line.tolist(), "gripper": [0, 0, 2, 0]},
        "three_by_three": {"poses": [np.eye(3).tolist()] * 5, "gripper": [0] * 4},
        "poses_scalar": {"poses": 3, "gripper": [0] * 4},
        "list_top": [EYE, EYE],
        "nan_pose": {"poses": [EYE] * 4 + [[[float("nan")] * 4] * 4], "gripper": [0] * 4},
    }
    for name, payload in bad_poses.items():
        text = json.dumps(payload).replace("NaN", "NaN")
        case(f"encode_poses_{name}", "actions", "encode", "--embodiment", "droid", "--poses",
             write(f"poses/{name}.json", text))
    case("encode_poses_deep", "actions", "encode", "--embodiment", "droid", "--poses", bad_arrays["deep_100k"])
    case("encode_poses_invalid_utf8", "actions", "encode", "--embodiment", "droid", "--poses",
         bad_arrays["invalid_utf8"])
    case("encode_poses_npy_for_gripper", "actions", "encode", "--embodiment", "droid", "--poses",
         npy("poses/line.npy", line))
    case("encode_poses_npy_wrong_shape", "actions", "encode", "--embodiment", "av", "--poses",
         npy("poses/wrong_shape.npy", np.zeros((5, 3, 3))))
    case("encode_poses_npy_object", "actions", "encode", "--embodiment", "av", "--poses", bad_arrays["npy_object"])
    case("encode_poses_av_with_gripper_ok_but_not_rigid", "actions", "encode", "--embodiment", "av", "--poses",
         npy("poses/av_not_rigid.npy", line * 3))
    case("encode_poses_joint_embodiment", "actions", "encode", "--embodiment", "droid_joint", "--poses",
         write("poses/joint.json", json.dumps({"poses": line.tolist(), "gripper": [0] * 4})))
    case("encode_poses_txt", "actions", "encode", "--embodiment", "droid", "--poses", bad_arrays["txt_suffix"])
    case("encode_poses_missing", "actions", "encode", "--embodiment", "droid", "--poses", "{tmp}/none.json")
    case("encode_both_sources", "actions", "encode", "--embodiment", "droid", "--poses", "x.json", "--lerobot", ".")
    case("encode_no_source", "actions", "encode", "--embodiment", "droid")
    case("encode_episode_not_int", "actions", "encode", "--embodiment", "droid", "--lerobot", ".", "--episode", "x")

    # -- LeRobot directories (actions encode --lerobot, dataset inspect) -----------------------------------------
    datasets = {
        "empty_dir": dataset("empty_dir", None),
        "info_invalid_json": dataset("info_invalid_json", "{not json"),
        "info_list": dataset("info_list", "[1, 2]"),
        "info_invalid_utf8": dataset("info_invalid_utf8", None, extra={}),
        "info_deep": dataset("info_deep", "[" * 50_000 + "]" * 50_000),
        "old_version": dataset("old_version", droid_info(codebase_version="v2.1")),
        "no_features": dataset("no_features", {"codebase_version": "v3.0"}),
        "features_list": dataset("features_list", {"codebase_version": "v3.0", "features": [1]}),
        "no_data": dataset("no_data", droid_info()),
        "garbage_parquet": dataset("garbage_parquet", droid_info(), b"PAR1 not really parquet"),
        "missing_columns": dataset("missing_columns", droid_info(), pa.table({"episode_index": [0],
                                                                             "frame_index": [0]})),
        "string_column": dataset("string_column", droid_info(), droid_table(
            3, cartesian=["a", "b", "c"], gripper=[0.0] * 3)),
        "nan_column": dataset("nan_column", droid_info(), droid_table(
            20, cartesian=[[float("nan")] * 6] * 20)),
        "short_episode": dataset("short_episode", droid_info(), droid_table(5)),
    }
    (FILES / "datasets" / "info_invalid_utf8" / "meta" / "info.json").write_bytes(b'{"codebase_version": "\xff"}')
    for name, ref in datasets.items():
        case(f"encode_lerobot_{name}", "actions", "encode", "--embodiment", "droid", "--lerobot", ref)
        case(f"inspect_{name}", "dataset", "inspect", ref)
    ok = dataset("droid_ok", droid_info(), droid_table(40))
    case("encode_lerobot_episode_missing", "actions", "encode", "--embodiment", "droid", "--lerobot", ok,
         "--episode", "7")
    case("encode_lerobot_start_past_end", "actions", "encode", "--embodiment", "droid", "--lerobot", ok,
         "--start", "1000")
    case("encode_lerobot_negative_start", "actions", "encode", "--embodiment", "droid", "--lerobot", ok,
         "--start", "-3")
    case("encode_lerobot_zero_length", "actions", "encode", "--embodiment", "droid", "--lerobot", ok,
         "--length", "0")
    case("encode_lerobot_av", "actions", "encode", "--embodiment", "av", "--lerobot", ok)
    case("encode_lerobot_missing_dir", "actions", "encode", "--embodiment", "droid", "--lerobot", "{tmp}/none")
    case("encode_lerobot_file", "actions", "encode", "--embodiment", "droid", "--lerobot", good_droid)
    for name, ref in recorded_variants().items():
        case(f"inspect_recorded_{name}", "dataset", "inspect", ref, "--sheet", "{tmp}/sheet.png")
    case("inspect_missing", "dataset", "inspect", "{tmp}/none")
    case("inspect_a_file", "dataset", "inspect", good_droid)
    case("inspect_tabular_only", "dataset", "inspect", ok)
    case("inspect_no_root", "dataset", "inspect")
    case("dataset_unknown_subcommand", "dataset", "repair", ok)

    # -- images and videos (fd / id) ----------------------------------------------------------------------------
    media = {
        "png_bomb": write("media/bomb_12000.png", png(12000, 12000, mode="1")),
        "png_garbage": write("media/garbage.png", b"\x89PNG\r\n\x1a\n" + bytes(range(200))),
        "png_truncated": write("media/truncated.png", png(64, 48, 100)[:60]),
        "png_empty": write("media/empty.png", b""),
        "jpg_text": write("media/text.jpg", "not a jpeg"),
        "mp4_garbage": write("media/garbage.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(300)),
        "mp4_empty": write("media/empty.mp4", b""),
        "mp4_truncated": write("media/truncated.mp4", mp4(8, 64, 48)[:400]),
        "mp4_huge_frames": write("media/huge_5000px.mp4", mp4(2, 5008, 5008)),
        "zip_as_png": write("media/archive.png", npz_bytes()),
    }
    one_frame = write("media/one_frame.mp4", mp4(1, 64, 48))
    long_static = write("media/static_300.mp4", mp4(300, 64, 48))
    small_png = write("media/small.png", png(64, 48, 90))
    fd_ok_actions = write("actions/av_ok.json", json.dumps([[0.0, 0, 0.1, *ROT6D]] * 4))
    for name, ref in media.items():
        flag = "--video" if ref.endswith(".mp4") else "--image"
        case(f"fd_{name}", "fd", "--embodiment", "av", flag, ref, "--actions", fd_ok_actions, "--out", "{tmp}/o")
        if flag == "--video":
            case(f"id_{name}", "id", "--embodiment", "av", "--video", ref, "--out", "{tmp}/o")
    case("id_png_as_video", "id", "--embodiment", "av", "--video", media["png_bomb"], "--out", "{tmp}/o")
    case("id_one_frame", "id", "--embodiment", "av", "--video", one_frame, "--out", "{tmp}/o")
    case("id_short_static", "id", "--embodiment", "av", "--video", long_static, "--out", "{tmp}/o", "--backend",
         "nonexistent")
    case("id_missing_video", "id", "--embodiment", "av", "--video", "{tmp}/none.mp4", "--out", "{tmp}/o")
    case("id_no_video", "id", "--embodiment", "av", "--out", "{tmp}/o")
    case("id_policy_only_embodiment", "id", "--embodiment", "droid_joint", "--video", long_static, "--out", "{tmp}/o")
    case("id_steps_zero", "id", "--embodiment", "av", "--video", long_static, "--out", "{tmp}/o", "--num-inference-steps", "0")
    for name in ("invalid_utf8", "deep_100k", "huge_int", "ragged", "strings", "npy_object", "npy_huge_header",
                 "nan", "dict_actions", "one_dim"):
        case(f"fd_actions_{name}", "fd", "--embodiment", "droid", "--image", small_png, "--actions", bad_arrays[name],
             "--out", "{tmp}/o")
    case("fd_actions_wrong_width", "fd", "--embodiment", "droid", "--image", small_png, "--actions", fd_ok_actions,
         "--out", "{tmp}/o")
    case("fd_image_and_video", "fd", "--embodiment", "av", "--image", small_png, "--video", one_frame, "--actions",
         fd_ok_actions, "--out", "{tmp}/o")
    case("fd_no_frame", "fd", "--embodiment", "av", "--actions", fd_ok_actions, "--out", "{tmp}/o")
    case("fd_no_actions", "fd", "--embodiment", "av", "--image", small_png, "--out", "{tmp}/o")
    case("fd_missing_image", "fd", "--embodiment", "av", "--image", "{tmp}/none.png", "--actions", fd_ok_actions,
         "--out", "{tmp}/o")
    case("fd_image_is_directory", "fd", "--embodiment", "av", "--image", "{tmp}", "--actions", fd_ok_actions,
         "--out", "{tmp}/o")
    case("fd_unknown_backend", "fd", "--embodiment", "av", "--image", small_png, "--actions", fd_ok_actions,
         "--out", "{tmp}/o", "--backend", "nonexistent")
    case("fd_unknown_embodiment", "fd", "--embodiment", "walker", "--image", small_png, "--actions", fd_ok_actions,
         "--out", "{tmp}/o")
    case("fd_policy_only_embodiment", "fd", "--embodiment", "droid_joint", "--image", small_png, "--actions",
         fd_ok_actions, "--out", "{tmp}/o")
    case("fd_out_is_file", "fd", "--embodiment", "av", "--image", small_png, "--actions", fd_ok_actions, "--out",
         small_png)
    for steps in ("0", "-3", "abc", "1e9"):
        case(f"fd_steps_{steps}", "fd", "--embodiment", "av", "--image", small_png, "--actions", fd_ok_actions,
             "--out", "{tmp}/o", "--num-inference-steps", steps)
    case("fd_seed_not_int", "fd", "--embodiment", "av", "--image", small_png, "--actions", fd_ok_actions,
         "--out", "{tmp}/o", "--seed", "1.5")
    case("fd_no_out", "fd", "--embodiment", "av", "--image", small_png, "--actions", fd_ok_actions)
    case("fd_fixture_droid_joint", "fd", "--embodiment", "droid_joint", "--fixture", "--out", "{tmp}/o")

    # -- sim record options ----------------------------------------------------------------------------------
    sim = ["sim", "record", "--policy", "expert", "--out", "{tmp}/sim"]
    for option, value in (("--episodes", "0"), ("--episodes", "-2"), ("--episodes", "many"), ("--workers", "0"),
                          ("--resolution", "0"), ("--resolution", "-64"), ("--steps", "0"), ("--commit-every", "0"),
                          ("--seed", "x"), ("--resolution", "100000"), ("--workers", "two")):
        argv = [a for a in sim]
        if option != "--episodes":
            argv += ["--episodes", "2"]
        case(f"sim_{option.strip('-')}_{value}", *argv, option, value)
    case("sim_unknown_policy", "sim", "record", "--episodes", "1", "--policy", "teleport", "--out", "{tmp}/sim")
    case("sim_bad_policy_param", "sim", "record", "--episodes", "1", "--policy", "expert:speed=fast", "--out",
         "{tmp}/sim")
    case("sim_policy_unknown_param", "sim", "record", "--episodes", "1", "--policy", "expert:warp=1", "--out",
         "{tmp}/sim")
    case("sim_out_is_file", "sim", "record", "--episodes", "1", "--policy", "expert", "--out", small_png)
    case("sim_out_not_a_dataset", "sim", "record", "--episodes", "1", "--policy", "expert", "--out",
         "@datasets/no_data")
    case("sim_no_out", "sim", "record", "--episodes", "1", "--policy", "expert")
    case("sim_no_subcommand", "sim")
    case("unknown_command", "teleport")

    (HERE / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
    print(f"{len(cases)} cases, {sum(1 for p in FILES.rglob('*') if p.is_file())} files")


def recorded_variants() -> dict[str, str]:
    """A real 2-episode dataset written by our writer, broken in ways a crash or a bad copy would break it."""
    import sys

    sys.path.insert(0, str(HERE.parents[1] / "export"))
    from synthetic_episodes import record

    base = FILES / "datasets" / "recorded"
    record(str(base), 2)
    variants = {}
    for name in ("data_garbage", "episodes_garbage", "video_missing", "video_garbage", "tasks_garbage",
                 "info_counts_wrong"):
        root = FILES / "datasets" / f"recorded_{name}"
        shutil.copytree(base, root)
        data = next(root.glob("data/*/*.parquet"))
        video = next(root.glob("videos/*/*/*.mp4"))
        if name == "data_garbage":
            data.write_bytes(b"PAR1" + bytes(64) + b"PAR1")
        elif name == "episodes_garbage":
            next(root.glob("meta/episodes/*/*.parquet")).write_bytes(b"garbage")
        elif name == "video_missing":
            video.unlink()
        elif name == "video_garbage":
            video.write_bytes(b"\x00" * 100)
        elif name == "tasks_garbage":
            (root / "meta" / "tasks.parquet").write_bytes(b"PAR1")
        else:
            info = json.loads((root / "meta" / "info.json").read_text())
            info["total_episodes"], info["total_frames"] = 5, 10**6
            (root / "meta" / "info.json").write_text(json.dumps(info))
        variants[name] = f"@datasets/recorded_{name}"
    shutil.rmtree(base)
    (base.parent / ".recorded.lock").unlink()
    return variants


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def huge_header_npy() -> bytes:
    """A valid .npy header claiming 10^12 float64 values, followed by 80 bytes."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 10), }"
    header += " " * (118 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(80)


def npz_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.npy", npy_bytes(np.zeros(3)))
    return buffer.getvalue()


if __name__ == "__main__":
    main()
