"""Success rate of each scripted-expert quality level on SimDroid-v0 (the ground-truth ladder for OPE studies).

Runs state-only (success does not depend on rendering) over ``--seeds`` seeds per level with the same seeds for
every level, writes ``benchmarks/results/sim_expert_ladder.json`` and prints a markdown table.

    .venv/bin/python benchmarks/sim_expert_ladder.py --seeds 50
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import mujoco
import numpy as np
from machine import cpu_report  # benchmarks/machine.py
from tqdm import tqdm

from cosmos_robotics.envs import SimChunkEnv
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout import run_episodes

LADDER = ("expert", "expert:noise=0.01", "expert:slip=0.3", "expert:noise=0.015", "expert:noise=0.01,slip=0.3",
          "expert:noise=0.02", "expert:noise=0.05")
RESULT = Path(__file__).parent / "results" / "sim_expert_ladder.json"


def run_level(env: SimChunkEnv, spec: str, seeds: range) -> dict:
    start = time.perf_counter()
    episodes = list(run_episodes(env, make_policy(spec), seeds, desc=spec, keep_observations=False))
    seconds = time.perf_counter() - start
    successes = [e.is_success for e in episodes]
    first_success = [int(np.argmax(e.success)) + 1 for e in episodes if e.is_success]
    return {
        "policy": spec,
        "episodes": len(seeds),
        "success_rate": float(np.mean(successes)),
        "successes": int(np.sum(successes)),
        "median_first_success_step": float(np.median(first_success)) if first_success else None,
        "steps_per_second": sum(e.steps for e in episodes) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--levels", nargs="*", default=list(LADDER))
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    env = SimChunkEnv(cameras=())
    rows = [run_level(env, spec, range(args.seeds)) for spec in tqdm(args.levels, desc="ladder")]
    env.close()
    report = {"env": "cosmos_robotics/SimDroid-v0 (state-only, 100 steps at 15 Hz)", "seeds": args.seeds,
              "mujoco": mujoco.__version__, "machine": cpu_report(), "levels": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(args.out)
    print("| policy | success | median step of first success | steps/s |")
    print("|---|---|---|---|")
    for r in rows:
        first = "-" if r["median_first_success_step"] is None else f"{r['median_first_success_step']:.0f}"
        print(f"| `{r['policy']}` | {r['successes']}/{r['episodes']} ({r['success_rate']:.0%}) | {first} "
              f"| {r['steps_per_second']:.0f} |")


if __name__ == "__main__":
    main()
