"""SIGKILL a real recording process at many randomized moments (while opening the writer and adopting a journal,
adding an episode, committing), then: ``root`` always loads in lerobot with only complete, correct episodes; no
episode the recorder had acknowledged (``add`` returned) is ever lost; rerunning finishes the dataset exactly as an
uninterrupted run would have made it.

The 20 kill points use recorders forked from this (already imported) process, so each costs the recording, not a
fresh interpreter start; one more kill uses a fresh interpreter, and the slow test kills ``sim record`` itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from synthetic_episodes import make_episode, record
from test_writer import assert_matches

from cosmos_robotics.export import default_repo_id, read_provenance

REPO = Path(__file__).resolve().parents[2]
RECORDER = Path(__file__).with_name("synthetic_episodes.py")
EPISODES, COMMIT_EVERY, KILLS = 40, 3, 20


def start(args: list[str], root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=root.parent)


class Forked:
    """``record(root, EPISODES, COMMIT_EVERY)`` in a forked child whose stdout is a pipe (a Popen look-alike)."""

    def __init__(self, root: Path):
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # child: record, print to the pipe, never return into pytest
            try:
                os.close(read_end)
                sys.stdout = os.fdopen(write_end, "w", buffering=1)
                sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child exits below
                record(str(root), EPISODES, COMMIT_EVERY)
            finally:
                os._exit(0)
        os.close(write_end)
        self.stdout = os.fdopen(read_end)

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        _, status = os.waitpid(self.pid, 0)
        return status


def kill_at(proc, lines_before: int, delay: float) -> list[str]:
    """SIGKILL ``delay`` s after the recorder printed ``lines_before`` lines (0: while it opens); all its lines."""
    seen: list[str] = []
    reached = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            seen.append(line.strip())
            if len(seen) >= lines_before:
                reached.set()
        reached.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if lines_before:
        reached.wait(60)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(10)
    return seen


def check_loadable(root: Path, last: int = 3) -> int:
    """``root`` loads; metadata, provenance and the newest ``last`` episodes agree with what was recorded."""
    if not root.exists():
        return 0
    dataset = LeRobotDataset(default_repo_id(root), root=root, video_backend="pyav")
    _, notes = read_provenance(root)
    assert dataset.num_episodes == len(notes) == dataset.meta.total_episodes
    assert [n.seed for n in notes] == list(range(len(notes)))
    for index in range(max(0, dataset.num_episodes - last), dataset.num_episodes):
        assert_matches(dataset, index, make_episode(index))
    return dataset.num_episodes


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_sigkill_at_20_random_points_loses_no_acknowledged_episode(tmp_path):
    root = tmp_path / "dataset"
    rng = np.random.default_rng(18)
    acknowledged = 0  # episodes 0..acknowledged-1 were reported safe by some recorder
    phases = []
    for kill in range(KILLS + 1):
        lines_before, delay = int(rng.integers(0, 7)), float(rng.uniform(0.0, 0.5))
        fresh = kill == KILLS  # the last one in a fresh interpreter (killed during its start-up or recording)
        proc = start([str(RECORDER), str(root), str(EPISODES), str(COMMIT_EVERY)], root) if fresh else Forked(root)
        lines = kill_at(proc, lines_before, delay + (3.0 if fresh else 0.0))
        starts = [int(line.split()[1]) for line in lines if line.startswith("start")]
        if starts:
            assert starts[0] >= acknowledged, f"lost episodes: {acknowledged} acknowledged, {starts[0]} held"
        added = [int(line.split()[1]) for line in lines if line.startswith("added")]
        acknowledged = max([acknowledged, *(i + 1 for i in added)])
        phases.append(lines[-1].split()[0] if lines else "startup")
        assert check_loadable(root) <= acknowledged or not added
    assert len(set(phases)) >= 3, phases  # kills landed in start-up, between adds and between commits
    proc = start([str(RECORDER), str(root), str(EPISODES), str(COMMIT_EVERY)], root)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert int(out.splitlines()[0].split()[1]) >= acknowledged
    assert check_loadable(root, last=EPISODES) == EPISODES
    for leftover in (".staging", ".journal"):
        assert not root.with_name(f".{root.name}{leftover}").exists()


@pytest.mark.slow
def test_sigkill_of_sim_record_keeps_finished_episodes(tmp_path):
    pytest.importorskip("cosmos_robotics.sim", reason="needs the SimDroid-v0 simulator")
    root = tmp_path / "sim"
    args = ["-m", "cosmos_robotics.cli", "sim", "record", "--episodes", "6", "--policy", "expert", "--out", str(root),
            "--workers", "1", "--resolution", "64", "--steps", "40", "--commit-every", "10"]
    proc = start(args, root)
    journal = root.with_name(f".{root.name}.journal")
    deadline = time.monotonic() + 300
    while len(list(journal.glob("episode_*.npz"))) < 2:  # two finished episodes, none committed (commit every 10)
        assert proc.poll() is None and time.monotonic() < deadline, "sim record ended or stalled"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc = start(args, root)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0
    dataset = LeRobotDataset(default_repo_id(root), root=root, video_backend="pyav")
    assert dataset.num_episodes == 6 and not journal.exists()
