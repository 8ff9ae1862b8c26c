"""Measuring policies and world models against ground truth: image metrics, imagination vs the simulator, and
offline policy evaluation (``evaluate``: world-model success vs simulator success, with its statistics)."""

from cosmos_robotics.evaluation.evaluate import evaluate
from cosmos_robotics.evaluation.metrics import psnr
from cosmos_robotics.evaluation.protocol import EVALUATION_SEED, SeedOverlapError
from cosmos_robotics.evaluation.success import make_detector

__all__ = ["EVALUATION_SEED", "SeedOverlapError", "evaluate", "make_detector", "psnr"]
