"""Plots a person can check at a glance: trajectories (top-down and side) of decoded poses."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_trajectories(trajectories: dict[str, np.ndarray], path: str | Path, title: str = "",
                      axes: tuple[int, int, int] = (0, 1, 2), labels: tuple[str, str, str] = ("x", "y", "z"),
                      points: dict[str, np.ndarray] | None = None) -> Path:
    """Two panels (axis0-axis1 and axis0-axis2) of each ``[N, 4, 4]`` pose sequence's positions; start (o) and
    end (x) marked; ``points`` (name -> xyz, e.g. the cube and the plate) drawn as labelled stars."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, panels = plt.subplots(1, 2, figsize=(11, 4.8))
    a, b, c = axes
    for name, poses in trajectories.items():
        pos = np.asarray(poses)[:, :3, 3]
        for panel, second in zip(panels, (b, c), strict=True):
            (line,) = panel.plot(pos[:, a], pos[:, second], label=name)
            panel.plot(pos[0, a], pos[0, second], "o", color=line.get_color())
            panel.plot(pos[-1, a], pos[-1, second], "x", color=line.get_color(), markersize=9, mew=2)
    for i, (name, xyz) in enumerate((points or {}).items()):
        for panel, second in zip(panels, (b, c), strict=True):
            panel.plot(xyz[a], xyz[second], "*", markersize=13, color=f"C{len(trajectories) + i}", label=name)
    for panel, second in zip(panels, (b, c), strict=True):
        panel.set_xlabel(f"{labels[a]} [m]")
        panel.set_ylabel(f"{labels[second]} [m]")
        panel.axis("equal")
        panel.grid(True, alpha=0.3)
        panel.locator_params(nbins=6)
    panels[0].plot([], [], "ko", label="start")
    panels[0].plot([], [], "kx", label="end")
    panels[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
