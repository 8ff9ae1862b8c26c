"""``cosmos-robotics sim record``: roll a policy in ``SimDroid-v0`` and store the episodes as a LeRobot v3 dataset
(``cosmos_robotics.rollout.record``)."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    sim = sub.add_parser("sim", help="the DROID-like MuJoCo simulator").add_subparsers(dest="sim_command", required=True)
    rec = sim.add_parser("record", help="record policy rollouts as a LeRobot v3 dataset (resumable)")
    rec.add_argument("--episodes", type=int, required=True, help="total episodes the dataset should hold")
    rec.add_argument("--policy", required=True, help='policy spec, e.g. "expert" or "expert:noise=0.03"')
    rec.add_argument("--out", type=Path, required=True, help="dataset directory (created, or resumed)")
    rec.add_argument("--workers", type=int, default=2, help="simulation processes (default 2)")
    rec.add_argument("--seed", type=int, default=0, help="episode i uses seed + i (default 0)")
    rec.add_argument("--resolution", type=int, default=128, help="square camera images (default 128)")
    rec.add_argument("--steps", type=int, default=100, help="steps per episode (default 100)")
    rec.add_argument("--commit-every", type=int, default=10, help="episodes per atomic commit (default 10)")
    rec.set_defaults(func=record)


def record(args) -> int:
    from cosmos_robotics.rollout.record import record_dataset

    summary = record_dataset(args.out, args.episodes, args.policy, args.workers, args.seed, args.resolution,
                             args.steps, args.commit_every)
    if not summary.recorded_now:
        print(f"{args.out}: already holds {summary.episodes} episodes (asked for {args.episodes}); nothing to do")
    else:
        print(f"{args.out}: {summary.episodes} episodes, success {summary.successes}/{summary.episodes}")
    return 0
