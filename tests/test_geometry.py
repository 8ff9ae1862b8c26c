import numpy as np
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from cosmos_robotics import geometry


def random_poses(seed: int, n: int, step: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rot = Rotation.random(n, random_state=seed).as_matrix()
    return geometry.pose_matrix(rot, np.cumsum(rng.normal(scale=step, size=(n, 3)), axis=0))


def sequential_integration(deltas, start):
    poses = [start]
    for d in deltas:
        poses.append(poses[-1] @ d)
    return np.stack(poses)


def test_rot6d_layout_is_first_two_columns():
    r = Rotation.from_euler("xyz", [0.3, -0.2, 1.1]).as_matrix()
    np.testing.assert_array_equal(geometry.rot6d_from_matrix(r), [r[0, 0], r[1, 0], r[2, 0], r[0, 1], r[1, 1], r[2, 1]])
    np.testing.assert_array_equal(geometry.rot6d_from_matrix(np.eye(3)), geometry.IDENTITY_ROT6D)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_rot6d_round_trip_random_rotations(seed):
    r = Rotation.random(64, random_state=seed).as_matrix()
    np.testing.assert_allclose(geometry.matrix_from_rot6d(geometry.rot6d_from_matrix(r)), r, atol=1e-12)


def test_rot6d_decode_projects_noisy_columns_onto_so3():
    r = Rotation.random(100, random_state=1).as_matrix()
    noisy = geometry.rot6d_from_matrix(r) + np.random.default_rng(0).normal(scale=0.02, size=(100, 6))
    out = geometry.matrix_from_rot6d(noisy)
    np.testing.assert_allclose(out @ np.swapaxes(out, 1, 2), np.broadcast_to(np.eye(3), (100, 3, 3)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(out), 1.0, atol=1e-12)
    assert np.abs(out - r).max() < 0.1


def test_rot6d_decode_is_the_polar_factor_not_gram_schmidt():
    v = np.array([1.0, 0.0, 0.0, 0.2, 1.0, 0.0])
    c0, c1 = v[:3], v[3:]
    expected, _ = scipy.linalg.polar(np.stack([c0, c1, np.cross(c0, c1)], axis=1))
    out = geometry.matrix_from_rot6d(v)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    assert not np.allclose(out[:, 0], [1, 0, 0])  # Gram-Schmidt would keep column 0 exactly


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 300))
def test_deltas_integrate_back_to_the_trajectory(seed, n):
    poses = random_poses(seed, n)
    deltas = geometry.relative_poses(poses)
    np.testing.assert_allclose(deltas, geometry.invert_pose(poses[:-1]) @ poses[1:], atol=1e-12)
    np.testing.assert_allclose(geometry.integrate_relative(deltas, poses[0]), poses, atol=1e-9)


def test_prefix_scan_matches_the_sequential_loop():
    poses = random_poses(3, 1025)
    deltas = geometry.relative_poses(poses)
    np.testing.assert_allclose(geometry.integrate_relative(deltas, poses[0]),
                               sequential_integration(deltas, poses[0]), atol=1e-9)


def test_deltas_are_expressed_in_the_previous_local_frame():
    # Moving 1 m along the body's own x axis while the body is yawed 90 deg is a world-y motion.
    yaw = geometry.pose_matrix(Rotation.from_euler("z", 90, degrees=True).as_matrix(), [0.0, 0.0, 0.0])
    moved = yaw.copy()
    moved[:3, 3] = [0.0, 1.0, 0.0]
    delta = geometry.relative_poses(np.stack([yaw, moved]))[0]
    np.testing.assert_allclose(delta[:3, 3], [1.0, 0.0, 0.0], atol=1e-12)


def test_invert_pose_matches_linalg_inverse():
    poses = random_poses(5, 20)
    np.testing.assert_allclose(geometry.invert_pose(poses), np.linalg.inv(poses), atol=1e-12)


def test_euler_and_quaternion_conventions():
    euler = np.array([0.1, -0.4, 2.0])
    r = geometry.euler_xyz_to_matrix(euler)
    np.testing.assert_allclose(r, Rotation.from_euler("xyz", euler).as_matrix())
    np.testing.assert_allclose(geometry.matrix_to_euler_xyz(r), euler, atol=1e-12)
    q_xyzw = geometry.matrix_to_quat_xyzw(r)
    q_wxyz = geometry.matrix_to_quat_wxyz(r)
    np.testing.assert_allclose(q_wxyz, np.roll(q_xyzw, 1))
    np.testing.assert_allclose(geometry.quat_wxyz_to_matrix(q_wxyz), r, atol=1e-12)
    np.testing.assert_allclose(geometry.quat_xyzw_to_matrix(q_xyzw), r, atol=1e-12)
    # A 90 deg turn about z in wxyz is (cos45, 0, 0, sin45).
    np.testing.assert_allclose(geometry.quat_wxyz_to_matrix([np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)]),
                               Rotation.from_euler("z", 90, degrees=True).as_matrix(), atol=1e-12)
