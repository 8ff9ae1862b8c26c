"""Measuring policies and world models against ground truth (image metrics; imagination vs the simulator)."""

from cosmos_robotics.evaluation.metrics import psnr

__all__ = ["psnr"]
