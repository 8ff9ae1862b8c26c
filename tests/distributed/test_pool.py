"""The shared Ray actor pool on a local cluster (2 CPUs, 4 GPUs in Ray's books only): single-process results in
order, bounded in-flight work, placement groups holding each replica's GPUs, a killed replica's batch re-run once.
Two pools serve all tests (an actor start costs seconds): two CPU replicas, and two replicas of two GPUs each."""

from __future__ import annotations

import os
import signal
import time

import pool_helpers
import pytest
from pool_helpers import Seeded, expected

from cosmos_robotics.distributed import ActorPool
from cosmos_robotics.errors import ClusterResourcesError


@pytest.fixture(scope="module")
def cpu_pool(ray_cluster):
    ray_cluster.cloudpickle.register_pickle_by_value(pool_helpers)  # the workers cannot import tests/ modules
    pool = ActorPool(Seeded, actors=2, gpus=0, batch_size=2, in_flight=2, delay_s=0.02)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def gpu_pool(ray_cluster):
    ray_cluster.cloudpickle.register_pickle_by_value(pool_helpers)
    pool = ActorPool(Seeded, actors=2, gpus=2, method="batch", batched=True, batch_size=3, delay_s=0.05)
    yield pool
    pool.close()


def test_results_equal_one_process_in_item_order(cpu_pool):
    seeds = list(range(100, 123))
    out = list(cpu_pool.map(seeds))
    assert [r["seed"] for r in out] == seeds
    assert [r["value"] for r in out] == expected(seeds) == [Seeded()(s)["value"] for s in seeds]
    assert len({r["pid"] for r in out}) == 2 and os.getpid() not in {r["pid"] for r in out}  # both replicas worked


def test_back_pressure_keeps_at_most_window_batches_ahead_of_the_consumer(cpu_pool):
    pulled = []

    def items():
        for seed in range(40):
            pulled.append(seed)
            yield seed

    leads = []
    for k, result in enumerate(cpu_pool.map(items())):
        assert result["seed"] == k
        leads.append(len(pulled) - (k // 2 + 1) * 2)  # items pulled beyond the batch being consumed
        time.sleep(0.03)  # a slow writer: the workers get ahead as far as the pool lets them
    assert max(leads) == (cpu_pool.window - 1) * 2 == 6  # the bound is reached (work is pipelined), never passed
    assert len(pulled) == 40


def test_placement_groups_reserve_each_replica_its_own_gpus(gpu_pool):
    from ray.util import placement_group_table

    seeds = list(range(10))
    out = list(gpu_pool.map(seeds))
    assert [r["value"] for r in out] == expected(seeds)
    assert out[0]["batch"] == [0, 1, 2] and out[-1]["batch"] == [9]  # the batched method gets lists, last short
    seen = sorted({r["gpus"] for r in out})
    assert len(seen) == 2 and sorted(",".join(seen).split(",")) == ["0", "1", "2", "3"]  # disjoint pairs
    for group in gpu_pool.groups:
        table = placement_group_table(group)
        assert table["strategy"] == "STRICT_PACK" and list(table["bundles"].values()) == [{"GPU": 2.0}]
    with pytest.raises(ClusterResourcesError, match=r"GPU: 6, the cluster has 4"):
        ActorPool(Seeded, actors=3, gpus=2)
    with pytest.raises(ClusterResourcesError, match=r"reserved 0 of 1 replica"):  # all 4 are held by gpu_pool
        ActorPool(Seeded, actors=1, gpus=2, reserve_timeout_s=1.0)


def test_killed_replica_is_rebuilt_on_its_gpus_and_its_batch_rerun_once(gpu_pool, ray_cluster):
    seeds = list(range(30))
    out, killed = [], None
    for result in gpu_pool.map(seeds):
        out.append(result)
        if killed is None:  # the other replica has a batch running or queued right now
            victim = next(a for a in gpu_pool.actors
                          if ray_cluster.get(a.__ray_call__.remote(lambda r: r.target.pid)) != result["pid"])
            killed = ray_cluster.get(victim.__ray_call__.remote(lambda r: (r.target.pid, r.target.gpus)))
            os.kill(killed[0], signal.SIGKILL)
    assert [r["seed"] for r in out] == seeds and [r["value"] for r in out] == expected(seeds)  # none lost or twice
    pids = {r["pid"]: r["gpus"] for r in out}
    reborn = [pid for pid, gpus in pids.items() if gpus == killed[1] and pid != killed[0]]
    assert reborn, f"no result from a rebuilt replica on GPUs {killed[1]}: {pids}"  # the same reserved GPUs
    gpu_pool.close()  # releases its placement groups: all four GPUs fit one replica now
    whole = ActorPool(Seeded, actors=1, gpus=4, reserve_timeout_s=20.0)
    try:
        assert next(iter(whole.map([1])))["gpus"] == "0,1,2,3"
    finally:
        whole.close()
