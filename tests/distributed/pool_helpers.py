"""Small real workloads for the actor-pool tests: deterministic in the item, and telling who computed them."""

from __future__ import annotations

import os
import time

import numpy as np


class Seeded:
    """Draws from the item's seed (what a world-model call does with its request's seed); reports the worker."""

    def __init__(self, delay_s: float = 0.0):
        self.delay_s, self.pid = delay_s, os.getpid()
        self.gpus = os.environ.get("CUDA_VISIBLE_DEVICES")

    def __call__(self, seed: int) -> dict:
        time.sleep(self.delay_s)
        return {"seed": seed, "value": float(np.random.default_rng(seed).standard_normal(1000).sum()),
                "pid": self.pid, "gpus": self.gpus}

    def batch(self, seeds: list[int]) -> list[dict]:
        return [{**self(s), "batch": list(seeds)} for s in seeds]


def expected(seeds) -> list[float]:
    return [float(np.random.default_rng(s).standard_normal(1000).sum()) for s in seeds]
