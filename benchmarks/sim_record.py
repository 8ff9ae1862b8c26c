"""Recording throughput of ``cosmos-robotics sim record`` (target >= 30 episodes/min on 2 cores).

Each episode: 100 steps of the scripted expert in SimDroid-v0, 3 cameras at 128x128, AV1 video encoding, LeRobot v3
parquet/metadata and the atomic commits: the whole CLI path, worker start-up included, into a fresh directory.
The 1-minute load average before and after is recorded because the machine is shared.
Run: ``.venv/bin/python benchmarks/sim_record.py [--episodes 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from cosmos_robotics import __version__  # noqa: E402
from cosmos_robotics.cli import main as cli  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "sim_record.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sim_record_bench_"))
    root = work / "dataset"
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    code = cli([
        "sim", "record", "--episodes", str(args.episodes), "--policy", "expert", "--out", str(root),
        "--workers", str(args.workers), "--resolution", "128", "--steps", "100",
    ])
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"sim record failed with exit code {code}")
    size_mb = sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 2**20
    shutil.rmtree(work)
    result = {
        "episodes": args.episodes,
        "steps_per_episode": 100,
        "cameras": 3,
        "resolution": 128,
        "workers": args.workers,
        "seconds": round(seconds, 2),
        "episodes_per_minute": round(60 * args.episodes / seconds, 1),
        "target_episodes_per_minute": 30,
        "dataset_mib": round(size_mb, 2),
        "loadavg_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "cosmos_robotics": __version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
