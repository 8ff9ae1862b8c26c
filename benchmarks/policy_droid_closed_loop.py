"""Policy-DROID-format chunks from ``serve-policy`` driving ``SimDroid-v0`` in joint-position mode, closed loop.

``serve-policy`` serves the embedded policy: its 16 flange targets become absolute joint targets by MuJoCo inverse
kinematics on the simulator's arm and are sent as the ``[32, 8]`` Policy-DROID reply (rows 16..31 hold the last
target). Our ``PolicyDroidClient`` executes 16 of the 32 rows per call (as IsaacLab-Arena does) in
``SimChunkEnv(action_type="joints")`` over a websocket on 127.0.0.1. Side by side, on the same seeds: the embedded
policy executed directly in pose mode (``embedded:replan=16``), so the ratio shows what the joint-space path costs.

    .venv/bin/python benchmarks/policy_droid_closed_loop.py --seeds 20
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from machine import cpu_report, idleness  # benchmarks/machine.py

from cosmos_robotics.envs import SimChunkEnv
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout import run_episodes
from cosmos_robotics.serving.openpi_server import PolicyServer, PolicyServerConfig, ServerThread

RESULT = Path(__file__).parent / "results" / "policy_droid_closed_loop.json"


def evaluate(env, policy, seeds: list[int], desc: str) -> dict:
    start = time.perf_counter()
    episodes = list(run_episodes(env, policy, seeds, desc=desc, keep_observations=False))
    latencies = [c.metadata.get("latency_s", np.nan) for e in episodes for c in e.chunks]
    return {"policy": policy.name, "success_rate": float(np.mean([e.is_success for e in episodes])),
            "successes": [int(e.is_success) for e in episodes], "chunks": sum(len(e.chunks) for e in episodes),
            "median_call_latency_s": float(np.nanmedian(latencies)), "wall_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--execute", type=int, default=16, help="rows executed per 32-row reply")
    parser.add_argument("--steps", type=int, default=130,
                        help="episode length at 15 Hz (130: the embedded policy's contract-speed task takes 85-105)")
    args = parser.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))

    server = PolicyServer(lambda: make_policy("embedded"), PolicyServerConfig(port=0))
    with ServerThread(server) as running:
        served = evaluate(SimChunkEnv(chunk_size=32, action_type="joints", episode_length=args.steps),
                          make_policy(f"openpi:url={running.url},replan={args.execute}"), seeds,
                          "serve-policy -> joints")
    direct = evaluate(SimChunkEnv(chunk_size=16, action_type="poses", episode_length=args.steps), make_policy("embedded:replan=16"), seeds,
                      "embedded -> poses")
    result = {"seeds": seeds, "execute": args.execute, "episode_length": args.steps, "cpu": cpu_report(), "idle": idleness(), "served_joint_mode": served,
              "direct_pose_mode": direct,
              "success_ratio_served_over_direct": served["success_rate"] / max(direct["success_rate"], 1e-9)}
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print("| path | success | median call latency (s) | wall (s) |\n|---|---|---|---|")
    for name, r in (("serve-policy, Policy-DROID [32, 8] joints, execute 16", served),
                    ("embedded direct, pose mode, replan 16", direct)):
        print(f"| {name} | {r['success_rate']:.0%} ({sum(r['successes'])}/{len(seeds)}) | "
              f"{r['median_call_latency_s']:.3f} | {r['wall_s']:.0f} |")
    print(f"served / direct success: {result['success_ratio_served_over_direct']:.2f}; wrote {RESULT}")


if __name__ == "__main__":
    main()
