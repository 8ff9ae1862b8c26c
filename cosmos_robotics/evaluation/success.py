"""Success detection as its own part: what decides that a world-model episode succeeded.

A detector judges an episode's last observations (``{key: [K, ...]}``, LeRobot keys, last row = final):

* ``head`` -- the embedded model's success head on the final frame and state (its step-0 probability);
* ``frame`` -- a pixel detector on the final wrist view and state: the fraction of the ring around the red cube
  that is plate-white, counted only with the gripper open (``gripper < 0.25``, the simulator's own rule);
* ``reasoner`` -- the Cosmos 3 Reasoner judge (``reasoning.ReasonerSuccessJudge``, a served Reasoner), or any
  callable ``(frames, task) -> verdict`` with ``.success`` (``.confidence``, ``.reason`` optional), given the world
  model's composed frames of the kept observations.

Thresholds of ``head`` and ``frame`` come from ``calibration.json``, made by ``benchmarks/ope_calibrate.py`` on
held-out simulator episodes (their seeds are excluded from every evaluation); their accuracy on the evaluation's
own simulator episodes is reported, never used to tune them.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import numpy as np

from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.evaluation.protocol import SeedRange
from cosmos_robotics.reasoning.judge import SuccessVerdict

CALIBRATION = Path(__file__).parent / "calibration.json"
GRIPPER_OPEN = 0.25  # SimDroidEnv.is_success: gripper position below this
IMAGE_PREFIX, STATE_KEY = "observation.images.", "observation.state"


class DetectorError(CosmosRoboticsError, ValueError):
    """A detector spec that names nothing usable, or a detector without a calibrated threshold."""


@dataclass
class ThresholdDetector:
    """A score in [0, 1] per episode and a threshold calibrated on held-out simulator episodes."""

    name: str
    threshold: float
    calibration: dict = field(default_factory=dict)

    def calibration_ranges(self) -> list[SeedRange]:
        seeds = self.calibration.get("seeds")
        return [SeedRange(f"{self.name} detector calibration", *seeds)] if seeds else []

    def describe(self) -> dict:
        return {"name": self.name, "threshold": self.threshold, "calibration": self.calibration}

    def scores(self, observations: list[dict[str, np.ndarray]], task: str) -> np.ndarray:
        raise NotImplementedError

    def judge(self, observations: list[dict[str, np.ndarray]], task: str) -> list[SuccessVerdict]:
        return [SuccessVerdict(bool(s > self.threshold), float(s), f"{self.name} score {s:.3f} vs {self.threshold:.3f}",
                               "")
                for s in self.scores(observations, task)]


class HeadDetector(ThresholdDetector):
    """The embedded model's success head on the final frame + state (one batched call, no frames decoded)."""

    def __init__(self, world_model, threshold: float, calibration: dict | None = None):
        super().__init__("head", threshold, calibration or {})
        self.world_model = world_model

    def scores(self, observations, task):
        from cosmos_robotics.embodiments import ActionMode
        from cosmos_robotics.world_models.base import WorldModelRequest

        requests = []
        for o in observations:
            views = {c: o[IMAGE_PREFIX + c][-1] for c in ("wrist", "exterior_1", "exterior_2")}
            frame = self.world_model.compose_frame("droid", views)
            requests.append(WorldModelRequest(ActionMode.POLICY, "droid", frame[None], prompt=task,
                                              state=o[STATE_KEY][-1].astype(np.float32), decode_video=False))
        results = self.world_model.generate_batch(requests) if requests else []
        if results and "success_probability" not in results[0].extras:
            raise DetectorError(f"detector 'head' needs a backend with a success head (the embedded model), "
                                f"got {self.world_model.name!r}: use --detector frame or a judge")
        return np.array([float(r.extras["success_probability"][0]) for r in results])


def ring_plate_fraction(wrist: np.ndarray, ring: int = 3) -> float:
    """Fraction of the pixels within ``ring`` px around the red cube that are plate-white (0 without a cube)."""
    import cv2

    image = wrist.astype(np.int16)
    red = (image[..., 0] > 150) & (image[..., 1] < 90) & (image[..., 2] < 90)
    if red.sum() < 4:
        return 0.0
    kernel = np.ones((2 * ring + 1, 2 * ring + 1), np.uint8)
    around = cv2.dilate(red.astype(np.uint8), kernel).astype(bool) & ~red
    white = (image > 200).all(axis=-1)
    return float(white[around].mean()) if around.any() else 0.0


class FrameDetector(ThresholdDetector):
    """Pixels and state only, so it judges any backend's predicted frames the same way as rendered ones."""

    def __init__(self, threshold: float, calibration: dict | None = None):
        super().__init__("frame", threshold, calibration or {})

    def scores(self, observations, task):
        return np.array([ring_plate_fraction(o[IMAGE_PREFIX + "wrist"][-1]) * (o[STATE_KEY][-1][6] < GRIPPER_OPEN)
                         for o in observations], np.float64)


class CallableDetector:
    """Any ``(frames, task) -> verdict`` (``.success``; ``.confidence`` / ``.reason`` / ``.raw`` if present)."""

    def __init__(self, fn, world_model):
        self.fn, self.world_model = fn, world_model
        self.name = getattr(fn, "name", None) or f"{type(fn).__module__}.{type(fn).__qualname__}"
        self.threshold = None

    def calibration_ranges(self) -> list[SeedRange]:
        return [SeedRange(f"{self.name} calibration", int(a), int(b)) for a, b in getattr(self.fn, "training_seeds", ())]

    def describe(self) -> dict:
        return {"name": self.name, "threshold": None, "calibration": {"note": "the judge's own decision"}}

    def judge(self, observations, task):
        verdicts = []
        for o in observations:
            views = {c: o[IMAGE_PREFIX + c] for c in ("wrist", "exterior_1", "exterior_2")}
            v = self.fn(self.world_model.compose_frame("droid", views), task)
            confidence = getattr(v, "confidence", None)
            verdicts.append(SuccessVerdict(bool(v.success), float("nan") if confidence is None else float(confidence),
                                           str(getattr(v, "reason", "")), getattr(v, "raw", "")))
        return verdicts


def calibrated(name: str) -> tuple[float, dict]:
    if not CALIBRATION.is_file():
        raise DetectorError(f"no calibrated threshold for detector {name!r}: expected {CALIBRATION} "
                            "(run benchmarks/ope_calibrate.py)")
    entry = json.loads(CALIBRATION.read_text())["detectors"][name]
    return float(entry["threshold"]), {k: v for k, v in entry.items() if k != "threshold"}


def make_detector(spec, world_model):
    """``"head"``, ``"frame"``, ``"reasoner"``, ``"module:attribute"`` (a callable, or a class built without arguments), or a
    callable / detector object."""
    if not isinstance(spec, str):
        return spec if hasattr(spec, "judge") else CallableDetector(spec, world_model)
    if spec == "head":
        return HeadDetector(world_model, *calibrated("head"))
    if spec == "frame":
        return FrameDetector(*calibrated("frame"))
    if spec == "reasoner":
        from cosmos_robotics.reasoning.judge import ReasonerSuccessJudge

        return CallableDetector(ReasonerSuccessJudge(), world_model)
    module, sep, attribute = spec.partition(":")
    if not sep:
        raise DetectorError(f"unknown success detector {spec!r}: expected head, frame, reasoner or module:callable")
    try:
        target = getattr(import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise DetectorError(f"success detector {spec!r} cannot be imported: {exc}") from None
    return CallableDetector(target() if inspect.isclass(target) else target, world_model)


def best_threshold(scores, labels) -> tuple[float, float]:
    """The threshold (midpoint between adjacent scores) with the best balanced accuracy; returns it and that
    accuracy. Ties go to the lowest threshold."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, bool)
    values = np.unique(scores)
    candidates = np.concatenate([[values[0] - 1e-6], (values[1:] + values[:-1]) / 2, [values[-1]]])
    best = (-1.0, 0.0)
    for t in candidates:
        predicted = scores > t
        tpr = (predicted & labels).sum() / max(labels.sum(), 1)
        tnr = (~predicted & ~labels).sum() / max((~labels).sum(), 1)
        if (tpr + tnr) / 2 > best[0]:
            best = ((tpr + tnr) / 2, float(t))
    return best[1], best[0]
