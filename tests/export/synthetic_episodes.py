"""Deterministic synthetic episodes (smooth moving patterns, so video compression keeps them recognisable).

Also runnable as a recorder (``python tests/export/synthetic_episodes.py ROOT N [COMMIT_EVERY]``) for the crash-safety
test: like ``cosmos-robotics sim record`` it commits every few episodes and regenerates episode ``i`` from seed ``i``;
it prints ``start K`` (episodes held after adopting a crashed run's journal), ``added i`` once ``add`` returned
(the episode is safe from then on) and ``committed K``.
"""

from __future__ import annotations

import sys

import numpy as np

from cosmos_robotics.export import DatasetSpec, EpisodeRecord, LeRobotEpisodeWriter, Provenance

SIZE = 32
SPEC = DatasetSpec(
    fps=15,
    cameras={"front": (SIZE, SIZE), "wrist": (SIZE, 48)},
    state_names=("x", "y", "z", "gripper"),
    action_names=("dx", "dy", "dz", "gripper"),
    model_action_names=tuple(f"m{i}" for i in range(3)),
    frame_success=True,
    robot_type="synthetic_arm",
)
PROVENANCE = Provenance(generator="tests:synthetic", synthetic=True, seed=0, params={"size": SIZE})


def make_episode(seed: int, length: int | None = None) -> EpisodeRecord:
    rng = np.random.default_rng(seed)
    length = length or int(rng.integers(8, 14))
    frames = {}
    for cam, (h, w) in SPEC.cameras.items():
        yy, xx = np.mgrid[0:h, 0:w]
        base = rng.uniform(0, 2 * np.pi, size=3)
        t = np.arange(length)[:, None, None, None]
        phase = base + 0.2 * t + (xx[None, ..., None] / w) * 1.5 + (yy[None, ..., None] / h) * np.array([1.0, 1.2, 1.4])
        frames[cam] = (127.5 + 80 * np.sin(phase)).astype(np.uint8)
    return EpisodeRecord(
        frames=frames,
        states=rng.normal(size=(length, 4)).astype(np.float32),
        actions=rng.normal(size=(length, 4)).astype(np.float32),
        model_actions=rng.uniform(-1, 1, size=(length, 3)).astype(np.float32),
        frame_success=np.arange(length) >= length - 1 - seed % 4,  # successes start at different frames
        task=f"synthetic task {seed % 2}",
        success=bool(seed % 3),
        seed=seed,
    )


def record(root: str, episodes: int, commit_every: int = 1) -> None:
    with LeRobotEpisodeWriter(root, SPEC, PROVENANCE) as writer:
        print(f"start {writer.num_committed}", flush=True)
        for index in range(writer.num_committed, episodes):
            writer.add(make_episode(index))
            print(f"added {index}", flush=True)
            if writer.num_pending >= commit_every:
                writer.commit()
                print(f"committed {writer.num_committed}", flush=True)


if __name__ == "__main__":
    record(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
