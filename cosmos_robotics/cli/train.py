"""``cosmos-robotics train``: train the embedded world model on SimDroid-v0 episodes, simulated in memory or
read from LeRobot v3 datasets recorded by ``cosmos-robotics sim record`` (``--data``)."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from cosmos_robotics.errors import CosmosRoboticsError

SIMULATED_DEFAULTS = {"episodes": 64, "first_seed": 0}
TRAIN_HELP = {
    "seed": "seed of initialisation and batch sampling", "steps": "optimizer steps", "batch_size": "windows per step",
    "lr": "peak learning rate (one-cycle schedule)", "weight_decay": "AdamW weight decay",
    "decoded_steps": "future frames decoded per sample (the decoder dominates the cost)",
    "id_fraction": "share of each batch that also trains inverse dynamics",
    "episode_length": "actions per training episode", "log_every": "steps between log lines",
    "time_budget_s": "stop after this many seconds (0: no limit)",
}


def register(sub) -> None:
    from cosmos_robotics.cli import add_command
    from cosmos_robotics.world_models.embedded.config import TrainConfig

    parser = add_command(
        sub, "train", "train the embedded world model (CPU or GPU), reproducible from --seed",
        "Trains the embedded world model (forward and inverse dynamics, policy, state and success heads) on\n"
        "SimDroid-v0 episodes simulated in memory (--episodes) or on LeRobot v3 datasets recorded by\n"
        "`cosmos-robotics sim record` (--data). Writes model.safetensors, config.json and training.json.",
        "cosmos-robotics train --out weights/ --episodes 512 --steps 3096 --device cuda\n"
        "cosmos-robotics train --out tuned/ --data my_recording/ --init bundled --lr 3e-4 --steps 500")
    parser.add_argument("--out", type=Path, required=True, help="directory for model.safetensors + config + log")
    parser.add_argument("--data", action="append", default=[], metavar="DIR",
                        help="LeRobot v3 dataset recorded by `sim record` (repeatable or comma-separated); "
                             "instead of simulating in memory")
    parser.add_argument("--episodes", type=int, default=None,
                        help=f"episodes to simulate in memory ({SIMULATED_DEFAULTS['episodes']} unless --data is given)")
    parser.add_argument("--first-seed", type=int, default=None, help="seed of the first simulated episode (0 unless --data is given)")
    parser.add_argument("--workers", type=int, default=1, help="processes simulating, or decoding + replaying --data")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--init", metavar="DIR|bundled", default=None,
                        help="fine-tune these embedded weights (`bundled`: the shipped ones) instead of training from "
                             "scratch; their training log is kept in the new one")
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(getattr(defaults, f.name)),
                            default=getattr(defaults, f.name), help=TRAIN_HELP.get(f.name, f.name.replace("_", " ")))
    parser.set_defaults(func=run)


def run(args) -> int:
    from cosmos_robotics.training.data import generate_episodes, load_recorded_episodes
    from cosmos_robotics.training.embedded import train, training_device
    from cosmos_robotics.world_models.embedded.checkpoint import save_checkpoint
    from cosmos_robotics.world_models.embedded.config import TrainConfig

    device = training_device(args.device)
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    if config.steps < 1 or config.batch_size < 1:
        raise CosmosRoboticsError(f"--steps and --batch-size must be >= 1, got {config.steps}, {config.batch_size}")
    roots = [Path(part) for value in args.data for part in value.split(",") if part.strip()]
    if args.data:
        given = [f"--{k.replace('_', '-')}" for k in SIMULATED_DEFAULTS if getattr(args, k) is not None]
        if given:
            raise CosmosRoboticsError(f"expected one data source: --data or in-memory simulation, got --data and "
                                      f"{', '.join(given)}")
        episodes = load_recorded_episodes(roots, config.episode_length, args.workers)
        source = f"recorded: {', '.join(str(r) for r in roots)} ({len(episodes.seeds)} episodes)"
    else:
        sim = {k: v if (v := getattr(args, k)) is not None else d for k, d in SIMULATED_DEFAULTS.items()}
        episodes = generate_episodes(sim["episodes"], sim["first_seed"], config.episode_length, args.workers)
        source = f"simulated: {sim['episodes']} episodes from seed {sim['first_seed']}"
    model, log = train(episodes, config, device=device, init=args.init)
    log["data"] = source
    save_checkpoint(model, args.out, log)
    print(json.dumps({k: log[k] for k in ("train_seconds", "episodes", "parameters")}))
    return 0
