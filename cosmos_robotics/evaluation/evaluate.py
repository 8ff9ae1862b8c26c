"""``evaluate``: the offline policy evaluation behind ``cosmos-robotics evaluate`` (the command only parses).

Policies are spec strings (``make_policy``) or ``Policy`` objects; the world model is a backend name
(``make_world_model``: the embedded model, a Cosmos 3 pipeline or a remote server) or a ``WorldModel``. Each
policy runs in ``CosmosWorldEnv`` and in ``SimChunkEnv`` from the same seeds (``episodes``: in this process, in
worker processes or on Ray replicas; this process writes what they return); then a success detector judges every
episode's last observations and ``report.write_report`` turns the records into ``report.json`` /
``report.html`` / ``scatter.png``.
"""

from __future__ import annotations

import json
from multiprocessing import get_context
from pathlib import Path

from cosmos_robotics.evaluation.episodes import EpisodeWorker, make_envs, make_policies, pending, run_all
from cosmos_robotics.evaluation.protocol import (
    EVALUATION_SEED,
    Protocol,
    ProtocolMismatchError,
    check_disjoint,
    policy_ranges,
    versions,
    world_model_description,
)

PROTOCOL_FILE = "protocol.json"


def _worker(out: str, specs: list[str], seeds: list[int], backend: str, checkpoint: str | None, options: dict,
            episode_length: int, videos: list[int]) -> None:
    """One process of a parallel run (``workers > 1`` without Ray): its own world model, envs and policies."""
    worker = EpisodeWorker.build(backend, checkpoint, options, episode_length, specs, videos)
    try:
        run_all(Path(out), pending(Path(out), list(worker.policies), seeds), worker.map, progress=False)
    finally:
        worker.close()


def _run_on_ray(out: Path, todo: list, address: str, workers: int, gpus: int | None, backend: str,
                checkpoint: str | None, options: dict, episode_length: int, specs: list[str], videos: list[int],
                threads: int, progress: bool) -> None:
    """``workers`` Ray replicas of ``EpisodeWorker`` (one world model each, on its own GPU(s) when there are
    GPUs); the episodes come back in order and this process writes them (one writer)."""
    from cosmos_robotics.distributed import ActorPool, connect, ray_module, replica_gpus
    from cosmos_robotics.world_models.factory import replica_options

    started = connect(address, cpus=workers)
    pool = None
    try:
        gpus = replica_gpus(gpus)
        options = {**options, **replica_options(backend, gpus)}
        pool = ActorPool(EpisodeWorker.build, backend, checkpoint, options, episode_length, specs, videos, threads,
                         actors=workers, method="run", gpus=gpus)
        run_all(out, todo, pool.map, progress=progress)
    finally:
        if pool is not None:
            pool.close()
        if started:
            ray_module().shutdown()


def load_protocol(out: Path) -> Protocol:
    """The protocol an evaluation directory was made with (to judge its episodes with another detector)."""
    return Protocol(**json.loads((Path(out) / PROTOCOL_FILE).read_text()))


def _check_resume(out: Path, protocol: Protocol) -> None:
    path = out / PROTOCOL_FILE
    if path.is_file():
        previous = json.loads(path.read_text())
        key = protocol.key()
        differences = sorted(k for k in key if previous.get(k) != key[k])
        if differences:
            raise ProtocolMismatchError(out, differences)
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(protocol.to_dict(), indent=1) + "\n")


def evaluate(policies: list, out: str | Path, world_model="embedded", episodes: int = 50,
             seed_start: int = EVALUATION_SEED, steps: int = 100, detector="head", videos: int = 2,
             checkpoint: str | None = None, world_model_options: dict | None = None, workers: int = 1,
             threads: int | None = None, progress: bool = True, ray: str | None = None,
             gpus_per_worker: int | None = None) -> dict:
    """Run what is missing under ``out``, then write the report; returns the report dict.

    ``steps``: control steps per episode at 15 Hz (the name ``sim record`` and ``rollout`` use; the protocol and
    the envs call it ``episode_length``). ``threads``: torch threads of this process (workers use one each unless
    ``threads`` says otherwise with ``ray``: on a loaded machine one thread per process is several times faster
    than two fighting for the cores). ``ray``: ``"local"`` or a cluster address: the episodes run on ``workers`` Ray
    replicas, ``gpus_per_worker`` GPUs each (default: one when the cluster has GPUs); the same seeds give the same
    episodes as one process with the same thread count."""
    from cosmos_robotics.evaluation.report import write_report
    from cosmos_robotics.evaluation.success import make_detector

    if threads:
        import torch

        torch.set_num_threads(int(threads))
    out = Path(out)
    options = dict(world_model_options or {})
    backend = world_model if isinstance(world_model, str) else getattr(world_model, "name", type(world_model).__name__)
    if isinstance(world_model, str):
        from cosmos_robotics.world_models.factory import make_world_model

        world_model = make_world_model(backend, checkpoint, **options)
    built = make_policies(policies)
    seeds = list(range(int(seed_start), int(seed_start) + int(episodes)))
    description, ranges = world_model_description(world_model, backend, checkpoint)
    judge = make_detector(detector, world_model)
    ranges += judge.calibration_ranges() + [r for p in built for r in policy_ranges(p)]
    protocol = Protocol(policies=[p.name for p in built], seeds=seeds, episode_length=int(steps),
                        world_model=description, detector=judge.describe(), excluded_seeds=check_disjoint(seeds, ranges),
                        videos=int(videos), versions=versions())
    _check_resume(out, protocol)
    video_seeds = seeds[:videos]
    if (workers > 1 or ray is not None) and not all(isinstance(p, str) for p in policies):
        raise ValueError("workers > 1 and ray need policy spec strings (each worker builds its own policies)")
    if ray is not None:
        todo = pending(out, [p.name for p in built], seeds)
        _run_on_ray(out, todo, ray, workers, gpus_per_worker, backend, checkpoint, options, int(steps),
                    list(policies), video_seeds, int(threads or 1), progress)
    elif workers > 1:
        context = get_context("spawn")
        jobs = [context.Process(target=_worker, args=(str(out), list(policies), seeds[i::workers], backend,
                                                      checkpoint, options, int(steps), video_seeds))
                for i in range(workers)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()
        failed = [job.exitcode for job in jobs if job.exitcode]
        if failed:
            raise RuntimeError(f"{len(failed)} evaluation worker(s) failed (exit codes {failed}); rerun to resume")
    else:
        worker = EpisodeWorker(make_envs(world_model, int(steps)), built, video_seeds)
        try:
            run_all(out, pending(out, [p.name for p in built], seeds), worker.map, progress=progress)
        finally:
            worker.close()
    return write_report(out, protocol, judge, world_model)
