"""The unit the dataset writer consumes: one episode, independent of where it came from.

Simulated, replayed and world-model-generated episodes all reduce to the same record (frames per camera,
robot-space states and actions, optional Cosmos 3 model-space actions, optional per-frame success, task, final
success), so one writer serves them all. ``DatasetSpec`` fixes the shapes once per dataset and turns them into
LeRobot features.

Per-frame success uses LeRobot's own convention (what ``lerobot_eval`` writes): feature ``next.success``, bool of
shape ``(1,)``, row ``t`` = success *after* frame ``t``'s action, so training code and LeRobot tools read it
without knowing this toolkit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosmos_robotics.errors import EpisodeRecordError

IMAGE_PREFIX = "observation.images."
STATE_KEY = "observation.state"
ACTION_KEY = "action"
# Cosmos 3 model-space action per frame (normalized contract of the embodiment); see export.model_actions.
MODEL_ACTION_KEY = "action.cosmos3"
# ``lerobot.utils.constants.SUCCESS``; spelled out because importing lerobot costs seconds on every CLI start.
SUCCESS_KEY = "next.success"


@dataclass(frozen=True)
class EpisodeRecord:
    """One episode of ``T`` frames. Row ``t`` of ``actions`` is the command applied after observing frame ``t``."""

    frames: dict[str, np.ndarray]  # camera name -> uint8 [T, H, W, 3]
    states: np.ndarray  # float32 [T, S]
    actions: np.ndarray  # float32 [T, A], the robot's own action space
    task: str
    success: bool
    seed: int | None = None
    model_actions: np.ndarray | None = None  # float32 [T, M]; None when the dataset has no model-space feature
    frame_success: np.ndarray | None = None  # bool [T], success after frame t's action; None: no ``next.success``

    @property
    def length(self) -> int:
        return len(self.states)


@dataclass(frozen=True)
class DatasetSpec:
    """Shapes and names of a dataset's features; every record written must match it exactly."""

    fps: int
    cameras: dict[str, tuple[int, int]]  # name -> (height, width)
    state_names: tuple[str, ...]
    action_names: tuple[str, ...]
    model_action_names: tuple[str, ...] = ()  # empty: no ``action.cosmos3`` feature
    robot_type: str | None = None
    frame_success: bool = False  # declare ``next.success``; every record must then carry ``frame_success``

    def features(self) -> dict[str, dict]:
        """LeRobot v3 feature dict (cameras as videos)."""
        feats: dict[str, dict] = {
            f"{IMAGE_PREFIX}{cam}": {"dtype": "video", "shape": (h, w, 3), "names": ["height", "width", "channels"]}
            for cam, (h, w) in self.cameras.items()
        }
        feats[STATE_KEY] = {"dtype": "float32", "shape": (len(self.state_names),), "names": list(self.state_names)}
        feats[ACTION_KEY] = {"dtype": "float32", "shape": (len(self.action_names),), "names": list(self.action_names)}
        if self.model_action_names:
            feats[MODEL_ACTION_KEY] = {
                "dtype": "float32", "shape": (len(self.model_action_names),), "names": list(self.model_action_names),
            }
        if self.frame_success:
            feats[SUCCESS_KEY] = {"dtype": "bool", "shape": (1,), "names": None}  # as lerobot_eval declares it
        return feats

    def validate(self, record: EpisodeRecord) -> None:
        """Raise ``EpisodeRecordError`` naming expected vs got for the first mismatch."""
        if not isinstance(record.task, str) or not record.task.strip():
            raise EpisodeRecordError("task", "a non-empty string", repr(record.task))
        length = _check_array("states", record.states, np.float32, (None, len(self.state_names)))
        if length == 0:
            raise EpisodeRecordError("length", ">= 1 frame", "0 frames")
        _check_array("actions", record.actions, np.float32, (length, len(self.action_names)))
        if self.model_action_names:
            if record.model_actions is None:
                raise EpisodeRecordError("model_actions", f"float32 [{length}, {len(self.model_action_names)}]", "None")
            _check_array("model_actions", record.model_actions, np.float32, (length, len(self.model_action_names)))
        elif record.model_actions is not None:
            raise EpisodeRecordError("model_actions", "None (dataset has no model-space feature)", "an array")
        if self.frame_success:
            if record.frame_success is None:
                raise EpisodeRecordError("frame_success", f"bool [{length}]", "None")
            _check_array("frame_success", record.frame_success, np.bool_, (length,))
        elif record.frame_success is not None:
            raise EpisodeRecordError("frame_success", f"None (dataset has no {SUCCESS_KEY} feature)", "an array")
        if set(record.frames) != set(self.cameras):
            raise EpisodeRecordError("cameras", str(sorted(self.cameras)), str(sorted(record.frames)))
        for cam, (h, w) in self.cameras.items():
            _check_array(f"frames[{cam!r}]", record.frames[cam], np.uint8, (length, h, w, 3))


def _check_array(what: str, value, dtype: type, shape: tuple[int | None, ...]) -> int:
    """Exact dtype and shape (``None`` = any); returns the leading dim. Finite values for floats."""
    expected = f"{np.dtype(dtype).name} [" + ", ".join("T" if s is None else str(s) for s in shape) + "]"
    if not isinstance(value, np.ndarray):
        raise EpisodeRecordError(what, expected, type(value).__name__)
    got = f"{value.dtype.name} {list(value.shape)}"
    if value.dtype != dtype or value.ndim != len(shape):
        raise EpisodeRecordError(what, expected, got)
    if any(s is not None and s != v for s, v in zip(shape, value.shape, strict=True)):
        raise EpisodeRecordError(what, expected, got)
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise EpisodeRecordError(what, "finite values", f"NaN/inf at {np.argwhere(~np.isfinite(value))[0].tolist()}")
    return value.shape[0]
