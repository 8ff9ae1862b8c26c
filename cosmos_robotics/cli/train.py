"""``cosmos-robotics train``: train the embedded world model on SimDroid-v0 episodes simulated in memory."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from cosmos_robotics.errors import CosmosRoboticsError


def register(sub) -> None:
    from cosmos_robotics.world_models.embedded.config import TrainConfig

    parser = sub.add_parser("train", help="train the embedded world model (CPU or GPU), reproducible from --seed")
    parser.add_argument("--out", type=Path, required=True, help="directory for model.safetensors + config + log")
    parser.add_argument("--episodes", type=int, default=64, help="episodes to simulate")
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first simulated episode")
    parser.add_argument("--workers", type=int, default=1, help="simulator processes")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(getattr(defaults, f.name)),
                            default=getattr(defaults, f.name))
    parser.set_defaults(func=run)


def run(args) -> int:
    from cosmos_robotics.world_models.embedded.checkpoint import save_checkpoint
    from cosmos_robotics.world_models.embedded.config import TrainConfig
    from cosmos_robotics.world_models.embedded.data import generate_episodes
    from cosmos_robotics.world_models.embedded.train import train

    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    if config.steps < 1 or config.batch_size < 1:
        raise CosmosRoboticsError(f"--steps and --batch-size must be >= 1, got {config.steps}, {config.batch_size}")
    episodes = generate_episodes(args.episodes, args.first_seed, config.episode_length, args.workers)
    model, log = train(episodes, config, device=args.device)
    log["data"] = f"simulated: {args.episodes} episodes from seed {args.first_seed}"
    save_checkpoint(model, args.out, log)
    print(json.dumps({k: log[k] for k in ("train_seconds", "episodes", "parameters")}))
    return 0
