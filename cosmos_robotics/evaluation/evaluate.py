"""``evaluate``: the offline policy evaluation behind ``cosmos-robotics evaluate`` (the command only parses).

Policies are spec strings (``make_policy``) or ``Policy`` objects; the world model is a backend name
(``make_world_model``: the embedded model, a Cosmos 3 pipeline or a remote server) or a ``WorldModel``. Each
policy runs in ``CosmosWorldEnv`` and in ``SimChunkEnv`` from the same seeds (``episodes.run_all``); then a
success detector judges every episode's last observations and ``report.write_report`` turns the records into
``report.json`` / ``report.html`` / ``scatter.png``.
"""

from __future__ import annotations

import json
from multiprocessing import get_context
from pathlib import Path

from cosmos_robotics.evaluation.episodes import run_all
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


def _make_envs(world_model, episode_length: int) -> dict:
    from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv

    return {"world_model": CosmosWorldEnv(world_model, episode_length=episode_length),
            "simulator": SimChunkEnv(episode_length=episode_length)}


def _policies(policies: list) -> list:
    from cosmos_robotics.policies import make_policy

    return [make_policy(p) if isinstance(p, str) else p for p in policies]


def _worker(out: str, specs: list[str], seeds: list[int], backend: str, checkpoint: str | None, options: dict,
            episode_length: int, videos: list[int]) -> None:
    """One process of a parallel run: its own world model, envs and policies; one torch thread."""
    import torch

    from cosmos_robotics.world_models.factory import make_world_model

    torch.set_num_threads(1)
    envs = _make_envs(make_world_model(backend, checkpoint, **options), episode_length)
    run_all(Path(out), envs, _policies(specs), seeds, video_seeds=videos, progress=False)


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
             threads: int | None = None, progress: bool = True) -> dict:
    """Run what is missing under ``out``, then write the report; returns the report dict.

    ``steps``: control steps per episode at 15 Hz (the name ``sim record`` and ``rollout`` use; the protocol and
    the envs call it ``episode_length``). ``threads``: torch threads of this process (workers always use one: on a loaded machine one thread per
    process is several times faster than two fighting for the cores)."""
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
    built = _policies(policies)
    seeds = list(range(int(seed_start), int(seed_start) + int(episodes)))
    description, ranges = world_model_description(world_model, backend, checkpoint)
    judge = make_detector(detector, world_model)
    ranges += judge.calibration_ranges() + [r for p in built for r in policy_ranges(p)]
    protocol = Protocol(policies=[p.name for p in built], seeds=seeds, episode_length=int(steps),
                        world_model=description, detector=judge.describe(), excluded_seeds=check_disjoint(seeds, ranges),
                        videos=int(videos), versions=versions())
    _check_resume(out, protocol)
    video_seeds = seeds[:videos]
    if workers > 1:
        if not all(isinstance(p, str) for p in policies):
            raise ValueError("workers > 1 needs policy spec strings (each process builds its own policies)")
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
        envs = _make_envs(world_model, int(steps))
        try:
            run_all(out, envs, built, seeds, video_seeds=video_seeds, progress=progress)
        finally:
            for env in envs.values():
                env.close()
    return write_report(out, protocol, judge, world_model)
