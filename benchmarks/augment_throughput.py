"""Augmentation throughput (kept episodes per minute, generation + filter + export): one process vs Ray workers.

Both runs generate the same jobs (same seeds, filter on, success not required so every run keeps the same
count) into fresh datasets, one after the other in one invocation, and must produce identical episodes.

    PYTHONPATH=. .venv/bin/python benchmarks/augment_throughput.py --out benchmarks/results/augment_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from machine import cpu_report  # benchmarks/machine.py


def actions(root: Path) -> np.ndarray:
    return np.asarray(pq.read_table(sorted((root / "data").rglob("*.parquet")), columns=["action.cosmos3"])
                      .to_pydict()["action.cosmos3"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/augment_throughput.json"))
    args = parser.parse_args()
    import ray

    from cosmos_robotics.augmentation import AugmentConfig, FilterConfig, augment
    from cosmos_robotics.augmentation.ray_runner import RayRunner

    config = AugmentConfig(strategies=("new-starts",), seed=500_000, steps=args.steps,
                           filter=FilterConfig(require_success=False))
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        augment(config, Path(tmp) / "single", args.episodes, progress=False)
        runs["single_process"] = time.perf_counter() - start
        start = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        runner = RayRunner(config, workers=args.workers)
        ready = time.perf_counter() - start
        try:
            augment(config, Path(tmp) / "ray", args.episodes, runner=runner, progress=False)
        finally:
            runner.close()
            ray.shutdown()
        runs[f"ray_{args.workers}_workers"] = time.perf_counter() - start
        identical = bool(np.array_equal(actions(Path(tmp) / "single"), actions(Path(tmp) / "ray")))
    single = runs["single_process"]
    report = {
        "command": f"PYTHONPATH=. .venv/bin/python benchmarks/augment_throughput.py --episodes {args.episodes} "
                   f"--steps {args.steps} --workers {args.workers}",
        "episodes": args.episodes, "steps_per_episode": args.steps, "strategy": "new-starts",
        "seconds": {k: round(v, 1) for k, v in runs.items()}, "ray_startup_s": round(ready, 1),
        "episodes_per_min": {k: round(60 * args.episodes / v, 2) for k, v in runs.items()},
        "speedup_vs_single": {k: round(single / v, 2) for k, v in runs.items()},
        "identical_episodes": identical,
        "machine": {**cpu_report(), "cores": os.cpu_count(),
                    "load_average_at_end": Path("/proc/loadavg").read_text().split()[:3]},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
