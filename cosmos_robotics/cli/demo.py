"""``cosmos-robotics demo``: the embedded policy acting inside the embedded world model, checked against MuJoCo
(``cosmos_robotics.evaluation.imagination``). CPU only, no download."""

from __future__ import annotations

import json
import time
from pathlib import Path


def register(sub) -> None:
    from cosmos_robotics.cli import add_command

    parser = add_command(
        sub, "demo", "the embedded policy acting inside the embedded world model, checked against MuJoCo",
        "From a simulator start state the embedded policy plans 16-step chunks from what the embedded world model\n"
        "shows it; the world model imagines the result; the same chunks then run in the MuJoCo simulator.\n"
        "Writes rollout.mp4 (imagined | simulated), trajectory.png and summary.json. CPU only, no download.",
        "cosmos-robotics demo --out outputs/demo --seed 1500003")
    parser.add_argument("--out", type=Path, default=Path("outputs/demo"), help="output directory")
    parser.add_argument("--seed", type=int, default=1_500_003, help="simulator start state (held out from training)")
    parser.add_argument("--steps", type=int, default=128, help="control steps at 15 Hz")
    parser.add_argument("--replan", type=int, default=16, help="steps executed of each 16-step chunk")
    parser.add_argument("--weights", type=Path, default=None, help="embedded model directory (default: the shipped weights)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cosmos_robotics.errors import CosmosRoboticsError
    from cosmos_robotics.evaluation.imagination import compare_imagination, write_comparison
    from cosmos_robotics.policies import ExecuteK
    from cosmos_robotics.policies.embedded import EmbeddedPolicy
    from cosmos_robotics.world_models.embedded.backend import EmbeddedWorldModel
    from cosmos_robotics.world_models.embedded.checkpoint import DEFAULT_WEIGHTS
    from cosmos_robotics.world_models.embedded.config import CHUNK

    if not 1 <= args.replan <= CHUNK or args.steps < 1:
        raise CosmosRoboticsError(f"--replan must be in 1..{CHUNK} and --steps >= 1, got {args.replan}, {args.steps}")
    start = time.perf_counter()
    world_model = EmbeddedWorldModel(args.weights or DEFAULT_WEIGHTS)
    policy = ExecuteK(EmbeddedPolicy(world_model.model), args.replan)
    comparison = compare_imagination(world_model, policy, args.seed, args.steps)
    comparison.summary["timings_s"]["total"] = round(time.perf_counter() - start, 3)
    write_comparison(comparison, args.out)
    print(json.dumps(comparison.summary, indent=1))
    return 0
