"""One policy object, two envs: the embedded policy closed loop in ``SimDroid-v0`` (ground truth) and inside the
embedded world model, from the same start states (seeds held out from the model's training seeds 0..511).

    .venv/bin/python benchmarks/policy_both_envs.py --seeds 20

Writes ``benchmarks/results/policy_both_envs.json`` (success per env and seed, agreement, wall time per episode,
CPU model and flags) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from machine import cpu_report, idleness  # benchmarks/machine.py

from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout import run_episodes

RESULT = Path(__file__).parent / "results" / "policy_both_envs.json"
FIRST_SEED = 1_500_000  # disjoint from the embedded model's training seeds (0..511)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--policy", default="embedded:replan=16")
    parser.add_argument("--steps", type=int, default=130)  # the task takes 85-105 steps at contract speed
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    seeds = range(FIRST_SEED, FIRST_SEED + args.seeds)
    policy = make_policy(args.policy)
    rows = {}
    for name, env in (("simulator", SimChunkEnv(episode_length=args.steps)),
                      ("world_model", CosmosWorldEnv("embedded", episode_length=args.steps))):
        start = time.perf_counter()
        episodes = list(run_episodes(env, policy, seeds, desc=name, keep_observations=False))
        rows[name] = {"success": [e.is_success for e in episodes], "seconds": time.perf_counter() - start}
        env.close()
    sim, wm = np.array(rows["simulator"]["success"]), np.array(rows["world_model"]["success"])
    report = {
        "policy": policy.name, "steps": args.steps, "seeds": [seeds.start, seeds.stop - 1], "machine": cpu_report(), "idleness": idleness(),
        "simulator_success_rate": float(sim.mean()), "world_model_success_rate": float(wm.mean()),
        "agreement": float((sim == wm).mean()), "false_success": int((wm & ~sim).sum()),
        "false_failure": int((~wm & sim).sum()),
        "seconds_per_episode": {k: round(v["seconds"] / args.seeds, 2) for k, v in rows.items()},
        "per_seed": [{"seed": s, "simulator": bool(a), "world_model": bool(b)} for s, a, b in zip(seeds, sim, wm,
                                                                                                  strict=True)],
        "command": f"benchmarks/policy_both_envs.py --seeds {args.seeds} --policy {args.policy} --steps {args.steps}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print("| env | success | s / episode |")
    print("|---|---|---|")
    for name, key in (("simulator", "simulator_success_rate"), ("world model", "world_model_success_rate")):
        print(f"| {name} | {report[key]:.0%} ({int(round(report[key] * args.seeds))}/{args.seeds}) "
              f"| {report['seconds_per_episode'][name.replace(' ', '_')]} |")
    print(f"agreement {report['agreement']:.0%}, false successes {report['false_success']}, "
          f"false failures {report['false_failure']}")


if __name__ == "__main__":
    main()
