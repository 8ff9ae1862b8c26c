"""DROID end-effector contract of Cosmos3-Nano (``droid_lerobot``, 10D) and the ``concat_view`` camera layout.

Raw DROID data: ``observation.state.cartesian_position`` = xyz (m) + scipy extrinsic xyz Euler (rad) of the Franka
flange (panda_link8), ``action.gripper_position`` 0 = open .. 1 = closed, 15 Hz. The model was trained on the flange
rotated into the OpenCV convention (``R @ M``), framewise deltas, the gripper flipped (1 = open), and quantile
normalization with the released stats clamped to [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from cosmos_robotics import geometry
from cosmos_robotics.embodiments.base import PoseAdapter, Preset
from cosmos_robotics.embodiments.domains import domain_stats_file
from cosmos_robotics.embodiments.normalization import QuantileNormalizer, load_stats
from cosmos_robotics.errors import ActionContractError

# 90 deg about the local z axis: DROID panda_link8 orientation -> OpenCV camera convention.
DROID_TO_OPENCV = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
DROID_VIEW_DESCRIPTION = (
    "The top row is from the wrist-mounted camera. The bottom row contains two horizontally concatenated "
    "third-person perspective views of the scene from opposite sides, with the robot visible."
)
DROID_PROMPT = "A robot manipulates an object."
DROID_CAMERAS = ("wrist", "exterior_1", "exterior_2")  # concat_view order


def compose_concat_view(wrist: np.ndarray, exterior_1: np.ndarray, exterior_2: np.ndarray) -> np.ndarray:
    """DROID ``concat_view``: wrist at full size on top, exterior 1 | exterior 2 at half size below.

    Inputs are uint8 ``[..., H, W, 3]`` of one size (DROID: 360x640); the result is ``[..., 3H/2, W, 3]``
    (640x540 for DROID). Half-size resizing is bilinear with half-pixel centres (``align_corners=False``).
    """
    views = {"wrist": wrist, "exterior_1": exterior_1, "exterior_2": exterior_2}
    for key, view in views.items():
        if not isinstance(view, np.ndarray):
            raise ActionContractError("droid", f"{key} image", "a uint8 numpy array [..., H, W, 3]",
                                      type(view).__name__)
    ref = wrist.shape
    for key, view in views.items():
        if view.dtype != np.uint8 or view.ndim < 3 or view.shape[-1] != 3 or view.shape != ref:
            raise ActionContractError(
                "droid", f"{key} image", f"uint8 [..., H, W, 3] all of one shape {ref}", f"{view.dtype} {view.shape}"
            )
    h, w = ref[-3], ref[-2]
    if h % 2 or w % 2 or h < 2 or w < 2:
        raise ActionContractError("droid", "image size", "even height and width", f"{h}x{w}")
    lead = ref[:-3]
    flat = [np.ascontiguousarray(v.reshape(-1, h, w, 3)) for v in (wrist, exterior_1, exterior_2)]
    out = np.empty((len(flat[0]), h + h // 2, w, 3), dtype=np.uint8)
    for i in range(len(out)):
        out[i, :h] = flat[0][i]
        out[i, h:, : w // 2] = cv2.resize(flat[1][i], (w // 2, h // 2), interpolation=cv2.INTER_LINEAR)
        out[i, h:, w // 2 :] = cv2.resize(flat[2][i], (w // 2, h // 2), interpolation=cv2.INTER_LINEAR)
    return out.reshape(*lead, h + h // 2, w, 3)


def split_concat_view(frame: np.ndarray) -> dict[str, np.ndarray]:
    """The inverse of ``compose_concat_view``: ``[..., 3H/2, W, 3]`` -> wrist ``[..., H, W, 3]`` and the two
    exteriors upsampled back to ``H x W`` (bilinear; the half-size detail is lost)."""
    try:
        frame = np.asarray(frame)
    except (ValueError, TypeError):
        frame = np.asarray(None)
    if (frame.dtype != np.uint8 or frame.ndim < 3 or frame.shape[-1] != 3 or frame.shape[-3] % 3 or frame.shape[-2] % 2
            or frame.size == 0):
        raise ActionContractError("droid", "concat_view image", "uint8 [..., 3H/2, W, 3] with H, W even",
                                  f"{frame.dtype} {frame.shape}")
    h, w = frame.shape[-3] * 2 // 3, frame.shape[-2]
    flat = frame.reshape(-1, *frame.shape[-3:])
    out = {"wrist": flat[:, :h]}
    for name, cols in (("exterior_1", slice(0, w // 2)), ("exterior_2", slice(w // 2, w))):
        out[name] = np.stack([cv2.resize(np.ascontiguousarray(f[h:, cols]), (w, h), interpolation=cv2.INTER_LINEAR)
                              for f in flat])
    return {k: v.reshape(*frame.shape[:-3], h, w, 3) for k, v in out.items()}


@dataclass(frozen=True)
class DroidAdapter(PoseAdapter):
    def compose_views(self, views: dict[str, np.ndarray]) -> np.ndarray:
        self.check_views(views)
        return compose_concat_view(*(views[c] for c in DROID_CAMERAS))

    def split_views(self, frame: np.ndarray) -> dict[str, np.ndarray]:
        return split_concat_view(frame)

    def to_model_frame(self, poses: np.ndarray) -> np.ndarray:
        return geometry.right_multiply_rotation(poses, DROID_TO_OPENCV)

    def from_model_frame(self, poses: np.ndarray) -> np.ndarray:
        return geometry.right_multiply_rotation(poses, DROID_TO_OPENCV.T)

    def gripper_to_model(self, gripper: np.ndarray) -> np.ndarray:
        return 1.0 - self.check_range(gripper, "gripper command (0 open .. 1 closed)", 0.0, 1.0)

    def gripper_from_model(self, gripper: np.ndarray) -> np.ndarray:
        return 1.0 - self.check_range(gripper, "decoded gripper (model: 1 open .. 0 closed)", 0.0, 1.0, tol=0.05)

    def poses_from_cartesian(self, cartesian) -> np.ndarray:
        """``[N, 6]`` xyz + Euler xyz -> ``[N, 4, 4]`` flange poses."""
        cartesian = self.as_array(cartesian, "cartesian_position", (None, 6))
        return geometry.pose_matrix(geometry.euler_xyz_to_matrix(cartesian[:, 3:]), cartesian[:, :3])

    def encode_window(self, cartesian_position, gripper_action) -> np.ndarray:
        """``[T+1, 6]`` flange states + ``[T]`` gripper commands -> ``[T, 10]`` normalized model-space chunk."""
        return self.encode_poses(self.poses_from_cartesian(cartesian_position), gripper_action)

    def encode_columns(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        cartesian, gripper = self.check_columns(columns).values()
        return self.encode_window(cartesian, gripper[:-1])

    def decode_from_cartesian(self, model_actions, initial_cartesian):
        """Decode starting from a ``[6]`` cartesian state (the robot's current flange pose)."""
        start = self.as_array(initial_cartesian, "initial cartesian_position", (6,))
        return self.decode(model_actions, self.poses_from_cartesian(start[None])[0])


def droid_contract_box(margin: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame motion that stays inside the shipped DROID q01..q99, derived from the stats (not hand-copied).

    Returns ``(low, high)`` of ``[dx, dy, dz, rx, ry, rz]`` in the model frame (m, rad about each axis): translation
    ``margin * [q01, q99]`` per axis; rotation ``margin * asin(q)`` of the smallest rot6d entry a rotation about that
    axis moves (x: R21, y: R20, z: R10 and R01), so a motion inside the box is never clamped by normalization.
    """
    q01, q99 = load_stats(domain_stats_file("droid_lerobot"))
    moved = {0: (8,), 1: (5,), 2: (4, 6)}  # rot6d = [R00, R10, R20, R01, R11, R21] at action dims 3..8
    rotation = np.array([np.arcsin(min(min(-q01[i], q99[i]) for i in moved[axis])) for axis in range(3)])
    low = margin * np.concatenate([q01[:3], -rotation])
    high = margin * np.concatenate([q99[:3], rotation])
    return low, high


def make_droid_adapter(clamp: bool = True) -> DroidAdapter:
    q01, q99 = load_stats(domain_stats_file("droid_lerobot"))
    return DroidAdapter(
        name="droid",
        domain_name="droid_lerobot",
        action_dim=10,
        preset=Preset(chunk_size=16, fps=15, resolution_tier=480, view_point="concat_view", prompt=DROID_PROMPT),
        normalizer=QuantileNormalizer(q01, q99, clamp=clamp),
        frame="DROID robot base frame, flange (panda_link8) orientation, meters",
        cameras=DROID_CAMERAS,
        lerobot_columns=("observation.state.cartesian_position", "action.gripper_position"),
        description="Franka end-effector [dt, rot6d, gripper(1=open)], quantile-normalized, 15 Hz, concat_view",
    )
