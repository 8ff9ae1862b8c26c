"""The scheduler read off as a linear map (what lets the whole denoising loop replay as one CUDA graph), against
diffusers' own ``scheduler.step`` on random float32 tensors, and the refusal of schedulers that are not linear."""

import pytest
import torch
from diffusers import (
    EulerAncestralDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    UniPCMultistepScheduler,
)

from cosmos_robotics.world_models.cosmos3.linear_schedule import LinearSchedule, linear_schedule, schedule_key


def _unipc(**overrides):
    config = dict(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0, solver_order=2)
    return UniPCMultistepScheduler(**(config | overrides))


def _stepped(scheduler, steps, noise, velocities):
    scheduler.set_timesteps(steps)
    out, sample = [], noise
    for i, t in enumerate(scheduler.timesteps):
        sample = scheduler.step(velocities[i], t, sample, return_dict=False)[0]
        out.append(sample)
    return out


@pytest.mark.parametrize("make, steps", [(_unipc, 30), (_unipc, 4), (lambda: _unipc(solver_order=3), 10),
                                         (lambda: FlowMatchEulerDiscreteScheduler(shift=3.0), 8)])
def test_weights_give_what_the_scheduler_gives(make, steps):
    schedule = linear_schedule(make(), steps)
    assert schedule is not None and len(schedule) == steps
    generator = torch.Generator().manual_seed(3)
    noise = torch.randn(2, 4, 3, 5, 6, generator=generator)
    velocities = torch.randn(steps, 2, 4, 3, 5, 6, generator=generator)
    table = schedule.weight_table(torch.device("cpu"))
    for i, expected in enumerate(_stepped(make(), steps, noise, velocities)):
        torch.testing.assert_close(LinearSchedule.combine(table, i, noise, velocities), expected, rtol=1e-5, atol=1e-5)
    assert all(w == 0 for row_index, row in enumerate(schedule.weights) for w in row[row_index + 2 :])


def test_weights_follow_the_flow_shift_and_the_step_count():
    a, b = linear_schedule(_unipc(), 10), linear_schedule(_unipc(flow_shift=3.0), 10)
    assert a.weights != b.weights and a.timesteps != b.timesteps
    assert schedule_key(_unipc(), 10) != schedule_key(_unipc(flow_shift=3.0), 10) != schedule_key(_unipc(), 11)


def test_schedulers_that_are_not_linear_are_refused():
    assert linear_schedule(_unipc(thresholding=True, sample_max_value=0.5), 6) is None  # clamps per sample
    assert linear_schedule(EulerAncestralDiscreteScheduler(), 6) is None  # injects fresh noise every step
