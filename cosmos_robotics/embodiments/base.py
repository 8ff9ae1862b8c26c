"""What every embodiment adapter shares: presets, validation, and the pose-delta encode/decode pipeline.

An adapter owns one Cosmos 3 action contract. ``encode_*`` turns robot data into the model-space chunk the model
was trained on; ``decode`` turns a model-space chunk back into absolute poses (or joint targets) + gripper a robot
can execute. Subclasses only say how their robot frame maps to the model frame and how their gripper is coded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from cosmos_robotics import geometry
from cosmos_robotics.embodiments.normalization import QuantileNormalizer
from cosmos_robotics.errors import ActionContractError, ClampWarning, InputError, UnsupportedModeError
from cosmos_robotics.inputs import real_array


class ActionMode(StrEnum):
    FORWARD_DYNAMICS = "forward_dynamics"
    INVERSE_DYNAMICS = "inverse_dynamics"
    POLICY = "policy"


ALL_MODES = (ActionMode.FORWARD_DYNAMICS, ActionMode.INVERSE_DYNAMICS, ActionMode.POLICY)


@dataclass(frozen=True)
class Preset:
    """Sampling settings the cookbook uses for an embodiment (the pipeline's own defaults are wrong for actions)."""

    chunk_size: int
    fps: float
    resolution_tier: int
    view_point: str
    prompt: str
    num_inference_steps: int = 30
    guidance_scale: float = 1.0
    flow_shift: float = 10.0


@dataclass(frozen=True)
class RobotCommand:
    """A decoded chunk: absolute poses (``[T+1, 4, 4]``, pose 0 = the start) and/or joint targets, plus gripper."""

    embodiment: str
    frame: str
    poses: np.ndarray | None = None
    gripper: np.ndarray | None = None
    joint_positions: np.ndarray | None = None

    @property
    def cartesian(self) -> np.ndarray:
        """``[T+1, 6]`` = xyz (m) + scipy extrinsic xyz Euler angles (rad), the DROID cartesian layout."""
        if self.poses is None:
            raise ActionContractError(self.embodiment, "cartesian", "a pose-based command", "joint targets")
        return np.concatenate([self.poses[:, :3, 3], geometry.matrix_to_euler_xyz(self.poses[:, :3, :3])], axis=1)

    def to_json(self) -> dict:
        out: dict = {"embodiment": self.embodiment, "frame": self.frame}
        if self.poses is not None:
            out["poses"] = self.poses.tolist()
        if self.joint_positions is not None:
            out["joint_positions"] = self.joint_positions.tolist()
        if self.gripper is not None:
            out["gripper"] = self.gripper.tolist()
        return out


def _describe(array: np.ndarray) -> str:
    return f"shape {tuple(array.shape)} dtype {array.dtype}"


@dataclass(frozen=True)
class EmbodimentAdapter:
    """Base of all adapters; concrete adapters are frozen dataclasses with class-level defaults."""

    name: str
    domain_name: str
    action_dim: int
    preset: Preset
    modes: tuple[ActionMode, ...] = ALL_MODES
    normalizer: QuantileNormalizer | None = None
    description: str = ""
    # Model outputs whose rot6d columns are further than this from orthonormal are rejected, not projected.
    rot6d_tolerance: float = 0.2
    extra: dict = field(default_factory=dict)
    cameras: tuple[str, ...] = ("camera",)  # the views ``compose_views`` combines into the model's input image

    @property
    def needs_start_pose(self) -> bool:
        """Whether decoded actions are relative to a start pose (pose deltas) rather than absolute."""
        return False

    @property
    def state_conditioned(self) -> bool:
        """Whether the contract puts the robot state in the chunk as a clean conditioning row (Policy-DROID)."""
        return False

    # -- validation -------------------------------------------------------------------------------------------
    def check_mode(self, mode: str) -> ActionMode:
        try:
            resolved = ActionMode(mode)
        except ValueError:
            raise UnsupportedModeError(
                f"[{self.name}] unknown mode {mode!r}; expected one of {[m.value for m in ActionMode]}"
            ) from None
        if resolved not in self.modes:
            raise UnsupportedModeError(
                f"[{self.name}] mode {resolved.value!r} is not offered; supported: {[m.value for m in self.modes]}"
            )
        return resolved

    def as_array(self, value, what: str, shape: tuple[int | None, ...] | None) -> np.ndarray:
        """Validate dtype (real numbers), rank, fixed dims and finiteness; return float64.

        ``shape`` ``None`` accepts any shape. Lists are walked by the input layer, so ragged rows, strings and
        booleans are refused, not coerced."""
        if not isinstance(value, np.ndarray):
            try:
                value = real_array(value, what)
            except InputError as exc:
                raise ActionContractError(self.name, what, exc.expected, exc.got) from None
        array = value
        if array.dtype.kind not in "fiu":
            raise ActionContractError(self.name, what, "a real-valued array", _describe(array))
        if shape is None:
            shape = (None,) * array.ndim
        expected = "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
        if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape, strict=True)):
            raise ActionContractError(self.name, what, f"shape {expected}", _describe(array))
        if not np.isfinite(array).all():
            bad = np.argwhere(~np.isfinite(array))[:3].tolist()
            raise ActionContractError(self.name, what, "finite values", f"NaN/inf at indices {bad}")
        return array.astype(np.float64)

    def validate_model_actions(self, model_actions) -> np.ndarray:
        """A model-space chunk of any length: ``[T, action_dim]`` finite reals."""
        array = self.as_array(model_actions, "model-space actions", (None, self.action_dim))
        if len(array) == 0:
            raise ActionContractError(self.name, "model-space actions", "at least one row", "0 rows")
        return array

    def validate_chunk(self, model_actions) -> np.ndarray:
        """A chunk for one model call: additionally no longer than the preset's chunk size."""
        array = self.validate_model_actions(model_actions)
        if len(array) > self.preset.chunk_size:
            raise ActionContractError(
                self.name, "action chunk length", f"<= {self.preset.chunk_size} rows (the preset chunk size)",
                f"{len(array)} rows; split it into chunks (see world_models rollouts)",
            )
        return array

    def check_range(self, values: np.ndarray, what: str, low: float, high: float, tol: float = 0.0) -> np.ndarray:
        """Reject values outside [low - tol, high + tol]; values in the tolerance band are clipped with a warning."""
        values = self.as_array(values, what, None)
        outside = (values < low - tol) | (values > high + tol)
        if outside.any():
            idx = np.argwhere(outside)[:3].tolist()
            raise ActionContractError(
                self.name, what, f"values in [{low}, {high}]",
                f"min {values.min():.4g}, max {values.max():.4g} (first offending indices {idx})",
            )
        band = (values < low) | (values > high)
        if band.any():
            warnings.warn(
                f"[{self.name}] {what}: clipped {int(band.sum())} values within {tol} of [{low}, {high}]",
                ClampWarning, stacklevel=3,
            )
        return np.clip(values, low, high)

    # -- camera views ----------------------------------------------------------------------------------------
    def check_views(self, views) -> None:
        if not isinstance(views, dict) or set(views) != set(self.cameras):
            got = ", ".join(sorted(map(str, views))) if isinstance(views, dict) else type(views).__name__
            raise ActionContractError(self.name, "camera views", f"a dict of exactly {', '.join(self.cameras)}",
                                      got or "none")

    def image(self, value, what: str) -> np.ndarray:
        """A uint8 ``[..., H, W, 3]`` image (stack), or a typed error."""
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):
            array = np.asarray(None)
        if array.dtype != np.uint8 or array.ndim < 3 or array.shape[-1] != 3:
            raise ActionContractError(self.name, what, "uint8 [..., H, W, 3]", f"{array.dtype} {array.shape}")
        return array

    def compose_views(self, views: dict[str, np.ndarray]) -> np.ndarray:
        """Camera views -> the model's input image; one camera by default."""
        self.check_views(views)
        return self.image(views[self.cameras[0]], f"{self.cameras[0]} image")

    def split_views(self, frame: np.ndarray) -> dict[str, np.ndarray]:
        return {self.cameras[0]: self.image(frame, "frame")}

    # -- normalization ----------------------------------------------------------------------------------------
    def normalize(self, raw: np.ndarray) -> np.ndarray:
        """Raw ``[T, action_dim]`` -> model space (quantile-normalized where the contract is)."""
        raw = self.as_array(raw, "raw actions", (None, self.action_dim))
        return raw if self.normalizer is None else self.normalizer.normalize(raw, self.name)

    def denormalize(self, model_actions: np.ndarray) -> np.ndarray:
        model_actions = self.as_array(model_actions, "model-space actions", (None, self.action_dim))
        return model_actions if self.normalizer is None else self.normalizer.denormalize(model_actions)

    def decode_rollout(self, model_actions, initial_pose=None) -> RobotCommand:
        """Consecutive chunks of any total length (a rollout, or ID over a long video) -> one command.

        Chunk k is decoded (by the subclass's ``decode``) from where chunk k-1 ended, as a robot executes them."""
        actions = self.validate_model_actions(model_actions)
        size = self.preset.chunk_size
        commands, start = [], initial_pose
        for begin in range(0, len(actions), size):
            commands.append(self.decode(actions[begin : begin + size], start))
            start = None if commands[-1].poses is None else commands[-1].poses[-1]

        def joined(name: str, skip_first: bool = False):
            parts = [getattr(c, name) for c in commands]
            if parts[0] is None:
                return None
            return np.concatenate([parts[0]] + [p[1:] if skip_first else p for p in parts[1:]])

        first = commands[0]
        return RobotCommand(first.embodiment, first.frame, poses=joined("poses", skip_first=True),
                            gripper=joined("gripper"), joint_positions=joined("joint_positions"))


@dataclass(frozen=True)
class PoseAdapter(EmbodimentAdapter):
    """Contracts of the form ``[dt(3) * translation_scale, rot6d(6), gripper?]`` over framewise pose deltas.

    Subclasses override the frame and gripper hooks; the delta math is shared.
    """

    translation_scale: float = 1.0
    has_gripper: bool = True
    frame: str = "world"
    lerobot_columns: tuple[str, ...] = ()  # raw LeRobot v3 columns that ``encode_columns`` reads
    # Axes of a trajectory plot: the ground plane first. Camera frames (OpenCV: z forward, y down) use (0, 2, 1).
    plot_axes: tuple[int, int, int] = (0, 1, 2)

    @property
    def needs_start_pose(self) -> bool:
        return True

    def encode_columns(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Raw LeRobot columns of a window of ``T+1`` frames -> ``[T, action_dim]`` model space."""
        raise ActionContractError(self.name, "LeRobot columns", "an embodiment recorded as LeRobot data", "none known")

    def check_columns(self, columns) -> dict[str, np.ndarray]:
        """``columns`` must hold this adapter's ``lerobot_columns``, as equal-length arrays."""
        if not self.lerobot_columns:
            raise ActionContractError(self.name, "LeRobot columns", "an embodiment recorded as LeRobot data",
                                      "none known")
        if not isinstance(columns, dict) or any(c not in columns for c in self.lerobot_columns):
            got = sorted(map(str, columns))[:6] if isinstance(columns, dict) else type(columns).__name__
            raise ActionContractError(self.name, "LeRobot columns", f"a dict with {list(self.lerobot_columns)}",
                                      str(got))
        arrays = {c: self.as_array(columns[c], c, None) for c in self.lerobot_columns}
        lengths = {len(a) if a.ndim else 0 for a in arrays.values()}
        if len(lengths) != 1 or 0 in lengths:
            raise ActionContractError(self.name, "LeRobot columns", "non-empty columns of one length",
                                      f"lengths {sorted(lengths)}")
        return arrays

    def encode_lerobot_window(self, columns: dict[str, np.ndarray], start: int, length: int | None = None) -> np.ndarray:
        """Encode frames ``start .. start+T`` of an episode's columns (``T`` = preset chunk size by default)."""
        length = self.preset.chunk_size if length is None else length
        columns = self.check_columns(columns)
        for name, value in (("start", start), ("length", length)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ActionContractError(self.name, f"window {name}", "an integer", repr(value)[:40])
        frames = len(next(iter(columns.values())))
        if start < 0 or length < 1 or start + length >= frames:
            raise ActionContractError(self.name, "window", f"start >= 0 and start + length < {frames} frames",
                                      f"start {start}, length {length}")
        return self.encode_columns({k: v[start : start + length + 1] for k, v in columns.items()})

    def to_model_frame(self, poses: np.ndarray) -> np.ndarray:
        """Robot poses -> the frame whose deltas the model was trained on (default: unchanged)."""
        return poses

    def from_model_frame(self, poses: np.ndarray) -> np.ndarray:
        return poses

    def gripper_to_model(self, gripper: np.ndarray) -> np.ndarray:
        return gripper

    def gripper_from_model(self, gripper: np.ndarray) -> np.ndarray:
        return gripper

    def validate_poses(self, poses, what: str = "poses") -> np.ndarray:
        poses = self.as_array(poses, what, (None, 4, 4))
        err = geometry.rotation_orthonormality_error(poses)
        if (err > 1e-4).any() or np.abs(poses[:, 3] - [0, 0, 0, 1]).max(initial=0.0) > 1e-9:
            raise ActionContractError(
                self.name, what, "rigid transforms (orthonormal rotation, last row [0,0,0,1])",
                f"max rotation orthonormality error {err.max(initial=0.0):.3g} at index "
                f"{int(err.argmax()) if len(err) else 0} (or a last row other than [0, 0, 0, 1])",
            )
        return poses

    def encode_poses(self, poses, gripper=None) -> np.ndarray:
        """``[T+1, 4, 4]`` absolute poses (+ ``[T]`` gripper commands) -> ``[T, action_dim]`` model space."""
        poses = self.validate_poses(poses)
        if len(poses) < 2:
            raise ActionContractError(self.name, "poses", ">= 2 poses (T+1 for T actions)", f"{len(poses)}")
        rel = geometry.pose9d_from_matrix(geometry.relative_poses(self.to_model_frame(poses)))
        rel[:, :3] *= self.translation_scale
        if self.has_gripper:
            if gripper is None:
                raise ActionContractError(self.name, "gripper", f"[{len(rel)}] gripper commands", "None")
            gripper = self.as_array(gripper, "gripper", (len(rel),))
            rel = np.concatenate([rel, self.gripper_to_model(gripper)[:, None]], axis=1)
        elif gripper is not None:
            raise ActionContractError(self.name, "gripper", "None (this embodiment has no gripper)", "an array")
        return self.normalize(rel)

    def decode(self, model_actions, initial_pose=None) -> RobotCommand:
        """``[T, action_dim]`` model space -> ``[T+1, 4, 4]`` absolute poses from ``initial_pose`` (+ gripper).

        ``T`` is at most the preset's chunk size (use :meth:`decode_rollout` for several chunks)."""
        raw = self.denormalize(self.validate_chunk(model_actions))
        err = geometry.rot6d_orthonormality_error(raw[:, 3:9])
        if (err > self.rot6d_tolerance).any():
            raise ActionContractError(
                self.name, "rot6d columns (after denormalization)",
                f"near-orthonormal columns (error <= {self.rot6d_tolerance})",
                f"error {err.max():.3g} at row {int(err.argmax())}; are these actions in this embodiment's model space?",
            )
        deltas = geometry.matrix_from_pose9d(raw[:, :9])
        deltas[:, :3, 3] /= self.translation_scale
        start = np.eye(4) if initial_pose is None else self.validate_poses(
            self.as_array(initial_pose, "initial pose", (4, 4))[None], "initial pose")[0]
        poses = self.from_model_frame(geometry.integrate_relative(deltas, self.to_model_frame(start[None])[0]))
        gripper = self.gripper_from_model(raw[:, 9]) if self.has_gripper else None
        return RobotCommand(embodiment=self.name, frame=self.frame, poses=poses, gripper=gripper)
