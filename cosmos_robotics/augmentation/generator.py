"""One generation worker: a world-model backend, the world-model env, the source episodes and the filter.

The same class runs in-process (``LocalRunner``) and as a Ray actor (``ray_runner``), so both produce identical
outcomes for identical jobs: every random choice comes from the job's seed, none from the worker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from cosmos_robotics.augmentation.filter import FilterConfig, Verdict, judge
from cosmos_robotics.augmentation.strategies import (
    NEEDS_SOURCE,
    Candidate,
    Job,
    PerturbedReplay,
    imagined,
    relabelled,
    source_observation,
)
from cosmos_robotics.errors import CosmosRoboticsError
from cosmos_robotics.export import EpisodeRecord

DEFAULT_POLICY = "embedded:replan=16"


@dataclass(frozen=True)
class AugmentConfig:
    """What the episodes depend on (``episodes`` / ``max_attempts`` only say how many: a run can be extended)."""

    strategies: tuple[str, ...]
    source: str | None = None
    seed: int = 0
    steps: int = 130  # actions per episode (sources must hold steps + 1 frames)
    policy: str = DEFAULT_POLICY  # new-starts
    noise: float = 0.1  # variations: std of the per-chunk model-space offset on the translation rows
    backend: str = "embedded"
    checkpoint: str | None = None
    world_model_options: dict = field(default_factory=dict)
    filter: FilterConfig = field(default_factory=FilterConfig)
    # torch CPU threads per worker: CPU kernels round differently with another thread count (bfloat16 visibly),
    # so every worker, in-process or on Ray, uses the same number and produces the same episodes
    threads: int = 1

    def __post_init__(self):
        if self.steps < 1 or self.threads < 1 or not self.noise >= 0:
            raise CosmosRoboticsError(f"expected --steps >= 1, --threads >= 1 and --noise >= 0, got {self.steps}, "
                                      f"{self.threads} and {self.noise}")
        if NEEDS_SOURCE & set(self.strategies) and self.source is None:
            raise CosmosRoboticsError(f"strategies {', '.join(sorted(NEEDS_SOURCE & set(self.strategies)))} need "
                                      "--source DATASET (a LeRobot v3 recording of SimDroid-v0)")

    def to_dict(self) -> dict:
        return {**asdict(self), "strategies": list(self.strategies), "filter": self.filter.to_dict()}


@dataclass
class Outcome:
    job: Job
    record: EpisodeRecord
    verdict: Verdict
    source: dict


def load_source(config: AugmentConfig):
    """The source episodes as training arrays (frames, states, success per frame, model-space chunks)."""
    if config.source is None:
        return None
    from cosmos_robotics.training.data import load_recorded_episodes

    return load_recorded_episodes([config.source], episode_length=config.steps)


class Generator:
    """Turns jobs into filtered, recordable outcomes; holds one world-model instance."""

    def __init__(self, config: AugmentConfig):
        import torch

        from cosmos_robotics.envs import CosmosWorldEnv
        from cosmos_robotics.sim import TASK
        from cosmos_robotics.world_models.factory import make_world_model

        torch.set_num_threads(config.threads)
        self.config, self.task = config, TASK
        self.world_model = make_world_model(config.backend, config.checkpoint, **config.world_model_options)
        self.env = CosmosWorldEnv(self.world_model, episode_length=config.steps)
        self.source = load_source(config)
        self.policy = None
        if "new-starts" in config.strategies:
            from cosmos_robotics.policies import make_policy

            self.policy = make_policy(config.policy)

    def source_count(self) -> int:
        return 0 if self.source is None else len(self.source.seeds)

    def candidate(self, job: Job) -> Candidate:
        if job.strategy == "new-starts":
            return imagined(self.env, self.policy, job, None, {"start": "sim", "start_seed": job.seed})
        e = job.source_episode
        info = {"dataset": str(Path(self.config.source).absolute()), "episode": e,
                "seed": int(self.source.seeds[e])}
        if job.strategy == "variations":
            start = {"observation": source_observation(self.source, e, 0), "task": self.task}
            policy = PerturbedReplay(self.source.chunks[e], self.config.noise)
            return imagined(self.env, policy, job, start, info)
        return relabelled(self.env, self.source, e, job, self.task, info)

    def run(self, job: Job) -> Outcome:
        from cosmos_robotics.rollout.record import episode_record

        candidate = self.candidate(job)
        verdict = judge(candidate, self.world_model, self.config.filter)
        return Outcome(job, episode_record(candidate.episode), verdict, candidate.source)


class LocalRunner:
    """Jobs one after another in this process."""

    def __init__(self, config: AugmentConfig):
        self.generator = Generator(config)

    def source_count(self) -> int:
        return self.generator.source_count()

    def map(self, jobs: list[Job]):
        for job in jobs:
            yield self.generator.run(job)

    def close(self) -> None:
        self.generator.env.close()
