"""``cosmos-robotics rollout``: run a policy closed loop in the simulator or in a world model
(``cosmos_robotics.rollout.session``)."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    from cosmos_robotics.cli import add_command

    parser = add_command(
        sub, "rollout", "run a policy closed loop in the simulator or a world model; videos, summary, dataset",
        "Runs a policy chunk by chunk in SimDroid-v0 (--env sim) or inside a world model (--env world-model)\n"
        "from the simulator's start states; writes one mp4 per episode and summary.json, and with --record a\n"
        "LeRobot v3 dataset (imagined episodes are marked synthetic).",
        "cosmos-robotics rollout --policy embedded:replan=8 --env world-model --seeds 0 1 --out outputs/rollout")
    parser.add_argument("--policy", required=True,
                        help="policy spec: expert[:noise=..,slip=..], embedded[:replan=k|ensemble=m], "
                             "planner[:samples=..], replay:dataset=DIR,episode=i")
    parser.add_argument("--env", choices=("sim", "world-model"), default="sim", help="where the policy acts")
    parser.add_argument("--world-model", default="embedded", help="backend for --env world-model")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="start states (simulator seeds)")
    parser.add_argument("--steps", type=int, default=100, help="control steps per episode at 15 Hz")
    parser.add_argument("--out", type=Path, required=True, help="directory for the videos and summary.json")
    parser.add_argument("--record", type=Path, default=None, help="also write the episodes as a LeRobot v3 dataset")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cosmos_robotics.rollout.session import run_rollouts

    report = run_rollouts(args.policy, args.env, args.seeds, args.steps, args.out, args.record, args.world_model)
    print(json.dumps({k: report[k] for k in ("policy", "env", "success_rate", "recorded")}))
    print(f"wrote {args.out / 'summary.json'}")
    return 0
