"""Generation on Ray: ``workers`` replicas of ``Generator`` (one world-model instance each, on its own GPU or GPUs
when the cluster has GPUs, one CPU otherwise) in the shared :class:`~cosmos_robotics.distributed.ActorPool`; the
driver keeps the single dataset writer.

The pool consumes outcomes in job order with bounded in-flight jobs and re-runs the jobs of a killed worker, so the
dataset equals the single-process one for the same seeds (a job's outcome depends only on the job). Each worker
decodes the source dataset itself, as the in-process generator does: arrays handed over through the object store
made some episodes differ in the last bits (measured), breaking single-process equality.

Ray is an optional dependency: ``pip install 'cosmos-robotics[ray]'``.
"""

from __future__ import annotations

from dataclasses import replace

from cosmos_robotics.augmentation.generator import AugmentConfig, Generator
from cosmos_robotics.distributed import ActorPool, connect, ray_module, replica_gpus
from cosmos_robotics.export import read_provenance
from cosmos_robotics.world_models.factory import replica_options


class RayRunner:
    def __init__(self, config: AugmentConfig, address: str = "local", workers: int = 2, in_flight: int = 2,
                 gpus_per_worker: int | None = None):
        self.started = connect(address, cpus=workers)
        try:
            gpus = replica_gpus(gpus_per_worker)
            options = {**config.world_model_options, **replica_options(config.backend, gpus)}
            config = replace(config, world_model_options=options)
            self.sources = 0 if config.source is None else len(read_provenance(config.source)[1])
            self.pool = ActorPool(Generator, config, actors=workers, method="run", gpus=gpus, in_flight=in_flight)
        except BaseException:
            self._shutdown()
            raise

    @property
    def actors(self) -> list:
        return self.pool.actors

    def source_count(self) -> int:
        return self.sources

    def map(self, jobs):
        return self.pool.map(jobs)

    def close(self) -> None:
        self.pool.close()
        self._shutdown()

    def _shutdown(self) -> None:
        if self.started:
            ray_module().shutdown()
