"""Generation on Ray: ``workers`` actors, each holding one ``Generator`` (one world-model instance; one GPU each
when the cluster has GPUs, one CPU otherwise); the driver keeps the single dataset writer.

* Back-pressure: at most ``in_flight`` jobs per actor are submitted ahead of the one the writer waits for, so
  finished episodes (~20 MB each) never pile up in the object store.
* Order: outcomes are consumed in job order (job ``i`` goes to actor ``i mod workers``), so the dataset equals the
  single-process one for the same seeds.
* Failures: actors are restartable (``max_restarts``) and their tasks retried (``max_task_retries``): a killed
  worker is rebuilt and re-runs the jobs it held; a job's outcome depends only on the job, and only the driver
  writes, so nothing is lost or written twice.
* Each actor decodes the source dataset itself, as the in-process generator does: arrays handed over through
  the object store made some episodes differ in the last bits (measured), breaking single-process equality.

Ray is an optional dependency: ``pip install 'cosmos-robotics[ray]'``.
"""

from __future__ import annotations

from collections import deque

from cosmos_robotics.augmentation.generator import AugmentConfig, Generator
from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.export import read_provenance

RESTARTS = 3


def _ray():
    try:
        import ray
    except ImportError:
        raise CosmosRoboticsError("--ray needs the optional dependency ray: pip install 'cosmos-robotics[ray]'") from None
    return ray


class RayRunner:
    def __init__(self, config: AugmentConfig, address: str = "local", workers: int = 2, in_flight: int = 2):
        if workers < 1 or in_flight < 1:
            raise CosmosRoboticsError(f"expected --workers >= 1 and in_flight >= 1, got {workers} and {in_flight}")
        ray = self.ray = _ray()
        self.started = not ray.is_initialized()
        if self.started:
            if address == "local":
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        gpus = ray.cluster_resources().get("GPU", 0) >= 1
        if gpus and config.backend == "embedded":
            config = AugmentConfig(**{**config.__dict__, "world_model_options": {**config.world_model_options,
                                                                                   "device": "cuda"}})
        self.sources = 0 if config.source is None else len(read_provenance(config.source)[1])
        actor = ray.remote(Generator).options(num_cpus=0 if gpus else 1, num_gpus=1 if gpus else 0,
                                              max_restarts=RESTARTS, max_task_retries=RESTARTS)
        self.actors = [actor.remote(config) for _ in range(workers)]
        self.window = workers * in_flight

    def source_count(self) -> int:
        return self.sources

    def map(self, jobs):
        pending: deque = deque()
        todo = iter(jobs)
        for job in todo:
            pending.append(self._submit(job))
            if len(pending) >= self.window:
                break
        while pending:
            outcome = self.ray.get(pending.popleft())
            job = next(todo, None)
            if job is not None:
                pending.append(self._submit(job))
            yield outcome

    def _submit(self, job):
        return self.actors[job.index % len(self.actors)].run.remote(job)

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self.started:
            self.ray.shutdown()
