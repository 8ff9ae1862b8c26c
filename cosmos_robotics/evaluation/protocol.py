"""What an evaluation promises: its seeds, settings and versions, and that its seeds were never trained on.

Every seed range that touched a component is collected from that component's provenance:

* the embedded world model (and every policy built on its weights): ``episode_seeds`` in ``training.json``;
* a success detector: the held-out simulator seeds its threshold was calibrated on (``calibration.json``);
* any policy (or a policy it wraps) exposing ``training_seeds`` (``[(first, last), ...]``, inclusive), e.g. a
  LeRobot policy trained on recorded simulator episodes.

``check_disjoint`` refuses evaluation seeds that overlap any of them; the report lists the ranges it checked.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from cosmos_robotics.errors import CosmosRoboticsError

EVALUATION_SEED = 2_000_000  # default first evaluation seed: far from training (0-511) and calibration (3,000,000+)
PACKAGES = ("cosmos-robotics", "torch", "mujoco", "numpy", "gymnasium", "lerobot")


class SeedOverlapError(CosmosRoboticsError, ValueError):
    """Evaluation seeds that some component was trained or calibrated on."""

    def __init__(self, overlaps: list[dict]):
        self.overlaps = overlaps
        what = "; ".join(f"{o['source']} used seeds {o['first']}-{o['last']} ({o['count']} overlapping)"
                         for o in overlaps)
        super().__init__(f"evaluation seeds must be disjoint from training/calibration seeds: {what}; "
                         "choose another --seed-start")


class ProtocolMismatchError(CosmosRoboticsError, ValueError):
    """Resuming into a directory made with other settings would mix two protocols in one report."""

    def __init__(self, out: Path, differences: list[str]):
        super().__init__(f"{out} holds an evaluation with other settings ({', '.join(differences)}): expected the "
                         "same protocol to resume, or a new --out directory")


@dataclass(frozen=True)
class SeedRange:
    source: str  # what used these seeds, e.g. "embedded world model training"
    first: int
    last: int  # inclusive


@dataclass
class Protocol:
    """Everything that decides the numbers; two runs with equal protocols give identical reports."""

    policies: list[str]
    seeds: list[int]
    episode_length: int
    world_model: dict  # backend, checkpoint, sha256
    detector: dict  # name, threshold, calibration
    excluded_seeds: list[dict] = field(default_factory=list)
    videos: int = 2
    versions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def key(self) -> dict:
        """What decides the stored episodes, so what must match to resume; policies and seeds may be added and
        the detector changed (it judges the stored episodes when the report is written)."""
        return {"episode_length": self.episode_length, "world_model": self.world_model}


def training_ranges(training_json: Path, source: str) -> list[SeedRange]:
    """``episode_seeds: [first, last]`` of a ``training.json`` (the embedded trainer's provenance), and of the
    logs it was fine-tuned from."""
    return _seed_ranges(json.loads(Path(training_json).read_text()), source)


def _seed_ranges(training: dict, source: str) -> list[SeedRange]:
    """A fine-tuned model's log keeps the log of the model it started from under ``init``, a distilled one its
    teacher's under ``teacher``: their seeds count too."""
    first, last = training["episode_seeds"]
    ranges = [SeedRange(source, int(first), int(last))]
    for key, how in (("init", "the run it was fine-tuned from"), ("teacher", "its teacher")):
        if key in training:
            ranges += _seed_ranges(training[key], f"{source} ({how})")
    return ranges


def policy_ranges(policy) -> list[SeedRange]:
    """Seed ranges of ``policy`` and everything it wraps (``.policy``, ``.proposal``), from their provenance."""
    from cosmos_robotics.policies.embedded import EmbeddedPolicy
    from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS

    ranges, seen = [], policy
    while seen is not None:
        if isinstance(seen, EmbeddedPolicy):
            ranges += training_ranges(DEFAULT_WEIGHTS / "training.json", "embedded policy head training")
        ranges += [SeedRange(f"{seen.name} training", int(a), int(b)) for a, b in getattr(seen, "training_seeds", ())]
        seen = getattr(seen, "policy", None) or getattr(seen, "proposal", None)
    return ranges


def world_model_description(world_model, backend: str, checkpoint: str | None) -> tuple[dict, list[SeedRange]]:
    """Backend, checkpoint and the sha256 of its weights file when local; plus its training seed ranges."""
    description = {"backend": backend, "checkpoint": checkpoint, "name": getattr(world_model, "name", backend)}
    ranges: list[SeedRange] = []
    if backend == "embedded":
        from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS, WEIGHTS_FILE

        directory = Path(checkpoint) if checkpoint else DEFAULT_WEIGHTS
        description["checkpoint"] = str(checkpoint) if checkpoint else "bundled embedded weights"
        description["sha256"] = hashlib.sha256((directory / WEIGHTS_FILE).read_bytes()).hexdigest()
        description["precision"] = str(next(world_model.model.parameters()).dtype).removeprefix("torch.")
        ranges = training_ranges(directory / "training.json", "embedded world model training")
    return description, ranges


def check_disjoint(seeds: list[int], ranges: list[SeedRange]) -> list[dict]:
    """The checked ranges as report entries; raises ``SeedOverlapError`` if any evaluation seed is in one."""
    overlaps, checked = [], []
    for r in ranges:
        count = sum(r.first <= s <= r.last for s in seeds)
        entry = {"source": r.source, "first": r.first, "last": r.last}
        checked.append(entry)
        if count:
            overlaps.append({**entry, "count": count})
    if overlaps:
        raise SeedOverlapError(overlaps)
    unique = {(c["first"], c["last"], c["source"]): c for c in checked}
    return [unique[k] for k in sorted(unique)]


def versions() -> dict:
    out = {"python": platform.python_version(), "machine": platform.machine()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
