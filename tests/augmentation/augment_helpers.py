"""Short-episode augmentation settings shared by the augmentation tests."""

from __future__ import annotations

from cosmos_robotics.augmentation import AugmentConfig, FilterConfig

STEPS = 32  # two chunks: short enough for CI, long enough for a window-by-window cycle check


def short_config(source, strategies, **kwargs) -> AugmentConfig:
    """No success required: the task takes ~90 steps, these episodes have 32."""
    return AugmentConfig(strategies=tuple(strategies), source=str(source), steps=STEPS,
                         filter=FilterConfig(require_success=False), **kwargs)
