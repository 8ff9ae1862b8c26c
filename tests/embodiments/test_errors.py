"""Every bad input gets a typed error that names the embodiment, what was expected and what came."""

import numpy as np
import pytest

from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.errors import ActionContractError, UnknownEmbodimentError, UnsupportedModeError

IDENTITY_ROW = [0, 0, 0, 1, 0, 0, 0, 1, 0]


def test_unknown_embodiment_lists_the_available_ones():
    with pytest.raises(UnknownEmbodimentError, match=r"unknown embodiment or domain 'franka'.*droid"):
        get_adapter("franka")


def test_wrong_width():
    with pytest.raises(ActionContractError, match=r"\[droid\].*expected shape \[N, 10\], got shape \(4, 9\)"):
        get_adapter("droid").decode(np.zeros((4, 9)))


def test_wrong_dtype():
    with pytest.raises(ActionContractError, match=r"real-valued array.*dtype <U"):
        get_adapter("av").decode(np.full((2, 9), "a"))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite(bad):
    actions = np.tile(np.asarray(IDENTITY_ROW, dtype=float), (3, 1))
    actions[1, 4] = bad
    with pytest.raises(ActionContractError, match=r"\[av\].*finite values.*\[\[1, 4\]\]"):
        get_adapter("av").decode(actions)


def test_rot6d_far_from_orthonormal():
    actions = np.tile(np.asarray(IDENTITY_ROW, dtype=float), (3, 1))
    actions[2, 3:6] = [3.0, 0.0, 0.0]
    with pytest.raises(ActionContractError, match=r"rot6d columns.*error 8 at row 2"):
        get_adapter("av").decode(actions)


def test_out_of_range_gripper_on_encode_and_decode():
    droid = get_adapter("droid")
    poses = np.broadcast_to(np.eye(4), (3, 4, 4))
    with pytest.raises(ActionContractError, match=r"gripper command.*\[0.0, 1.0\].*max 1.5"):
        droid.encode_poses(poses, [0.0, 1.5])
    model = droid.encode_poses(poses, [0.0, 1.0])
    model[0, 9] = 1.5  # denormalizes to a gripper of 1.25 (open beyond fully open)
    with pytest.raises(ActionContractError, match=r"decoded gripper"):
        droid.decode(model)
    with pytest.raises(ActionContractError, match=r"gripper width"):
        get_adapter("umi").encode_poses(poses, [0.05, 0.5])


def test_joint_limits():
    adapter = get_adapter("droid_joint")
    with pytest.raises(ActionContractError, match=r"Franka joint 4 within"):
        adapter.encode_state([0, 0, 0, 0.5, 0, 1.0, 0], 0.0)


def test_chunk_longer_than_the_preset():
    with pytest.raises(ActionContractError, match=r"<= 16 rows.*17 rows"):
        get_adapter("droid").validate_chunk(np.zeros((17, 10)))


def test_not_a_rigid_transform():
    poses = np.broadcast_to(np.eye(4), (2, 4, 4)).copy()
    poses[1, :3, :3] *= 2.0
    with pytest.raises(ActionContractError, match=r"rigid transforms"):
        get_adapter("av").encode_poses(poses)


def test_gripper_given_to_an_embodiment_without_one():
    with pytest.raises(ActionContractError, match=r"no gripper"):
        get_adapter("av").encode_poses(np.broadcast_to(np.eye(4), (2, 4, 4)), [0.0])


def test_unsupported_mode():
    with pytest.raises(UnsupportedModeError, match=r"forward_dynamics.*supported: \['policy'\]"):
        get_adapter("droid_joint").check_mode("forward_dynamics")
