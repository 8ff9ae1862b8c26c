"""Cosmos 3 through the real diffusers pipeline, loaded from a tiny on-disk checkpoint, on the CPU.

Inputs are the bundled cookbook assets, downscaled so the random VAE stays fast; the presets (tier, fps, view
point) are the real ones. The tiny checkpoint's action head is the exact denoiser of a point-mass action
distribution, so inverse dynamics must return ``TINY_ACTION_TARGETS`` — a failing wire (scheduler, slicing,
domain ids, adapters) shows up as wrong numbers, not just wrong shapes.
"""

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from huggingface_hub import constants as hub_constants

from cosmos_robotics.data.lerobot_reader import read_episode_columns
from cosmos_robotics.embodiments import ActionMode, get_adapter
from cosmos_robotics.embodiments.droid import compose_concat_view
from cosmos_robotics.errors import ActionContractError, ModelNotAvailableError, UnsupportedModeError
from cosmos_robotics.media import read_image, read_video
from cosmos_robotics.world_models.cosmos3.acceleration import AccelerationConfig
from cosmos_robotics.world_models.cosmos3.diffusers_backend import Cosmos3DiffusersBackend
from cosmos_robotics.world_models.cosmos3.tiny_checkpoint import TINY_ACTION_TARGETS
from cosmos_robotics.world_models.factory import make_world_model

COOKBOOK = Path(__file__).resolve().parents[2] / "datasets" / "cosmos3_cookbook"
DROID_ROOT = COOKBOOK / "droid_lerobot_example"
STEPS = 2
CHUNK = {"av": 4, "droid": 4, "umi": 8}  # <= the presets (60/16/16); keeps the random VAE cheap
# VAE-encode only the conditioning frame in forward dynamics (test_first_frame_encode_matches_plain checks it).
FIRST_FRAME_ONLY = AccelerationConfig(
    text_kv_reuse=False, attention_backend="default", fuse_projections=False, compile_blocks=False,
    first_frame_encode=True,
)


def _small(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in np.atleast_3d(frames)])


def _droid_view(count: int) -> np.ndarray:
    """exterior_2 (the only camera in the example) in its concat_view slot; wrist and exterior_1 black."""
    ext2 = _small(read_video(DROID_ROOT / "videos/observation.image.exterior_image_2_left/chunk-000/file-000.mp4",
                             max_frames=count), 160, 90)
    black = np.zeros_like(ext2)
    return compose_concat_view(black, black, ext2)  # [count, 135, 160, 3]


def _video(embodiment: str, count: int) -> np.ndarray:
    if embodiment == "av":
        return _small(read_video(COOKBOOK / "videos/av_0.mp4", max_frames=count), 208, 120)
    if embodiment == "umi":
        return _small(read_video(COOKBOOK / "videos/umi.mp4", max_frames=count), 128, 128)
    return _droid_view(count)


def _frame(embodiment: str) -> np.ndarray:
    if embodiment == "av":
        return _small(read_image(COOKBOOK / "images/av_0.jpg")[None], 208, 120)[0]
    if embodiment == "umi":
        return _small(read_image(COOKBOOK / "images/umi.png")[None], 128, 128)[0]
    return _droid_view(1)[0]


def _actions(embodiment: str, count: int) -> np.ndarray:
    if embodiment == "av":
        return np.asarray(json.loads((COOKBOOK / "actions/av_traj_forward.json").read_text()))[:count]
    if embodiment == "umi":
        return np.asarray(json.loads((COOKBOOK / "actions/umi.json").read_text()))[:count]
    adapter = get_adapter("droid")
    columns = read_episode_columns(DROID_ROOT, list(adapter.lerobot_columns))
    return adapter.encode_lerobot_window(columns, start=0, length=count)


def _output_hw(frame: np.ndarray) -> tuple[int, int]:
    """Documented output size: the content cropped to multiples of 16 (these inputs fit their canvas)."""
    return 16 * (frame.shape[0] // 16), 16 * (frame.shape[1] // 16)


def _reported_size(frame: np.ndarray) -> dict | None:
    """What results report when the model cannot keep the input's size (AV 120 -> 112 rows, DROID 135 -> 128)."""
    output = _output_hw(frame)
    return None if output == frame.shape[:2] else {"input": list(frame.shape[:2]), "output": list(output)}


@pytest.fixture(scope="module")
def backend(tiny_checkpoint_dir) -> Cosmos3DiffusersBackend:
    return Cosmos3DiffusersBackend.from_pretrained(tiny_checkpoint_dir, device="cpu", progress=False,
                                                   acceleration=FIRST_FRAME_ONLY)


@pytest.mark.parametrize("embodiment", ["av", "droid", "umi"])
def test_forward_dynamics_returns_chunk_plus_one_frames(backend, embodiment):
    frame, actions = _frame(embodiment), _actions(embodiment, CHUNK[embodiment])
    result = backend.forward_dynamics(frame, actions, embodiment=embodiment, num_inference_steps=STEPS)
    assert result.frames.dtype == np.uint8
    assert result.frames.shape == (len(actions) + 1, *_output_hw(frame), 3)
    assert result.extras.get("frame_size") == _reported_size(frame)
    np.testing.assert_array_equal(result.actions, actions)
    assert result.settings["fps"] == get_adapter(embodiment).preset.fps
    assert {"total_s", "prepare_s", "denoise_s", "decode_s"} <= set(result.timings)
    assert len(result.extras["step_times_s"]) == STEPS
    assert sum(result.extras["step_times_s"]) == pytest.approx(result.timings["denoise_s"])


@pytest.mark.parametrize("embodiment", ["av", "droid", "umi"])
def test_inverse_dynamics_actions_decode_through_adapter(backend, embodiment):
    adapter, chunk = get_adapter(embodiment), CHUNK[embodiment]
    video = _video(embodiment, chunk + 1)
    result = backend.inverse_dynamics(video, embodiment=embodiment, chunk_size=chunk, num_inference_steps=STEPS,
                                      decode_actions=True)
    expected = np.tile(TINY_ACTION_TARGETS[adapter.domain_name], (chunk, 1))
    assert result.actions.shape == (chunk, adapter.action_dim)
    np.testing.assert_allclose(result.actions, expected, atol=3e-3)
    assert result.frames.shape == (chunk + 1, *_output_hw(video[0]), 3)
    reference = adapter.decode(expected)
    assert result.command.poses.shape == (chunk + 1, 4, 4)
    np.testing.assert_allclose(result.command.poses, reference.poses, atol=1e-3)
    if embodiment == "av":  # 0.15 model units = 0.111 m forward (+z, OpenCV camera) per step
        np.testing.assert_allclose(np.diff(result.command.poses[:, 2, 3]), 0.15 / 1.35, atol=1e-3)
    else:
        np.testing.assert_allclose(result.command.gripper, reference.gripper, atol=2e-3)


@pytest.mark.parametrize("embodiment", ["av", "droid", "umi"])
def test_two_chunk_rollout_stitches_frames(backend, embodiment):
    chunk = CHUNK[embodiment]
    frame, actions = _frame(embodiment), _actions(embodiment, 2 * chunk)
    result = backend.rollout(frame, actions, embodiment=embodiment, chunk_size=chunk, num_inference_steps=STEPS)
    assert result.frames.shape == (2 * chunk + 1, *_output_hw(frame), 3)
    assert result.extras["num_chunks"] == 2 and result.extras.get("frame_size") == _reported_size(frame)
    np.testing.assert_array_equal(result.actions, actions)


def test_seed_reproduces_and_changes_frames(backend):
    frame, actions = _frame("umi"), _actions("umi", 8)
    first, again, other = (
        backend.forward_dynamics(frame, actions, embodiment="umi", seed=seed, num_inference_steps=STEPS).frames
        for seed in (3, 3, 4)
    )
    np.testing.assert_array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1.0


def test_forward_dynamics_is_conditioned_on_actions(backend):
    frame, moving = _frame("umi"), _actions("umi", 8)
    still = np.zeros_like(moving)  # normalized 0 = the released stats' mid-point: (almost) no motion
    a, b = (backend.forward_dynamics(frame, chunk, embodiment="umi", seed=0, num_inference_steps=STEPS).frames
            for chunk in (moving, still))
    np.testing.assert_array_equal(a[0], b[0])  # same conditioning frame ...
    assert np.abs(a[1:].astype(int) - b[1:].astype(int)).mean() > 2.0  # ... different futures


def test_skip_decode_returns_actions_without_frames(backend):
    video = _video("umi", 9)
    full = backend.inverse_dynamics(video, embodiment="umi", chunk_size=8, num_inference_steps=STEPS)
    lean = backend.inverse_dynamics(video, embodiment="umi", chunk_size=8, num_inference_steps=STEPS,
                                    decode_video=False)
    assert lean.frames is None
    np.testing.assert_allclose(lean.actions, full.actions, atol=1e-6)
    assert lean.timings["decode_s"] < full.timings["decode_s"]
    with pytest.raises(UnsupportedModeError, match="decode_video=False"):
        backend.forward_dynamics(_frame("umi"), _actions("umi", 16), embodiment="umi", decode_video=False)


def test_first_frame_encode_matches_plain(tiny_checkpoint_dir, backend):
    plain = make_world_model("diffusers", str(tiny_checkpoint_dir), device="cpu", progress=False)
    frame, actions = _frame("umi"), _actions("umi", 8)
    ours = backend.forward_dynamics(frame, actions, embodiment="umi", num_inference_steps=STEPS).frames
    reference = plain.forward_dynamics(frame, actions, embodiment="umi", num_inference_steps=STEPS).frames
    assert np.abs(ours.astype(int) - reference.astype(int)).max() <= 1


def test_droid_joint_and_unsupported_requests_are_refused(backend):
    assert backend.supports("av", ActionMode.INVERSE_DYNAMICS)
    assert backend.supports("droid_joint", ActionMode.POLICY)  # Policy-DROID: test_cosmos3_sampler.py
    assert not backend.supports("droid_joint", ActionMode.FORWARD_DYNAMICS)
    with pytest.raises(ActionContractError, match="state"):
        backend.policy(_droid_view(1)[0], embodiment="droid_joint", instruction="pick up the cup")
    with pytest.raises(ActionContractError, match="17 frames"):
        backend.inverse_dynamics(_video("umi", 5), embodiment="umi")


def test_missing_or_gated_weights_raise_a_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="HF_TOKEN.*HF_HOME.*HF_HUB_OFFLINE=1"):
        Cosmos3DiffusersBackend.from_pretrained(tmp_path / "no-such-checkpoint", device="cpu")


@pytest.mark.skipif(not hub_constants.is_offline_mode(), reason="needs HF_HUB_OFFLINE=1 (conftest)")
def test_offline_hub_id_missing_from_the_cache_fails_at_once_and_quietly(tmp_path, capfd):
    """Offline, a hub id that is not cached is refused before diffusers is imported and asked (which took seconds
    and logged "Couldn't connect to the Hub" first). Timed: failing fast is the behaviour under test."""
    model = "nvidia/Cosmos3-Tiny-Not-Published"
    start = time.monotonic()
    with pytest.raises(ModelNotAvailableError, match="not in the local cache"):
        make_world_model("diffusers", model, device="cpu")
    assert time.monotonic() - start < 1.0
    capfd.readouterr()
    from cosmos_robotics.cli import main

    assert main(["fd", "--backend", "diffusers", "--checkpoint", model, "--embodiment", "av", "--fixture",
                 "--out", str(tmp_path / "fd")]) == 2
    err = capfd.readouterr().err
    assert err.startswith(f"error: model {model!r} is not available: the weights are not in the local cache")
    assert err.count("\n") == 1 and "connect" not in err, err  # one line, no hub-connection noise before it


def test_unknown_backend_lists_available():
    with pytest.raises(ValueError, match="available: .*diffusers"):
        make_world_model("no-such-backend")


def test_cli_fd_reports_a_frame_size_the_model_cannot_keep(tiny_checkpoint_dir, tmp_path, capsys):
    from PIL import Image

    from cosmos_robotics.cli import main

    Image.fromarray(_frame("av")).save(tmp_path / "frame.png")  # 120 x 208: 120 rows are not a multiple of 16
    (tmp_path / "actions.json").write_text(json.dumps({"actions": _actions("av", 4).tolist()}))
    assert main(["fd", "--embodiment", "av", "--backend", "diffusers", "--checkpoint", str(tiny_checkpoint_dir),
                 "--device", "cpu", "--num-inference-steps", "1", "--image", str(tmp_path / "frame.png"),
                 "--actions", str(tmp_path / "actions.json"), "--out", str(tmp_path / "fd")]) == 0
    assert "note: the model returned 112x208 frames for the 120x208 input" in capsys.readouterr().out
    assert read_video(tmp_path / "fd" / "video.mp4").shape == (5, 112, 208, 3)


def test_cli_fd_fixture_writes_video_actions_and_plot(tiny_checkpoint_dir, tmp_path):
    from cosmos_robotics.cli import main

    out = tmp_path / "fd"
    code = main(["fd", "--embodiment", "umi", "--fixture", "--backend", "diffusers", "--checkpoint",
                 str(tiny_checkpoint_dir), "--device", "cpu", "--num-inference-steps", "1", "--seed", "0", "--out", str(out)])
    assert code == 0
    umi_actions = _actions("umi", 32)  # the fixture: two 16-step chunks
    video = read_video(out / "video.mp4")
    assert video.shape == (2 * 16 + 1, 256, 256, 3)
    record = json.loads((out / "actions.json").read_text())
    np.testing.assert_allclose(record["actions"], umi_actions)
    expected = get_adapter("umi").decode_rollout(umi_actions)
    np.testing.assert_allclose(record["robot"]["poses"], expected.poses)
    assert record["settings"]["chunk_size"] == 16 and record["timings"]["total_s"] > 0
    assert (out / "trajectory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
