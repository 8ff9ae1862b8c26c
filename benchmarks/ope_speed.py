"""Offline policy evaluation speed: the same policy and seeds in the world-model env and in the simulator,
interleaved episode by episode in one process (``--threads`` torch threads, 1 by default: what each evaluation
worker uses), so machine load hits both alike.

Counts what an evaluation pays per episode in each env (reset, policy, dynamics, success), through the one
rollout runner. Records the world model's inference path (``bfloat16`` where the CPU has it natively,
``float32_channels_last`` on AVX2-only CPUs), every episode's seconds and how idle the machine was before and
after (load average and the idle share of the CPU time over one second). Writes ``benchmarks/results/ope_speed.json``.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/ope_speed.py --seeds 8
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.machine import cpu_report, idleness
from cosmos_robotics.envs import CosmosWorldEnv, SimChunkEnv
from cosmos_robotics.evaluation import EVALUATION_SEED
from cosmos_robotics.policies import make_policy
from cosmos_robotics.rollout import run_episode
from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel

RESULT = Path(__file__).parent / "results" / "ope_speed.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=130)
    parser.add_argument("--policy", default="embedded")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    before = {**cpu_report(), **idleness()}
    world_model = EmbeddedWorldModel()
    envs = {"world_model": CosmosWorldEnv(world_model, episode_length=args.steps),
            "simulator": SimChunkEnv(episode_length=args.steps)}
    policy = make_policy(args.policy)
    run_episode(envs["world_model"], policy, EVALUATION_SEED - 1, keep_observations=False)  # warm-up, not counted
    seconds = {name: [] for name in envs}
    for seed in range(EVALUATION_SEED, EVALUATION_SEED + args.seeds):
        for name, env in envs.items():
            start = time.perf_counter()
            run_episode(env, policy, seed)
            seconds[name].append(time.perf_counter() - start)
    per_minute = {name: 60 / float(np.mean(s)) for name, s in seconds.items()}
    result = {"command": f"benchmarks/ope_speed.py --seeds {args.seeds} --steps {args.steps} --policy {args.policy} "
                         f"--threads {args.threads}",
              "policy": policy.name, "steps": args.steps, "seeds": args.seeds, "torch_threads": args.threads,
              "world_model_inference_path": world_model.inference_path,
              "episodes_per_minute": {k: round(v, 2) for k, v in per_minute.items()},
              "seconds_per_episode": {k: {"mean": round(float(np.mean(s)), 3), "min": round(float(np.min(s)), 3)}
                                      for k, s in seconds.items()},
              "seconds_each": {k: [round(x, 3) for x in s] for k, s in seconds.items()},
              "ratio_world_model_over_simulator": round(per_minute["world_model"] / per_minute["simulator"], 3),
              "machine_before": before, "idle_after": idleness()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
