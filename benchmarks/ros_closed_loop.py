"""Closed-loop success of a policy through ROS 2 (bridge + SimDroid-v0 emulator, separate processes, Fast DDS on
loopback) against the same policy driving the simulator directly, from the same seeds.

The emulator runs synchronously (physics advances only while a trajectory executes), so the machine's speed
(policy latency) does not change the robot's episode: what is compared is the bridge itself (messages, timing,
sync, codec). Run inside a private network namespace with only loopback (the script refuses otherwise):

    unshare -n bash -c 'ip link set lo up; ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST PYTHONPATH=$PWD \
        HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/ros_closed_loop.py --seeds 20'

The emulator reads the episode length from the parameter file written beside the result.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path

from machine import cpu_report, idleness  # benchmarks/machine.py

from cosmos_robotics.envs import SimChunkEnv
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout.runner import run_episodes
from cosmos_robotics.ros2.config import BridgeConfig, save_config
from cosmos_robotics.ros2.nodes import EmulatorProcess, only_loopback, run_bridge

RESULT = Path(__file__).parent / "results" / "ros_closed_loop.json"


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a success rate."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(centre - half, 3), round(centre + half, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--policy", default="embedded")
    parser.add_argument("--steps", type=int, default=130, help="episode length (embedded_eval.py uses 130)")
    parser.add_argument("--seed-base", type=int, default=1_500_000, help="first seed (embedded_eval.py's policy seeds)")
    parser.add_argument("--realtime", action="store_true",
                        help="emulator in real time: the policy's compute time passes for the robot (it holds); "
                             "the direct outcomes are taken from the synchronous run's JSON (same seeds)")
    args = parser.parse_args()
    if not only_loopback():
        raise SystemExit("refusing to start DDS outside a loopback-only network namespace (see the docstring)")
    seeds = list(range(args.seed_base, args.seed_base + args.seeds))

    out = RESULT.with_name("ros_closed_loop_realtime.json") if args.realtime else RESULT
    if args.realtime:
        synchronous = json.loads(RESULT.read_text())
        if synchronous["seeds"] != seeds or synchronous["steps"] != args.steps:
            raise SystemExit(f"run without --realtime first for these seeds and steps ({RESULT} differs)")
        direct, direct_s = synchronous["direct"]["success"], synchronous["direct"]["wall_s"]
    else:
        start = time.perf_counter()
        direct = [e.is_success for e in run_episodes(SimChunkEnv(episode_length=args.steps),
                                                      make_policy(args.policy), seeds, desc="direct",
                                                      keep_observations=False)]
        direct_s = time.perf_counter() - start

    config = replace(BridgeConfig(), policy=args.policy, episode_length=args.steps)
    start = time.perf_counter()
    params = save_config(config, RESULT.with_suffix(".params.yaml"))
    mode = () if args.realtime else ("--synchronous",)
    with EmulatorProcess(*mode, "--config", str(params), log="/tmp/ros_closed_loop_emulator.log"):
        ros = run_bridge(config, seeds)
    ros_s = time.perf_counter() - start

    n = len(seeds)
    agree = sum(a == b for a, b in zip(direct, ros.success, strict=True))
    result = {
        "policy": ros.policy, "seeds": seeds, "steps": args.steps,
        "direct": {"success": direct, "rate": sum(direct) / n, "wilson95": wilson(sum(direct), n), "wall_s": direct_s},
        "ros2": {"success": ros.success, "rate": sum(ros.success) / n, "wilson95": wilson(sum(ros.success), n),
                 "wall_s": ros_s, "steps": ros.steps, "bridge_stats": ros.stats,
                 "latency_ms_p50_with_policy": sorted(ros.latency_ms)[len(ros.latency_ms) // 2]},
        "same_outcome_seeds": agree,
        "transport": "rclpy 7.1.6 (ros-jazzy wheels), rmw_fastrtps_cpp, loopback-only namespace",
        "emulator": "real time" if args.realtime else "synchronous",
        "machine": {**cpu_report(), **idleness()},
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("policy", "same_outcome_seeds")} |
                     {"direct": result["direct"]["rate"], "ros2": result["ros2"]["rate"]}))


if __name__ == "__main__":
    main()
