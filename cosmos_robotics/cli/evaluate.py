"""``cosmos-robotics evaluate``: offline policy evaluation, world model vs simulator
(``cosmos_robotics.evaluation.evaluate``)."""

from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    from cosmos_robotics.cli import add_command

    parser = add_command(
        sub, "evaluate", "rank policies in a world model and check the ranking against the simulator",
        "Runs every policy in the world-model env and in SimDroid-v0 from the same seeds (resumable: a rerun\n"
        "skips finished episodes), judges the imagined episodes with a success detector and writes report.json\n"
        "(schema: cosmos_robotics/evaluation/report.schema.json), report.html and scatter.png. Seeds that the\n"
        "world model, the detector or a policy were trained or calibrated on are refused.",
        "cosmos-robotics evaluate --policies embedded embedded:noise=0.05 random --world-model embedded "
        "--episodes 50 --out outputs/ope")
    parser.add_argument("--policies", nargs="+", required=True, help="policy specs (see `rollout --help`)")
    parser.add_argument("--world-model", default="embedded", help="world-model backend")
    parser.add_argument("--checkpoint", default=None, help="backend checkpoint / server URL (default: its own)")
    parser.add_argument("--episodes", type=int, default=50, help="seeds per policy")
    parser.add_argument("--seed-start", type=int, default=None, help="first evaluation seed (default 2,000,000)")
    parser.add_argument("--steps", type=int, default=100, help="control steps per episode at 15 Hz")
    parser.add_argument("--detector", default="head",
                        help="world-model success detector: head, frame, reasoner or module:callable")
    parser.add_argument("--videos", type=int, default=2, help="seeds per policy with side-by-side videos")
    parser.add_argument("--workers", type=int, default=1, help="processes, or Ray workers with --ray (one torch thread each)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads with --workers 1, or of each Ray worker (default: torch's; Ray: 1)")
    parser.add_argument("--ray", default=None, metavar="local|ADDRESS",
                        help="run the episodes on Ray workers (one world model each): a local cluster or an address")
    parser.add_argument("--gpus-per-worker", type=int, default=None,
                        help="with --ray: GPUs per worker (default: 1 when the cluster has GPUs, else 0; >1 splits "
                             "a Cosmos 3 transformer over them)")
    parser.add_argument("--out", type=Path, required=True, help="directory for episodes and the report")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cosmos_robotics.evaluation import EVALUATION_SEED, evaluate

    report = evaluate(args.policies, args.out, world_model=args.world_model, episodes=args.episodes,
                      seed_start=EVALUATION_SEED if args.seed_start is None else args.seed_start,
                      steps=args.steps, detector=args.detector, videos=args.videos,
                      checkpoint=args.checkpoint, workers=args.workers, threads=args.threads,
                      ray=args.ray, gpus_per_worker=args.gpus_per_worker)
    summary = report["summary"]
    print(json.dumps({"pearson_r": summary["pearson_r"]["value"], "mmrv": summary["mmrv"]["value"],
                      "spearman_rho": summary["spearman_rho"]["value"],
                      "seeds_used": len(report["protocol"]["seeds_used"]),
                      "success": {p["policy"]: [p["simulator"]["rate"], p["world_model"]["rate"]]
                                  for p in report["outcomes"]["policies"]}}))
    print(f"wrote {args.out / 'report.json'}, {args.out / 'report.html'}, {args.out / 'scatter.png'}")
    return 0
