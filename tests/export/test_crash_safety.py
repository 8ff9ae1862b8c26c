"""SIGKILL a real recording process while it writes, then: the dataset loads in lerobot with only complete
episodes, and rerunning the recorder resumes to the full count with the same data as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lerobot.datasets.lerobot_dataset import LeRobotDataset
from synthetic_episodes import make_episode
from test_writer import assert_matches

from cosmos_robotics.export import default_repo_id, read_provenance

RECORDER = Path(__file__).with_name("synthetic_episodes.py")
EPISODES = 4


def start(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(RECORDER), str(root), str(EPISODES)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def kill_after_commits(proc: subprocess.Popen, commits: int, extra_delay: float) -> None:
    """Wait for ``commits`` commit lines, sleep a little (lands inside the next episode or commit), SIGKILL."""
    for _ in range(commits):
        assert proc.stdout.readline().startswith("committed"), "recorder ended early"
    time.sleep(extra_delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def check_complete_episodes(root: Path) -> int:
    dataset = LeRobotDataset(default_repo_id(root), root=root, video_backend="pyav")
    _, notes = read_provenance(root)
    assert dataset.num_episodes == len(notes) == dataset.meta.total_episodes
    for index in range(dataset.num_episodes):
        assert_matches(dataset, index, make_episode(index))
    return dataset.num_episodes


def test_sigkill_leaves_loadable_dataset_and_rerun_resumes(tmp_path):
    root = tmp_path / "dataset"
    proc = start(root)
    kill_after_commits(proc, commits=1, extra_delay=0.1)
    assert proc.returncode == -signal.SIGKILL
    survived = check_complete_episodes(root)
    assert 1 <= survived < EPISODES
    proc = start(root)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert out.splitlines()[0] == f"committed {survived}"  # continued at the first missing episode
    assert check_complete_episodes(root) == EPISODES
    assert not root.with_name(f".{root.name}.staging").exists()
