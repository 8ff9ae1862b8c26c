"""``cosmos-robotics sim record``: roll a policy in ``SimDroid-v0`` and store the episodes as a LeRobot v3 dataset
(``cosmos_robotics.rollout.record``)."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    from cosmos_robotics.cli import add_command

    sim = sub.add_parser("sim", help="the DROID-like MuJoCo simulator").add_subparsers(dest="sim_command", required=True)
    rec = add_command(
        sim, "record", "record policy rollouts as a LeRobot v3 dataset (resumable)",
        "Runs a policy in SimDroid-v0 (Franka + 2F-85, three cameras) for --episodes episodes, episode i from\n"
        "seed + i, in parallel processes, and writes a LeRobot v3 dataset with per-frame success and the Cosmos 3\n"
        "DROID model-space actions. Crash-safe: a rerun with the same arguments continues where it stopped.",
        "cosmos-robotics sim record --episodes 20 --policy expert:noise=0.01 --out data/sim")
    rec.add_argument("--episodes", type=int, required=True, help="total episodes the dataset should hold")
    rec.add_argument("--policy", required=True, help="policy spec: expert[:noise=..,slip=..,contract=1], embedded[:replan=k], planner, "
                                                  "replay:dataset=DIR,episode=i")
    rec.add_argument("--out", type=Path, required=True, help="dataset directory (created, or resumed)")
    rec.add_argument("--workers", type=int, default=2, help="simulation processes")
    rec.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")
    rec.add_argument("--resolution", type=int, default=128, help="square camera images (pixels)")
    rec.add_argument("--steps", type=int, default=100, help="steps per episode at 15 Hz")
    rec.add_argument("--commit-every", type=int, default=10, help="episodes per atomic commit")
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
