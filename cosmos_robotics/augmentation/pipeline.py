"""``augment``: plan jobs, generate and filter them (in-process or on Ray), write the kept ones with one writer.

Job ``i`` always has seed ``seed + i`` and outcomes are consumed in job order, so the dataset is the same whoever
generated it (one process or any number of Ray workers) and a rerun with the same arguments resumes after the
last processed job. Generation stops when ``episodes`` were kept or ``max_attempts`` jobs were tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from cosmos_robotics.augmentation.card import (
    CARD,
    SIDECAR,
    RunLog,
    checkpoint_identity,
    dataset_card,
    read_log,
    write_json,
)
from cosmos_robotics.augmentation.generator import AugmentConfig, LocalRunner, Outcome
from cosmos_robotics.augmentation.strategies import plan_jobs
from cosmos_robotics.errors import CosmosRoboticsError, DatasetFormatError
from cosmos_robotics.export import LeRobotEpisodeWriter, Provenance


@dataclass(frozen=True)
class AugmentSummary:
    root: Path
    kept: int
    dropped: int
    processed: int
    generated_now: int


def augment(config: AugmentConfig, out: Path, episodes: int, max_attempts: int | None = None, runner=None,
            commit_every: int = 10, progress: bool = True) -> AugmentSummary:
    """Make ``out`` hold ``episodes`` kept synthetic episodes (or as many as ``max_attempts`` jobs give)."""
    max_attempts = 3 * episodes if max_attempts is None else max_attempts
    if episodes < 1 or max_attempts < 1 or commit_every < 1:
        raise CosmosRoboticsError(f"expected --episodes, --max-attempts and --commit-every >= 1, got {episodes}, "
                                  f"{max_attempts} and {commit_every}")
    from cosmos_robotics.rollout.record import quiet_libraries, sim_spec

    checkpoint, training = checkpoint_identity(config.backend, config.checkpoint)
    provenance = Provenance(generator=f"world_model:{config.backend}:augment", synthetic=True, seed=config.seed,
                            backend=config.backend, checkpoint=checkpoint, params=config.to_dict())
    quiet_libraries()
    own_runner = runner is None
    runner = LocalRunner(config) if own_runner else runner
    out = Path(out)
    try:
        with LeRobotEpisodeWriter(out, sim_spec(128), provenance) as writer:
            log = read_log(out)
            committed = writer.episodes
            if len(log.kept) > len(committed) or any(row["seed"] != note.seed for row, note in
                                                     zip(log.kept, committed, strict=False)):
                raise DatasetFormatError(f"{out}: {SIDECAR} does not match the committed episodes "
                                         f"({len(log.kept)} rows, {len(committed)} episodes)")
            jobs = plan_jobs(config.strategies, max_attempts, config.seed, runner.source_count())[log.processed:]
            bar = tqdm(total=episodes, initial=min(len(committed), episodes), unit="episode",
                       desc=f"augmenting {out.name}", disable=not progress)
            generated = 0
            if len(committed) < episodes and jobs:
                for outcome in runner.map(jobs):
                    generated += 1
                    _take(outcome, writer, log, committed, config, checkpoint)
                    bar.update(int(outcome.verdict.kept))
                    bar.set_postfix(kept=len(log.kept), dropped=len(log.dropped))
                    if writer.num_pending >= commit_every:
                        _commit(writer, out, log, config, checkpoint, training)
                    if len(log.kept) >= episodes:
                        break
            bar.close()
            _commit(writer, out, log, config, checkpoint, training)
    finally:
        if own_runner:
            runner.close()
    return AugmentSummary(out, len(log.kept), len(log.dropped), log.processed, generated)


def episode_row(outcome: Outcome, config: AugmentConfig, checkpoint: str | None) -> dict:
    job, verdict = outcome.job, outcome.verdict
    return {"job_index": job.index, "strategy": job.strategy, "seed": job.seed, "source": outcome.source,
            "policy": config.policy if job.strategy == "new-starts" else None,
            "noise": config.noise if job.strategy == "variations" else None, "backend": config.backend,
            "checkpoint_sha256": checkpoint, "length": outcome.record.length, "scores": verdict.scores,
            "kept": verdict.kept, "reasons": list(verdict.reasons)}


def _take(outcome: Outcome, writer, log: RunLog, committed: list, config: AugmentConfig, checkpoint) -> None:
    row = episode_row(outcome, config, checkpoint)
    log.processed = outcome.job.index + 1
    if not outcome.verdict.kept:
        log.dropped.append(row)
        return
    index = len(log.kept)
    if index < len(committed):  # committed before a crash that lost its log entry: regenerated, not re-added
        if committed[index].seed != outcome.job.seed:
            raise DatasetFormatError(f"{writer.root}: episode {index} has seed {committed[index].seed}, the plan "
                                     f"regenerates seed {outcome.job.seed}; rerun with the original arguments")
    else:
        writer.add(outcome.record)
    log.kept.append({"episode_index": index, **row})


def _commit(writer, out: Path, log: RunLog, config: AugmentConfig, checkpoint, training: dict) -> None:
    writer.commit()
    if writer.num_committed == 0:
        return
    write_json(out / SIDECAR, log.to_dict())
    (out / CARD).write_text(dataset_card(config.to_dict(), log, checkpoint, training))
