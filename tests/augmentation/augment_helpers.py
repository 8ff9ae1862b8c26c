"""Short-episode augmentation settings shared by the augmentation tests."""

from __future__ import annotations

from cosmos_robotics.augmentation import AugmentConfig, FilterConfig

STEPS = 16  # one chunk: short enough for CI


def short_config(source, strategies, **kwargs) -> AugmentConfig:
    """No success required: the task takes ~90 steps, these episodes have 16."""
    return AugmentConfig(strategies=tuple(strategies), source=str(source), steps=STEPS,
                         filter=FilterConfig(require_success=False), **kwargs)
