"""SE(3) math of the Cosmos 3 action contract, vectorized over time (no Python loop per step).

Conventions (see datasets/README.md and the action-contract notes):
* poses are homogeneous ``[..., 4, 4]`` object-to-world (or camera-to-world) transforms in meters;
* rot6d = the first two *columns* of R, laid out ``[R00, R10, R20, R01, R11, R21]``;
* deltas are framewise, in the previous pose's local frame: ``dT_i = inv(T_i) @ T_{i+1}``;
* integration composes by right-multiplication: ``T_{i+1} = T_i @ dT_i``;
* Euler angles are scipy's extrinsic ``"xyz"``; quaternion helpers say ``wxyz`` or ``xyzw`` in their names.

Every public function checks its input (real, finite, the trailing shape it needs; non-zero quaternions,
non-degenerate rotation matrices) and raises :class:`~cosmos_robotics.errors.InputError`, never a numpy or scipy
exception.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from cosmos_robotics.errors import InputError
from cosmos_robotics.inputs import real_array

IDENTITY_ROT6D = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])


def _checked(value, what: str, tail: tuple[int, ...], min_lead: int = 0) -> np.ndarray:
    """Finite float64 whose last dims are ``tail`` (with at least ``min_lead`` leading dims)."""
    array = real_array(value, what)
    if array.ndim < len(tail) + min_lead or array.shape[array.ndim - len(tail):] != tail:
        lead = "N, " * min_lead if min_lead else "..., "
        raise InputError(what, f"shape [{lead}{', '.join(map(str, tail))}]", f"shape {list(array.shape)}")
    return array


def _scipy(call, what: str, expected: str):
    """Run a scipy Rotation constructor; its ValueErrors (zero quaternion, det <= 0) become InputErrors."""
    try:
        return call()
    except ValueError as exc:
        raise InputError(what, expected, str(exc)) from None


def rot6d_from_matrix(rotation: np.ndarray) -> np.ndarray:
    """``[..., 3, 3]`` -> ``[..., 6]``: first column then second column."""
    rotation = _checked(rotation, "rotation", (3, 3))
    return np.concatenate([rotation[..., :, 0], rotation[..., :, 1]], axis=-1)


def matrix_from_rot6d(rot6d: np.ndarray) -> np.ndarray:
    """``[..., 6]`` -> ``[..., 3, 3]`` in SO(3).

    The third column is ``c0 x c1``; the result is the nearest rotation (the polar factor, what Cosmos 3 computes
    with an SVD) — not Gram-Schmidt, which would privilege the first column. ``det([c0, c1, c0 x c1]) >= 0`` always,
    so the polar factor is a rotation; Newton's polar iteration ``X <- (X + X^-T) / 2`` with the 3x3 cofactor
    formula gets it ~10x faster than a batched SVD. Degenerate rows (parallel columns) fall back to the SVD.
    """
    rot6d = _checked(rot6d, "rot6d", (6,))
    c0, c1 = rot6d[..., 0:3], rot6d[..., 3:6]
    with np.errstate(over="ignore", invalid="ignore"):
        c2 = np.cross(c0, c1)
    if not np.isfinite(c2).all():
        raise InputError("rot6d", "columns small enough that c0 x c1 is finite (|values| < ~1e150)",
                         f"max |value| {np.abs(rot6d).max():.3g}")
    m = np.stack([c0, c1, c2], axis=-1)
    flat = m.reshape(-1, 3, 3)
    good = np.sum(c2 * c2, axis=-1).reshape(-1) > 1e-9  # det([c0, c1, c0 x c1]) = |c0 x c1|^2
    out = np.empty_like(flat)
    out[good] = _polar_newton(flat[good])
    if not good.all():
        u, _, vt = np.linalg.svd(flat[~good])
        u[..., :, 2] *= np.sign(np.linalg.det(u @ vt))[..., None]
        out[~good] = u @ vt
    return out.reshape(m.shape)


def _polar_newton(x: np.ndarray, max_iter: int = 30, tol: float = 1e-15) -> np.ndarray:
    """Orthogonal polar factor of non-singular ``[N, 3, 3]`` (quadratic convergence, scaled first steps)."""
    for _ in range(max_iter):
        a, b, c = x[..., :, 0], x[..., :, 1], x[..., :, 2]
        cof = np.stack([np.cross(b, c), np.cross(c, a), np.cross(a, b)], axis=-1)  # det(X) * X^-T
        det = np.einsum("ni,ni->n", a, cof[..., :, 0])[:, None, None]
        # Byers-Xu style scaling |det|^(-1/3) speeds up the first iterations far from orthogonal.
        gamma = np.abs(det) ** (-1.0 / 3.0)
        nxt = 0.5 * (gamma * x + cof / (gamma * det))
        if np.abs(nxt - x).max(initial=0.0) < tol:
            return nxt
        x = nxt
    return x


def _dot3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product of ``[..., 3]`` vectors, written out: numpy reductions over a length-3 axis are slow."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def _worst(terms: list[np.ndarray]) -> np.ndarray:
    return np.maximum.reduce([np.abs(t) for t in terms])


def rot6d_orthonormality_error(rot6d: np.ndarray) -> np.ndarray:
    """Per-row distance of the two columns from an orthonormal pair: max(|1-|c0|^2|, |1-|c1|^2|, |c0.c1|)."""
    rot6d = _checked(rot6d, "rot6d", (6,))
    c0, c1 = rot6d[..., 0:3], rot6d[..., 3:6]
    return _worst([_dot3(c0, c0) - 1.0, _dot3(c1, c1) - 1.0, _dot3(c0, c1)])


def pose_matrix(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """Assemble ``[..., 4, 4]`` from ``[..., 3, 3]`` rotations and ``[..., 3]`` translations."""
    rotation = _checked(rotation, "rotation", (3, 3))
    translation = _checked(translation, "translation", (3,))
    try:
        batch = np.broadcast_shapes(rotation.shape[:-2], translation.shape[:-1])
    except ValueError:
        raise InputError("translation", f"a batch shape broadcastable with the rotations' {list(rotation.shape[:-2])}",
                         f"{list(translation.shape[:-1])}") from None
    out = np.zeros((*batch, 4, 4))
    out[..., :3, :3] = rotation
    out[..., :3, 3] = translation
    out[..., 3, 3] = 1.0
    return out


def invert_pose(pose: np.ndarray) -> np.ndarray:
    """Closed-form SE(3) inverse (exact for rigid transforms, cheaper than ``np.linalg.inv``)."""
    pose = _checked(pose, "pose", (4, 4))
    rt = np.swapaxes(pose[..., :3, :3], -1, -2)
    return pose_matrix(rt, -np.einsum("...ij,...j->...i", rt, pose[..., :3, 3]))


def relative_poses(poses: np.ndarray) -> np.ndarray:
    """``[N+1, 4, 4]`` absolute -> ``[N, 4, 4]`` framewise deltas ``inv(T_i) @ T_{i+1}``."""
    poses = _checked(poses, "poses", (4, 4), min_lead=1)
    if poses.ndim != 3:
        raise InputError("poses", "shape [N, 4, 4]", f"shape {list(poses.shape)}")
    rt = np.ascontiguousarray(np.swapaxes(poses[:-1, :3, :3], 1, 2))
    step = (poses[1:, :3, 3] - poses[:-1, :3, 3])[..., None]
    return pose_matrix(rt @ np.ascontiguousarray(poses[1:, :3, :3]), (rt @ step)[..., 0])


def right_multiply_rotation(poses: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """``R_i <- R_i @ rotation`` for every pose (a constant change of the body frame), translations unchanged."""
    out = _checked(poses, "poses", (4, 4)).copy()
    rotation = _checked(rotation, "rotation", (3, 3))
    if rotation.ndim != 2:
        raise InputError("rotation", "one [3, 3] matrix", f"shape {list(rotation.shape)}")
    rot = np.ascontiguousarray(out[..., :3, :3]).reshape(-1, 3)
    out[..., :3, :3] = (rot @ rotation).reshape(out[..., :3, :3].shape)
    return out


def rotation_orthonormality_error(poses: np.ndarray) -> np.ndarray:
    """Per pose ``max |R^T R - I|`` from column norms and dot products (cheaper than a batched matmul)."""
    r = _checked(poses, "poses", (4, 4))[..., :3, :3]
    c0, c1, c2 = r[..., :, 0], r[..., :, 1], r[..., :, 2]
    return _worst([_dot3(c0, c0) - 1.0, _dot3(c1, c1) - 1.0, _dot3(c2, c2) - 1.0,
                   _dot3(c0, c1), _dot3(c0, c2), _dot3(c1, c2)])


def compose_cumulative(deltas: np.ndarray) -> np.ndarray:
    """Prefix products ``P_i = dT_0 @ dT_1 @ ... @ dT_i`` of ``[N, 4, 4]``.

    A blocked scan: the sequence is cut into ~sqrt(N) blocks, prefixes inside all blocks advance together
    (one batched matmul per position), then block offsets are applied with one batched matmul — about 2 sqrt(N)
    numpy calls instead of N Python-level products. Products are associative, so the result equals the
    sequential loop up to float rounding.
    """
    deltas = _checked(deltas, "deltas", (4, 4), min_lead=1)
    if deltas.ndim != 3:
        raise InputError("deltas", "shape [N, 4, 4]", f"shape {list(deltas.shape)}")
    n = len(deltas)
    if n == 0:
        return deltas.copy()
    width = int(np.ceil(np.sqrt(n)))
    count = -(-n // width)
    padded = np.broadcast_to(np.eye(4), (count * width, 4, 4)).copy()
    padded[:n] = deltas
    # [position in block, block, 4, 4]: each step of the inner scan is one contiguous batched matmul.
    blocks = np.ascontiguousarray(padded.reshape(count, width, 4, 4).transpose(1, 0, 2, 3))
    for j in range(1, width):
        blocks[j] = blocks[j - 1] @ blocks[j]
    offsets = np.empty((count, 4, 4))
    offsets[0] = np.eye(4)
    for k in range(1, count):
        offsets[k] = offsets[k - 1] @ blocks[-1, k - 1]
    return (offsets[None] @ blocks).transpose(1, 0, 2, 3).reshape(-1, 4, 4)[:n]


def integrate_relative(deltas: np.ndarray, initial_pose: np.ndarray | None = None) -> np.ndarray:
    """``[N, 4, 4]`` framewise deltas -> ``[N+1, 4, 4]`` absolute poses starting at ``initial_pose`` (default I)."""
    start = np.eye(4) if initial_pose is None else _checked(initial_pose, "initial pose", (4, 4))
    if start.ndim != 2:
        raise InputError("initial pose", "one [4, 4] pose", f"shape {list(start.shape)}")
    return np.concatenate([start[None], start @ compose_cumulative(deltas)], axis=0)


def pose9d_from_matrix(pose: np.ndarray) -> np.ndarray:
    """``[..., 4, 4]`` -> ``[..., 9]`` = ``[translation(3), rot6d(6)]``."""
    pose = _checked(pose, "pose", (4, 4))
    return np.concatenate([pose[..., :3, 3], rot6d_from_matrix(pose[..., :3, :3])], axis=-1)


def matrix_from_pose9d(pose9d: np.ndarray) -> np.ndarray:
    """``[..., 9]`` -> ``[..., 4, 4]`` with the rotation projected onto SO(3)."""
    pose9d = _checked(pose9d, "pose9d", (9,))
    return pose_matrix(matrix_from_rot6d(pose9d[..., 3:9]), pose9d[..., 0:3])


def euler_xyz_to_matrix(euler: np.ndarray) -> np.ndarray:
    """scipy extrinsic ``"xyz"`` Euler angles (rad) ``[..., 3]`` -> ``[..., 3, 3]``."""
    euler = _checked(euler, "euler angles", (3,))
    flat = Rotation.from_euler("xyz", euler.reshape(-1, 3)).as_matrix()
    return flat.reshape(*euler.shape[:-1], 3, 3)


def matrix_to_euler_xyz(rotation: np.ndarray) -> np.ndarray:
    """``[..., 3, 3]`` -> scipy extrinsic ``"xyz"`` Euler angles (rad) ``[..., 3]``."""
    rotation = _checked(rotation, "rotation", (3, 3))
    flat = _rotations(rotation).as_euler("xyz")
    return flat.reshape(*rotation.shape[:-2], 3)


def quat_wxyz_to_matrix(quat: np.ndarray) -> np.ndarray:
    """Scalar-first quaternions ``[..., 4]`` -> ``[..., 3, 3]``."""
    quat = _checked(quat, "quaternion wxyz", (4,))
    flat = _scipy(lambda: Rotation.from_quat(quat.reshape(-1, 4), scalar_first=True), "quaternion wxyz",
                  "non-zero quaternions").as_matrix()
    return flat.reshape(*quat.shape[:-1], 3, 3)


def quat_xyzw_to_matrix(quat: np.ndarray) -> np.ndarray:
    """Scalar-last quaternions ``[..., 4]`` -> ``[..., 3, 3]``."""
    quat = _checked(quat, "quaternion xyzw", (4,))
    flat = _scipy(lambda: Rotation.from_quat(quat.reshape(-1, 4)), "quaternion xyzw",
                  "non-zero quaternions").as_matrix()
    return flat.reshape(*quat.shape[:-1], 3, 3)


def matrix_to_quat_wxyz(rotation: np.ndarray) -> np.ndarray:
    """``[..., 3, 3]`` -> scalar-first quaternions ``[..., 4]``."""
    rotation = _checked(rotation, "rotation", (3, 3))
    flat = _rotations(rotation).as_quat(scalar_first=True)
    return flat.reshape(*rotation.shape[:-2], 4)


def matrix_to_quat_xyzw(rotation: np.ndarray) -> np.ndarray:
    """``[..., 3, 3]`` -> scalar-last quaternions ``[..., 4]``."""
    rotation = _checked(rotation, "rotation", (3, 3))
    flat = _rotations(rotation).as_quat()
    return flat.reshape(*rotation.shape[:-2], 4)


def _rotations(rotation: np.ndarray) -> Rotation:
    """scipy rotations of ``[..., 3, 3]`` (projected onto SO(3)); degenerate matrices are refused."""
    return _scipy(lambda: Rotation.from_matrix(rotation.reshape(-1, 3, 3)), "rotation",
                  "matrices with a positive determinant (near a rotation)")
