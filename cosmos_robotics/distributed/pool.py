"""An ordered, back-pressured map over Ray actors that each hold one heavy object (e.g. a world-model backend).

Augmentation and evaluation spread generation over GPUs the same way, so this is their one pool:

* Replicas: ``actors`` actors, each building ``factory(*args, **kwargs)`` once (one backend instance). A replica
  owns ``gpus`` GPUs (one per GPU by default when the cluster has GPUs; a model split over several GPUs takes
  several; CPU replicas take one CPU). Each replica reserves them in its own placement group before anything
  loads: one bundle, ``STRICT_PACK``, because the replica is one process driving all its GPUs (a device map of the
  transformer), so they must be on one node; the reservation outlives actor restarts, so a rebuilt actor gets its
  GPUs back. A cluster that cannot host every replica is refused (:class:`ClusterResourcesError`) at once.
* Routing and back-pressure: items are cut into batches of ``batch_size``; each batch goes to the replica with the
  fewest batches in flight (at most ``in_flight`` each), and at most ``actors x in_flight`` batches are submitted
  and not yet consumed. Items are pulled from the iterable only as room frees up, so neither the driver's plan nor
  the finished results (episodes of ~20 MB) pile up.
* Order: results come back in item order (finished batches wait inside that bound), so one writer in the driver
  writes exactly what a single process would, for any number of replicas.
* Failures: actors restart (``max_restarts``) and Ray re-runs the tasks they held (``max_task_retries``). A result
  depends only on its item and only the driver consumes it, so nothing is lost or produced twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

from cosmos_robotics.errors import ClusterResourcesError, CosmosRoboticsError

RESTARTS = 3


def ray_module():
    try:
        import ray
    except ImportError:
        raise CosmosRoboticsError("--ray needs the optional dependency ray: pip install 'cosmos-robotics[ray]'") from None
    return ray


def connect(address: str = "local", cpus: int | None = None) -> bool:
    """Join the cluster at ``address`` (``"local"``: start one on this machine with ``cpus`` CPUs) unless this
    process is already connected; returns whether it connected now (then it should ``ray.shutdown()``)."""
    ray = ray_module()
    if ray.is_initialized():
        return False
    if address == "local":
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)
    return True


def replica_gpus(gpus: int | None) -> int:
    """GPUs per replica: ``None`` means one when the cluster has GPUs, none otherwise."""
    if gpus is None:
        return 1 if ray_module().cluster_resources().get("GPU", 0) >= 1 else 0
    if gpus < 0:
        raise CosmosRoboticsError(f"expected GPUs per replica >= 0, got {gpus}")
    return gpus


class _Replica:
    """The actor: one object built once, called per batch (``batched``: the method takes and returns a list)."""

    def __init__(self, factory: Callable, args: tuple, kwargs: dict, method: str, batched: bool):
        self.target = factory(*args, **kwargs)
        self.call, self.batched = getattr(self.target, method), batched

    def run(self, batch: list) -> list:
        out = list(self.call(batch)) if self.batched else [self.call(item) for item in batch]
        if len(out) != len(batch):
            raise CosmosRoboticsError(f"a batched method must return one result per item: {len(batch)} items, "
                                      f"{len(out)} results")
        return out


class ActorPool:
    """``map(items)`` over ``actors`` replicas of ``factory(*args, **kwargs)``, calling ``method`` on each item (on
    each batch when ``batched``). Keywords that are not the pool's own go to ``factory``."""

    def __init__(self, factory: Callable, *args, actors: int = 2, method: str = "__call__", batched: bool = False,
                 batch_size: int = 1, gpus: int | None = None, in_flight: int = 2, restarts: int = RESTARTS,
                 reserve_timeout_s: float = 60.0, **kwargs):
        if actors < 1 or in_flight < 1 or batch_size < 1:
            raise CosmosRoboticsError(f"expected actors, in_flight and batch_size >= 1, got {actors}, {in_flight} "
                                      f"and {batch_size}")
        ray = self.ray = ray_module()
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        self.gpus = replica_gpus(gpus)
        bundle = {"GPU": float(self.gpus)} if self.gpus else {"CPU": 1.0}
        total = ray.cluster_resources()
        short = {k: (v * actors, total.get(k, 0)) for k, v in bundle.items() if total.get(k, 0) < v * actors}
        if short:
            raise ClusterResourcesError(
                f"{actors} replica(s) x {bundle} need " + ", ".join(f"{k}: {need:g}, the cluster has {have:g}"
                                                                    for k, (need, have) in short.items()))
        self.groups = [placement_group([bundle], strategy="STRICT_PACK") for _ in range(actors)]
        ready, _ = ray.wait([g.ready() for g in self.groups], num_returns=actors, timeout=reserve_timeout_s)
        if len(ready) < actors:
            self.close()
            raise ClusterResourcesError(f"reserved {len(ready)} of {actors} replica(s) x {bundle} within "
                                        f"{reserve_timeout_s:g} s: other work holds the cluster's resources")
        remote = ray.remote(_Replica)
        self.actors = [
            remote.options(num_cpus=0 if self.gpus else 1, num_gpus=self.gpus, max_restarts=restarts,
                           max_task_retries=restarts,
                           scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=0))
            .remote(factory, args, kwargs, method, batched)
            for group in self.groups
        ]  # fmt: skip
        self.in_flight, self.batch_size = in_flight, batch_size

    @property
    def window(self) -> int:
        """Most batches submitted and not yet consumed."""
        return len(self.actors) * self.in_flight

    def map(self, items: Iterable) -> Iterator:
        """Results in the order of ``items``; ``items`` is read lazily, a batch at a time."""
        source = iter(items)
        batches = iter(lambda: list(itertools.islice(source, self.batch_size)), [])
        load = [0] * len(self.actors)
        running: dict = {}  # object ref -> (batch index, actor index)
        finished: dict[int, list] = {}
        submitted = consumed = 0
        exhausted = False
        while True:
            while not exhausted and submitted - consumed < self.window:
                actor = min(range(len(load)), key=load.__getitem__)
                if load[actor] >= self.in_flight:
                    break
                batch = next(batches, None)
                if batch is None:
                    exhausted = True
                    break
                running[self.actors[actor].run.remote(batch)] = (submitted, actor)
                load[actor] += 1
                submitted += 1
            if consumed in finished:
                yield from finished.pop(consumed)
                consumed += 1
                continue
            if not running:
                return
            ready, _ = self.ray.wait(list(running), num_returns=1)
            index, actor = running.pop(ready[0])
            load[actor] -= 1
            finished[index] = self.ray.get(ready[0])

    def close(self) -> None:
        from ray.util.placement_group import remove_placement_group

        for actor in getattr(self, "actors", []):
            self.ray.kill(actor)
        for group in self.groups:
            remove_placement_group(group)
        self.actors, self.groups = [], []
