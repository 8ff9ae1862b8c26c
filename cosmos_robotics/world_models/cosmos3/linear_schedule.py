"""A diffusers multistep scheduler read off as the fixed linear map it is for one schedule.

Why: for flow prediction without thresholding, every UniPC step (predictor and corrector, any order) returns a
linear combination of the initial noise and the velocities seen so far, with weights that depend on the sigmas
alone. diffusers evaluates those weights on the device at every step: ~100 scalar kernels and a
``torch.linalg.solve`` whose error check reads back to the host, so the GPU waits for the Python of every step
and the loop cannot be captured in a CUDA graph. Stepping a copy of the scheduler once per schedule on basis
vectors (the noise and each velocity as a unit vector) yields the same weights as host numbers; the loop is then
one multiply-and-sum per step. A scheduler that is not linear (thresholding, injected noise) is refused by a
check on random inputs, and the caller keeps stepping it itself.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LinearSchedule:
    """``weights[i]``: the sample after step ``i`` = ``w[0] * noise + sum_j w[j + 1] * velocity_j`` (j <= i)."""

    timesteps: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]

    def __len__(self) -> int:
        return len(self.timesteps)

    def weight_table(self, device: torch.device) -> torch.Tensor:
        """``[steps, steps + 1]`` float32 weights on ``device`` (row ``i`` is zero beyond column ``i + 1``)."""
        return torch.tensor(self.weights, dtype=torch.float32, device=device)

    @staticmethod
    def combine(table: torch.Tensor, step: int, noise: torch.Tensor, velocities: torch.Tensor) -> torch.Tensor:
        """The sample after ``step`` from ``noise`` and ``velocities[: step + 1]`` (``[steps, *noise.shape]``).
        Elementwise multiply and sum (no matrix product, so no TF32 rounding whatever the matmul precision)."""
        row = table[step]
        shape = (-1,) + (1,) * noise.dim()
        return row[0] * noise + (row[1 : step + 2].view(shape) * velocities[: step + 1]).sum(0)


def schedule_key(scheduler, num_steps: int) -> str:
    """What the weights depend on: the scheduler's class and config and the number of steps."""
    return json.dumps([type(scheduler).__name__, dict(scheduler.config), num_steps], sort_keys=True, default=str)


def linear_schedule(scheduler, num_steps: int) -> LinearSchedule | None:
    """The weights of ``scheduler`` over ``num_steps`` steps (float64, on the CPU), or ``None`` where its step is
    not a fixed linear map of (noise, velocities). The scheduler itself is not touched."""
    probe = _fresh(scheduler, num_steps)
    steps = len(probe.timesteps)
    timesteps = tuple(float(t) for t in probe.timesteps)
    basis = torch.eye(steps + 1, dtype=torch.float64)[:, None, :, None]  # [steps + 1] probes of shape [1, steps + 1, 1]
    sample, rows = basis[0], []
    try:
        for i, t in enumerate(probe.timesteps):
            sample = probe.step(basis[i + 1], t, sample, return_dict=False)[0]
            rows.append(tuple(sample.flatten().tolist()))
        schedule = LinearSchedule(timesteps, tuple(rows))
        return schedule if _reproduces(scheduler, schedule) else None
    except (RuntimeError, TypeError, ValueError):  # a step that cannot even run on probes (e.g. thresholding)
        return None


def _fresh(scheduler, num_steps: int):
    probe = copy.deepcopy(scheduler)
    probe.set_timesteps(num_steps, device="cpu")
    return probe


def _reproduces(scheduler, schedule: LinearSchedule, tolerance: float = 1e-6) -> bool:
    """Whether the weights give what the scheduler gives on random noise and velocities (float64 probes; the
    tolerance admits schedulers that round to float32 inside, a non-linear step misses by orders more)."""
    check = _fresh(scheduler, len(schedule))
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(1, 2, 3, dtype=torch.float64, generator=generator)
    velocities = torch.randn(len(schedule), 1, 2, 3, dtype=torch.float64, generator=generator)
    table = torch.tensor(schedule.weights, dtype=torch.float64)
    sample = noise
    for i, t in enumerate(check.timesteps):
        sample = check.step(velocities[i], t, sample, return_dict=False)[0]
        expected = LinearSchedule.combine(table, i, noise, velocities)
        if not torch.allclose(sample, expected, rtol=tolerance, atol=tolerance):
            return False
    return True
