"""Quantile normalization of model-space actions, with the released Cosmos 3 statistics.

Cosmos 3 was trained on ``n = (a - mid) / half`` with ``mid = (q99 + q01) / 2``, ``half = max(q99 - q01, 1e-8) / 2``.
No serving path (diffusers, vLLM-Omni, TensorRT-LLM, NIM) applies it for you: feeding raw DROID deltas makes them
~55x too small and the gripper never closes. The stats files ship in ``stats/`` (OpenMDW-1.1, licence beside them).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from importlib import resources

import numpy as np

from cosmos_robotics.errors import ClampWarning, InputError
from cosmos_robotics.inputs import real_array


def load_stats(filename: str, dims: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """Read ``q01``/``q99`` of a bundled stats file (``dims`` selects e.g. the right arm of a bimanual file)."""
    path = resources.files("cosmos_robotics.embodiments").joinpath("stats", str(filename))
    if not path.is_file():
        raise InputError("stats file", "one of the bundled stats files", repr(filename))
    stats = json.loads(path.read_text())
    stats = stats.get("global", stats)
    return np.asarray(stats["q01"], dtype=np.float64)[dims], np.asarray(stats["q99"], dtype=np.float64)[dims]


@dataclass(frozen=True)
class QuantileNormalizer:
    """Maps raw actions to roughly [-1, 1] per dim; ``clamp`` reproduces the cookbook's forward clamp."""

    q01: np.ndarray
    q99: np.ndarray
    clamp: bool = False

    @property
    def mid(self) -> np.ndarray:
        return (self.q99 + self.q01) / 2.0

    @property
    def half(self) -> np.ndarray:
        return np.maximum(self.q99 - self.q01, 1e-8) / 2.0

    def _check(self, values, what: str) -> np.ndarray:
        values = real_array(values, what)
        if values.ndim < 1 or values.shape[-1] != len(self.q01):
            raise InputError(what, f"shape [..., {len(self.q01)}]", f"shape {list(values.shape)}")
        return values

    def normalize(self, raw: np.ndarray, embodiment: str) -> np.ndarray:
        raw = self._check(raw, f"[{embodiment}] raw actions")
        out = (raw - self.mid) / self.half
        if self.clamp:
            outside = np.abs(out) > 1.0
            if outside.any():
                per_dim = outside.reshape(-1, outside.shape[-1])
                dims = np.flatnonzero(per_dim.any(axis=0)).tolist()
                counts = per_dim.sum(axis=0)[dims].tolist()
                message = (f"[{embodiment}] normalization clamped {int(outside.sum())} of {out.size} values to "
                           f"[-1, 1] (dims {dims}, counts {counts}); the model never saw larger actions")
                warnings.warn(ClampWarning(message, int(outside.sum()), tuple(dims)), stacklevel=3)
                out = np.clip(out, -1.0, 1.0)
        return out

    def denormalize(self, normalized: np.ndarray) -> np.ndarray:
        return self._check(normalized, "normalized actions") * self.half + self.mid
