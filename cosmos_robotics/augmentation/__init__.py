"""Sim2Real data augmentation: world-model-generated episodes, filtered for consistency, exported with provenance."""

from cosmos_robotics.augmentation.filter import FilterConfig, Verdict, judge
from cosmos_robotics.augmentation.generator import AugmentConfig, Generator, LocalRunner
from cosmos_robotics.augmentation.pipeline import AugmentSummary, augment
from cosmos_robotics.augmentation.strategies import STRATEGIES, Candidate, Job, plan_jobs

__all__ = ["STRATEGIES", "AugmentConfig", "AugmentSummary", "Candidate", "FilterConfig", "Generator", "Job",
           "LocalRunner", "Verdict", "augment", "judge", "plan_jobs"]
