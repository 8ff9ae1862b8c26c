"""Adapters against the real Cosmos cookbook data, plus encode->decode properties."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from cosmos_robotics import geometry
from cosmos_robotics.data.lerobot_reader import read_episode_columns
from cosmos_robotics.embodiments import DOMAINS, get_adapter, get_domain
from cosmos_robotics.embodiments.droid import compose_concat_view, make_droid_adapter
from cosmos_robotics.errors import ClampWarning

DROID_COLUMNS = ["observation.state.cartesian_position", "action.gripper_position"]


def load_actions(cookbook, name):
    return np.asarray(json.loads((cookbook / "actions" / f"{name}.json").read_text()))


@pytest.mark.parametrize(
    ("name", "x", "z"), [("av_traj_forward", 0.65, 6.6), ("av_traj_left", -36.0, None), ("av_traj_right", 24.6, None)]
)
def test_av_assets_decode_to_the_published_trajectories(cookbook, name, x, z):
    command = get_adapter("av").decode(load_actions(cookbook, name))
    end = command.poses[-1, :3, 3]
    assert command.poses.shape == (61, 4, 4)
    assert end[0] == pytest.approx(x, abs=0.05)
    if z is not None:
        assert end[2] == pytest.approx(z, abs=0.05)


def test_av_rot6d_assets_are_columns_of_rotations(cookbook):
    actions = load_actions(cookbook, "av_traj_left")
    assert geometry.rot6d_orthonormality_error(actions[:, 3:9]).max() < 1e-6


def test_droid_window_zero_matches_the_cookbook(cookbook):
    columns = read_episode_columns(cookbook / "droid_lerobot_example", DROID_COLUMNS)
    actions = get_adapter("droid").encode_lerobot_window(columns, start=0)
    assert actions.shape == (16, 10)
    expected = [-0.0098, 0.0769, 0.0123, 1.0, 0.0018, 0.0053, -0.0016, 0.9999, -0.0349, 1.0]
    np.testing.assert_allclose(actions[0], expected, atol=1e-3)


def test_droid_decode_returns_the_recorded_flange_trajectory(cookbook):
    columns = read_episode_columns(cookbook / "droid_lerobot_example", DROID_COLUMNS)
    droid = get_adapter("droid")
    cartesian, gripper = columns[DROID_COLUMNS[0]], columns[DROID_COLUMNS[1]]
    start = 160  # a window where the arm moves and the gripper command changes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClampWarning)
        actions = droid.encode_window(cartesian[start : start + 17], gripper[start : start + 16])
    unclamped = make_droid_adapter(clamp=False).encode_window(cartesian[start : start + 17], gripper[start : start + 16])
    command = make_droid_adapter(clamp=False).decode_from_cartesian(unclamped, cartesian[start])
    np.testing.assert_allclose(command.poses[:, :3, 3], cartesian[start : start + 17, :3], atol=1e-9)
    np.testing.assert_allclose(command.gripper, gripper[start : start + 16], atol=1e-9)
    assert np.abs(actions).max() <= 1.0


def test_droid_gripper_is_flipped_before_normalization():
    droid = get_adapter("droid")
    poses = np.broadcast_to(np.eye(4), (3, 4, 4))
    closed = droid.encode_poses(poses, [1.0, 1.0])
    opened = droid.encode_poses(poses, [0.0, 0.0])
    assert closed[0, 9] == pytest.approx(-1.0) and opened[0, 9] == pytest.approx(1.0)


def test_droid_clamp_warns_with_count_and_dims():
    droid = get_adapter("droid")
    poses = np.stack([np.eye(4), geometry.pose_matrix(np.eye(3), [0.05, 0.0, 0.0])])
    with pytest.warns(ClampWarning, match=r"clamped 1 of 10 values.*dims \[1\]"):
        out = droid.encode_poses(poses, [0.0])
    # The flange frame is turned 90 deg about z into OpenCV: a native +x motion is a local -y delta.
    assert out[0, 1] == -1.0
    assert out[0, 0] == pytest.approx(-(0.014515 - 0.014200) / (0.014515 + 0.014200), abs=1e-5)  # zero dx


def test_umi_asset_denormalizes_to_unit_rot6d_columns(cookbook):
    umi = get_adapter("umi")
    raw = umi.denormalize(load_actions(cookbook, "umi"))
    assert np.abs(np.linalg.norm(raw[:, 3:6], axis=1) - 1).max() < 1e-3
    assert np.abs(np.linalg.norm(raw[:, 6:9], axis=1) - 1).max() < 1e-3
    assert 0.04 < raw[:, 9].min() and raw[:, 9].max() < 0.045
    command = umi.decode_rollout(load_actions(cookbook, "umi"))  # two 16-step chunks
    assert command.poses.shape == (33, 4, 4) and command.gripper.shape == (32,)


def test_concat_view_layout():
    rng = np.random.default_rng(0)
    wrist, ext1, ext2 = (rng.integers(0, 255, (2, 360, 640, 3), dtype=np.uint8) for _ in range(3))
    out = compose_concat_view(wrist, ext1, ext2)
    assert out.shape == (2, 540, 640, 3)
    np.testing.assert_array_equal(out[:, :360], wrist)
    # Exact 2x bilinear downscale with half-pixel centres = the mean of each 2x2 block.
    block_mean = ext2[1].reshape(180, 2, 320, 2, 3).astype(float).mean(axis=(1, 3))
    assert np.abs(out[1, 360:, 320:].astype(float) - block_mean).max() <= 1.0


def test_policy_droid_state_row_and_decode():
    adapter = get_adapter("droid_joint")
    q = np.array([0.0, -0.5, 0.0, -2.0, 0.0, 1.5, 0.7])
    np.testing.assert_allclose(adapter.encode_state(q, 0.25), [*q, 0.75])
    chunk = np.tile([*q, 0.9], (32, 1))
    command = adapter.decode(chunk)
    np.testing.assert_allclose(command.joint_positions, chunk[:, :7])
    np.testing.assert_allclose(command.gripper, 0.1)
    assert adapter.preset.num_inference_steps == 4 and adapter.preset.guidance_scale == 3.0


def test_registry_is_consistent():
    names = [d.name for d in DOMAINS]
    assert len(names) == len(set(names))
    for domain in DOMAINS:
        for adapter_name in domain.adapters:
            adapter = get_adapter(adapter_name)
            assert adapter.domain_name == domain.name
            assert adapter.action_dim in (domain.raw_action_dim, 8)
    assert get_domain("droid_lerobot").domain_id == 8
    assert get_adapter("droid_lerobot").name == "droid"  # a domain name resolves to the base-model contract


# -- properties --------------------------------------------------------------------------------------------------
@st.composite
def trajectories(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.integers(2, 60))
    rng = np.random.default_rng(seed)
    rot = Rotation.random(n, random_state=seed).as_matrix()
    poses = geometry.pose_matrix(rot, rng.normal(scale=draw(st.floats(0.001, 5.0)), size=(n, 3)))
    return poses, rng.uniform(0, 1, size=n - 1)


@settings(max_examples=60, deadline=None)
@given(trajectories(), st.sampled_from(["av", "droid", "umi"]))
def test_encode_decode_round_trip(traj, name):
    poses, gripper = traj
    adapter = make_droid_adapter(clamp=False) if name == "droid" else get_adapter(name)
    grip = None if name == "av" else gripper * (0.1 if name == "umi" else 1.0)
    command = adapter.decode_rollout(adapter.encode_poses(poses, grip), poses[0])
    np.testing.assert_allclose(command.poses, poses, atol=1e-6)
    if grip is not None:
        np.testing.assert_allclose(command.gripper, grip, atol=1e-6)


def test_av_car_frame_poses_become_opencv_camera_motion():
    av = get_adapter("av")
    # The car drives 1 m forward (+x in the car frame: x forward, y left, z up) per step.
    car = np.broadcast_to(np.eye(4), (3, 4, 4)).copy()
    car[:, 0, 3] = [0.0, 1.0, 2.0]
    actions = av.encode_poses(av.poses_from_car_frame(car))
    # In the OpenCV camera frame forward is +z; the model-space translation carries the 1.35 scale.
    np.testing.assert_allclose(actions[:, :3], [[0, 0, 1.35], [0, 0, 1.35]], atol=1e-12)
    # A left turn (car yaw +90 deg) rotates the camera's forward axis (+z) towards the camera's -x (left).
    turned = car[:2].copy()
    turned[1, :3, :3] = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    delta = geometry.matrix_from_rot6d(av.encode_poses(av.poses_from_car_frame(turned))[0, 3:9])
    np.testing.assert_allclose(delta @ [0, 0, 1], [-1, 0, 0], atol=1e-12)


def test_droid_contract_box_is_derived_from_the_stats_and_never_clamps():
    from cosmos_robotics.embodiments.droid import droid_contract_box

    low, high = droid_contract_box()
    droid = make_droid_adapter(clamp=False)
    corners = []
    for axis in range(6):
        for bound in (low, high):
            motion = np.zeros(6)
            motion[axis] = bound[axis]
            rotation = Rotation.from_rotvec(motion[3:]).as_matrix()
            corners.append(np.concatenate([motion[:3], geometry.rot6d_from_matrix(rotation), [0.5]]))
    normalized = droid.normalize(np.array(corners))
    assert np.abs(normalized).max() <= 1.0 + 1e-9  # never clamped (diagonal rot6d entries reach q99 = 1 at rest)
    assert np.abs(normalized[:, [0, 1, 2, 4, 5, 6, 8]]).max() <= 0.95  # the moved dims keep the 0.9 margin
    loose_low, loose_high = droid_contract_box(margin=1.2)  # beyond q01..q99: some dim leaves [-1, 1]
    assert loose_high[0] > droid.normalizer.q99[0] and loose_low[2] < droid.normalizer.q01[2]
