"""Generation on a local Ray cluster gives the single-process episodes, also when a worker is killed mid-run."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pyarrow.parquet as pq
import pytest
from augment_helpers import short_config

from cosmos_robotics.augmentation import augment
from cosmos_robotics.distributed import ray_module

pytestmark = pytest.mark.slow
STRATEGIES = ("variations", "new-starts")
COLUMNS = ("observation.state", "action", "action.cosmos3", "next.success", "episode_index", "frame_index")


def table(root):
    rows = pq.read_table(sorted((root / "data").rglob("*.parquet")), columns=list(COLUMNS)).to_pydict()
    return {k: np.asarray(v) for k, v in rows.items()}


def log(root):
    raw = json.loads((root / "meta" / "augmentation.json").read_text())
    return [(r["seed"], r["kept"], r["scores"]) for r in raw["episodes"] + raw["dropped"]]


class KillOneWorker:
    """A Ray runner whose first worker process is SIGKILLed right after the first episode arrives."""

    def __init__(self, runner):
        self.runner, self.killed = runner, None

    def source_count(self):
        return self.runner.source_count()

    def map(self, jobs):
        for i, outcome in enumerate(self.runner.map(jobs)):
            if i == 0:
                actor = self.runner.actors[1]
                self.killed = ray_module().get(actor.__ray_call__.remote(lambda self: os.getpid()))
                os.kill(self.killed, signal.SIGKILL)
            yield outcome


def test_ray_matches_single_process_and_survives_a_killed_worker(ray_cluster, source, tmp_path):
    from cosmos_robotics.augmentation.ray_runner import RayRunner

    config = short_config(source, STRATEGIES)
    single = augment(config, tmp_path / "single", episodes=4, commit_every=2, progress=False)
    runner = RayRunner(config, workers=2, gpus_per_worker=0)  # the test cluster's GPUs exist only in Ray's books
    assert not runner.started  # the test's cluster is used, not a new one
    try:
        killer = KillOneWorker(runner)
        distributed = augment(config, tmp_path / "ray", episodes=4, runner=killer, commit_every=2, progress=False)
    finally:
        runner.close()
    assert killer.killed is not None
    assert (distributed.kept, distributed.processed) == (single.kept, single.processed) == (4, 4)
    a, b = table(tmp_path / "single"), table(tmp_path / "ray")
    for column in COLUMNS:
        np.testing.assert_array_equal(a[column], b[column], err_msg=column)
    assert log(tmp_path / "single") == log(tmp_path / "ray")
