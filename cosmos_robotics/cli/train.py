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
        "cosmos-robotics train --out tuned/ --data my_recording/ --init bundled --lr 3e-4 --steps 500\n"
        "cosmos-robotics train --out student/ --episodes 640 --teacher bundled --device cuda \\\n"
        "    --model-config '{\"res_blocks\": 1, \"dec_channels\": [32, 16]}'")
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
                             "scratch; with --teacher: distil this student of it further; their training log is kept "
                             "in the new one")
    parser.add_argument("--teacher", metavar="DIR|bundled", default=None,
                        help="distil these embedded weights into a student of --model-config: it keeps the teacher's "
                             "weights, frozen, except its FiLM blocks and decoder, which learn the simulator's and the "
                             "teacher's frames")
    parser.add_argument("--model-config", metavar="JSON", default=None,
                        help="ModelConfig fields of the new model, e.g. '{\"dec_channels\": [32, 16]}' (default: the "
                             "shipped architecture; with --init it must be the initial weights' own)")
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(getattr(defaults, f.name)),
                            default=getattr(defaults, f.name), help=TRAIN_HELP.get(f.name, f.name.replace("_", " ")))
    parser.set_defaults(func=run)


def parse_model_config(text: str):
    """``--model-config``: a JSON object of ``ModelConfig`` fields; an unknown field is an error here (a config file
    from an older version may carry fields this one ignores, a command line may not)."""
    from cosmos_robotics.world_models.embedded.config import ModelConfig

    known = [f.name for f in fields(ModelConfig)]
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CosmosRoboticsError(f"--model-config: expected a JSON object, got {text!r} ({exc})") from None
    if not isinstance(raw, dict) or set(raw) - set(known):
        unknown = sorted(set(raw) - set(known)) if isinstance(raw, dict) else type(raw).__name__
        raise CosmosRoboticsError(f"--model-config: expected a JSON object of {known}, got {unknown}")
    try:
        return ModelConfig.from_json(text)
    except (TypeError, ValueError) as exc:
        raise CosmosRoboticsError(f"--model-config: {exc}") from None


def run(args) -> int:
    from cosmos_robotics.training.data import generate_episodes, load_recorded_episodes
    from cosmos_robotics.training.embedded import train, training_device
    from cosmos_robotics.world_models.embedded.checkpoint import save_checkpoint
    from cosmos_robotics.world_models.embedded.config import TrainConfig

    device = training_device(args.device)
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    if config.steps < 1 or config.batch_size < 1:
        raise CosmosRoboticsError(f"--steps and --batch-size must be >= 1, got {config.steps}, {config.batch_size}")
    model_config = None if args.model_config is None else parse_model_config(args.model_config)
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
    model, log = train(episodes, config, model_config, device, init=args.init, teacher=args.teacher)
    log["data"] = source
    save_checkpoint(model, args.out, log)
    print(json.dumps({k: log[k] for k in ("train_seconds", "episodes", "parameters")}))
    return 0
