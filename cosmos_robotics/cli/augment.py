"""``cosmos-robotics augment``: synthetic episodes from a world model, filtered, as a LeRobot v3 dataset
(``cosmos_robotics.augmentation``)."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    from cosmos_robotics.augmentation.filter import FilterConfig
    from cosmos_robotics.augmentation.generator import DEFAULT_POLICY
    from cosmos_robotics.augmentation.strategies import STRATEGIES

    defaults = FilterConfig()
    parser = sub.add_parser(
        "augment", help="generate world-model episodes (variations, new starts, relabelling), filter, export",
        description="Multiply a recorded SimDroid-v0 dataset with world-model episodes: perturbed action chunks "
                    "rolled out from the source frames (variations), a policy closed loop in the world model from "
                    "new start states (new-starts), inverse-dynamics labels for the source videos (relabel). Every "
                    "candidate is scored (cycle consistency, success, frame quality); kept ones are written as a "
                    "LeRobot v3 dataset with per-episode provenance and a dataset card. Rerunning resumes.",
        epilog="example: cosmos-robotics augment --source data/expert --out data/augmented --strategies variations "
               "new-starts --episodes 50 --ray local --workers 2")
    parser.add_argument("--source", default=None, help="LeRobot v3 dataset recorded by `sim record` (with --steps "
                                                       "STEPS+1); needed by variations and relabel")
    parser.add_argument("--out", type=Path, required=True, help="directory of the augmented dataset")
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, required=True,
                        help="strategies, used in turn job by job")
    parser.add_argument("--episodes", type=int, default=10, help="kept episodes wanted (default 10)")
    parser.add_argument("--max-attempts", type=int, default=None, help="jobs tried at most (default 3 x episodes)")
    parser.add_argument("--seed", type=int, default=0, help="job i uses seed SEED + i (new starts: sim start state)")
    parser.add_argument("--steps", type=int, default=130, help="actions per episode at 15 Hz (default 130)")
    parser.add_argument("--policy", default=DEFAULT_POLICY, help=f"new-starts policy spec (default {DEFAULT_POLICY})")
    parser.add_argument("--noise", type=float, default=0.1, help="variations: std of the per-chunk translation offset, model space (default 0.1)")
    parser.add_argument("--backend", default="embedded", help="world-model backend (default embedded)")
    parser.add_argument("--checkpoint", default=None, help="backend checkpoint (default: the backend's own)")
    parser.add_argument("--max-cycle-mse", type=float, default=defaults.max_cycle_mse,
                        help=f"drop above this ID-vs-commanded MSE, normalized space (default {defaults.max_cycle_mse})")
    parser.add_argument("--keep-failures", action="store_true", help="keep episodes without success")
    parser.add_argument("--min-frame-std", type=float, default=defaults.min_frame_std,
                        help=f"drop blank frames: pixel std below this (default {defaults.min_frame_std})")
    parser.add_argument("--max-frame-jump", type=float, default=defaults.max_frame_jump,
                        help=f"drop frame-to-frame jumps above this mean |diff| (default {defaults.max_frame_jump})")
    parser.add_argument("--min-replay-psnr", type=float, default=defaults.min_replay_psnr,
                        help=f"relabel: drop if the labels' replay is below this PSNR (default {defaults.min_replay_psnr})")
    parser.add_argument("--ray", default=None, metavar="local|ADDRESS",
                        help="distribute generation over Ray workers: a local cluster or a cluster address")
    parser.add_argument("--workers", type=int, default=2, help="Ray workers, one world model each (default 2)")
    parser.add_argument("--gpus-per-worker", type=int, default=None,
                        help="GPUs per Ray worker (default: 1 when the cluster has GPUs, else 0; >1 splits a Cosmos 3 "
                             "transformer over them)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads per worker (default 1; the same value gives the same episodes)")
    parser.add_argument("--commit-every", type=int, default=10, help="episodes per atomic commit (default 10)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cosmos_robotics.augmentation import AugmentConfig, FilterConfig, augment

    config = AugmentConfig(
        strategies=tuple(args.strategies), source=args.source, seed=args.seed, steps=args.steps, policy=args.policy,
        noise=args.noise, backend=args.backend, checkpoint=args.checkpoint, threads=args.threads,
        filter=FilterConfig(args.max_cycle_mse, not args.keep_failures, args.min_frame_std, args.max_frame_jump,
                            args.min_replay_psnr))
    runner = None
    if args.ray is not None:
        from cosmos_robotics.augmentation.ray_runner import RayRunner

        runner = RayRunner(config, address=args.ray, workers=args.workers, gpus_per_worker=args.gpus_per_worker)
    try:
        summary = augment(config, args.out, args.episodes, args.max_attempts, runner, args.commit_every)
    finally:
        if runner is not None:
            runner.close()
    print(json.dumps({"out": str(summary.root), "kept": summary.kept, "dropped": summary.dropped,
                      "processed_jobs": summary.processed, "generated_now": summary.generated_now}))
    return 0
