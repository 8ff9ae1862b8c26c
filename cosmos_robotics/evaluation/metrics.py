"""Image metrics shared by the demo, the tests and the benchmarks (one definition of PSNR on uint8 frames)."""

from __future__ import annotations

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray, axes: tuple[int, ...] | None = None) -> np.ndarray | float:
    """PSNR in dB of 8-bit images (peak 255), over all values or per item when ``axes`` names the reduced axes.

    Identical inputs give ``inf``: a lossless round trip must not look like a finite quality number.
    """
    mse = np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2, axis=axes)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(255.0**2 / mse)
    return float(out) if np.ndim(out) == 0 else out
