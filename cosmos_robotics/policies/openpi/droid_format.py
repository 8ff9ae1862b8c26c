"""The Cosmos3-Nano-Policy-DROID wire format (RoboLab reference server, vLLM-Omni): our observations <-> its
messages, its ``[32, 8]`` replies <-> ``ActionChunk``. One module for both sides (client and ``serve-policy``).

Request: the three RoboArena views ``observation/{wrist_image_left, exterior_image_1_left, exterior_image_2_left}``
(uint8 HxWx3) or one composed ``observation/image`` (540x640: the wrist view on top, the two exterior views at half
size side by side below, each view letterboxed to 360x640 first, as RoboLab does), ``observation/joint_position``
(7 rad), ``observation/gripper_position`` (DROID: 0 open .. 1 closed), ``prompt``, and a ``session_id``.
Reply: ``[32, 8]`` float32 absolute joint targets + gripper, under ``"action"`` (Cosmos reference), ``"actions"``
(openpi) or as the bare array (vLLM-Omni); errors as ``{"type": "error", "message": ...}`` or a text frame.

The gripper is in DROID's convention on the wire in both directions: the model-space flip (``1 - g``) belongs to
the ``droid_joint`` adapter (``encode_state`` / ``decode``) and happens only inside a server that runs the model.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from cosmos_robotics.embodiments import get_adapter
from cosmos_robotics.errors import JobFailedError, MalformedResponseError, PayloadError, RequestRejectedError
from cosmos_robotics.policies.base import ActionChunk

VIEW_KEYS = {"wrist": "observation/wrist_image_left", "exterior_1": "observation/exterior_image_1_left",
             "exterior_2": "observation/exterior_image_2_left"}
IMAGE_KEY, JOINTS_KEY, GRIPPER_KEY, PROMPT_KEY = ("observation/image", "observation/joint_position",
                                                  "observation/gripper_position", "prompt")
COMPOSED_SIZE, VIEW_SIZE = (540, 640), (360, 640)  # (H, W)
HORIZON, ACTION_DIM, FPS = 32, 8, 15
STATE_KEY, IMAGE_PREFIX = "observation.state", "observation.images."
GRIPPER, JOINTS = 6, slice(7, 14)  # SimDroid-v0 observation.state layout
ADAPTER = get_adapter("droid_joint")


# ------------------------------------------------------------------ images
def resize_with_pad(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Fit ``image`` into ``height x width`` keeping its aspect, centred on black (openpi's ``resize_with_pad``)."""
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    out = np.zeros((height, width, 3), np.uint8)
    top, left = (height - nh) // 2, (width - nw) // 2
    out[top:top + nh, left:left + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out


def unpad(image: np.ndarray, aspect: float) -> np.ndarray:
    """The centred region of ``image`` with width/height ``aspect``: undoes ``resize_with_pad`` of such a view."""
    h, w = image.shape[:2]
    if w / h > aspect:
        keep = round(h * aspect)
        return image[:, (w - keep) // 2:(w - keep) // 2 + keep]
    keep = round(w / aspect)
    return image[(h - keep) // 2:(h - keep) // 2 + keep]


def compose(views: dict[str, np.ndarray]) -> np.ndarray:
    """Three views -> the 540x640 concat view: wrist on top, exterior 1 | exterior 2 at half size below."""
    h, w = VIEW_SIZE
    wrist = resize_with_pad(views["wrist"], h, w)
    below = [cv2.resize(resize_with_pad(views[v], h, w), (w // 2, h // 2), interpolation=cv2.INTER_LINEAR)
             for v in ("exterior_1", "exterior_2")]
    return np.concatenate([wrist, np.concatenate(below, axis=1)])


def decompose(image: np.ndarray) -> dict[str, np.ndarray]:
    """The concat view -> its three letterboxed views (wrist: top 2/3; exteriors: bottom-left, bottom-right)."""
    top = image.shape[0] * 2 // 3
    half = image.shape[1] // 2
    return {"wrist": image[:top], "exterior_1": image[top:, :half], "exterior_2": image[top:, half:]}


# ------------------------------------------------------------------ client side
def request(observation: dict[str, Any], session_id: str, composed: bool = False) -> dict[str, Any]:
    """Our observation (LeRobot keys, SimDroid ``observation.state``) -> a Policy-DROID request."""
    state = np.asarray(observation[STATE_KEY], np.float32)
    views = {v: np.asarray(observation[IMAGE_PREFIX + v], np.uint8) for v in VIEW_KEYS}
    images = {IMAGE_KEY: compose(views)} if composed else {VIEW_KEYS[v]: views[v] for v in VIEW_KEYS}
    return {**images, JOINTS_KEY: state[JOINTS].copy(), GRIPPER_KEY: state[GRIPPER:GRIPPER + 1].copy(),
            PROMPT_KEY: str(observation.get("task", "")), "session_id": session_id}


def reply_actions(reply: Any, url: str = "") -> np.ndarray:
    """Every reply shape in the field -> the ``[T, 8]`` array. A text frame (openpi's traceback) or an error
    map (vLLM-Omni, ``serve-policy``) raises ``JobFailedError``, or ``RequestRejectedError`` for invalid input."""
    if isinstance(reply, str):
        raise JobFailedError(f"policy server error (text frame): {reply.strip()[-2000:]}", url)
    if isinstance(reply, dict):
        if reply.get("type") == "error":
            message = str(reply.get("message", ""))
            error = RequestRejectedError if "invalid" in message.lower() else JobFailedError
            raise error(f"policy server error: {message}", url)
        for key in ("action", "actions"):
            if key in reply:
                return reply[key]
        raise MalformedResponseError(f"policy reply: expected an 'action' or 'actions' array, got keys "
                                     f"{sorted(map(str, reply))}", url)
    if not isinstance(reply, np.ndarray):
        raise MalformedResponseError(f"policy reply: expected a map or an array, got {type(reply).__name__}", url)
    return reply


def chunk_from_reply(reply: Any, url: str = "") -> ActionChunk:
    """A Policy-DROID reply -> absolute joint targets + gripper (DROID convention), checked against the contract."""
    actions = ADAPTER.validate_model_actions(reply_actions(reply, url))
    joints = ADAPTER.check_joints(actions[:, :7], "joint targets")
    gripper = ADAPTER.check_range(actions[:, 7], "gripper target (0 open .. 1 closed)", 0.0, 1.0)
    meta = {k: reply[k] for k in ("valid_steps", "server_timing", "timing") if isinstance(reply, dict) and k in reply}
    return ActionChunk(ADAPTER.name, FPS, gripper, joint_positions=joints, metadata=meta)


# ------------------------------------------------------------------ server side
def _rows(message: dict, key: str, width: int) -> np.ndarray:
    """``[width]`` or a history ``[T, width]`` of finite reals -> the latest row."""
    if key not in message:
        raise PayloadError(key, "present", "missing")
    value = np.asarray(message[key])
    if value.dtype.kind not in "fiu" or value.size == 0 or value.size % width or not np.isfinite(value).all():
        raise PayloadError(key, f"finite reals, [{width}] or [T, {width}]", f"{value.dtype} {value.shape}")
    return value.reshape(-1, width)[-1].astype(np.float64)


def _image(message: dict, key: str) -> np.ndarray:
    image = np.asarray(message[key])
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 8:
        raise PayloadError(key, "uint8 H x W x 3 (H, W >= 8)", f"{image.dtype} {image.shape}")
    return image


def observation(message: Any, image_size: tuple[int, int], kinematics) -> dict[str, Any]:
    """A Policy-DROID request -> our observation at ``image_size``, with the flange pose from ``kinematics``.

    Each view is centre-cropped to the policy's aspect (undoing RoboLab's letterbox) and resized to ``image_size``;
    a joint/gripper history ``[T, ...]`` contributes its latest row."""
    if not isinstance(message, dict):
        raise PayloadError("message", "a map of observation keys", type(message).__name__)
    if all(k in message for k in VIEW_KEYS.values()):
        views = {v: _image(message, k) for v, k in VIEW_KEYS.items()}
    elif IMAGE_KEY in message:
        views = decompose(_image(message, IMAGE_KEY))
    else:
        raise PayloadError("images", f"{IMAGE_KEY} or all of {', '.join(VIEW_KEYS.values())}",
                           f"keys {sorted(map(str, message))}")
    joints = _rows(message, JOINTS_KEY, 7)
    gripper = float(_rows(message, GRIPPER_KEY, 1)[0])
    if not 0.0 <= gripper <= 1.0:
        raise PayloadError(GRIPPER_KEY, "a value in [0, 1] (0 open .. 1 closed)", f"{gripper:.4g}")
    prompt = message.get(PROMPT_KEY, "")
    if isinstance(prompt, bytes):
        prompt = prompt.decode("utf-8", "replace")
    if not isinstance(prompt, str):
        raise PayloadError(PROMPT_KEY, "a string", type(prompt).__name__)
    h, w = image_size
    obs = {IMAGE_PREFIX + v: cv2.resize(unpad(img, w / h), (w, h), interpolation=cv2.INTER_AREA)
           for v, img in views.items()}
    state = np.concatenate([kinematics.cartesian(joints), [gripper], joints]).astype(np.float32)
    return {**obs, STATE_KEY: state, "task": prompt}


def action(chunk: ActionChunk, joints_now: np.ndarray, kinematics) -> tuple[np.ndarray, int]:
    """A chunk (flange poses or joints) -> the ``[32, 8]`` reply and how many rows the policy planned.

    Pose chunks become joint targets by inverse kinematics from ``joints_now``; chunks shorter than 32 rows hold
    their last target for the remaining rows (``valid_steps`` says where the plan ends).
    """
    joints = (chunk.joint_positions if chunk.kind == "joints"
              else kinematics.solve(chunk.poses, joints_now))
    rows = np.concatenate([joints, np.asarray(chunk.gripper)[:, None]], axis=1)[:HORIZON]
    valid = len(rows)
    rows = np.concatenate([rows, np.repeat(rows[-1:], HORIZON - valid, axis=0)])
    return rows.astype(np.float32), valid
