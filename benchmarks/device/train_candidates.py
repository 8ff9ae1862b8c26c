"""Train several embedded-model configs on one GPU from ONE simulated data set (the simulation is the slow part).

Each config trains in its own forked process (concurrently: the small models leave the GPU mostly idle), with
``cosmos_robotics.training.embedded.train`` -- the same loop as ``cosmos-robotics train`` -- and is saved
with ``save_checkpoint`` to ``OUT/<name>``. Configs are ``name=JSON`` pairs of ``ModelConfig`` fields.

    python benchmarks/device/train_candidates.py --out /tmp/w --episodes 512 --workers 16 --device cuda \
        --time-budget-s 240 'lean={"style": "separable", "enc_channels": [24, 48, 64], "dec_channels": [32, 16]}'
    python benchmarks/device/train_candidates.py ... --teacher bundled 'mid={"style": "separable", "dec_channels": [32, 16]}'
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from dataclasses import fields
from pathlib import Path

from cosmos_robotics.training.data import Episodes, generate_episodes
from cosmos_robotics.training.embedded import train
from cosmos_robotics.world_models.embedded.checkpoint import save_checkpoint
from cosmos_robotics.world_models.embedded.config import ModelConfig, TrainConfig


def parse_configs(pairs: list[str]) -> dict[str, ModelConfig]:
    configs = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        if not name or not text:
            raise SystemExit(f"expected NAME=JSON, got {pair!r}")
        configs[name] = ModelConfig.from_json(text)
    return configs


def train_one(name: str, config: ModelConfig, episodes: Episodes, train_config: TrainConfig, device: str,
              out: Path, note: str, init: str | None, teacher: str | None) -> None:
    log_file = (out / f"{name}.log").open("w")
    sys.stdout = sys.stderr = log_file  # one readable log per config (tqdm writes to stderr)
    model, log = train(episodes, train_config, None if init else config, device, init=init, teacher=teacher)
    log["data"] = note
    save_checkpoint(model, out / name, log)
    print(json.dumps({k: log[k] for k in ("train_seconds", "episodes", "parameters")}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", help="NAME=JSON of ModelConfig fields ({} = the shipped config)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--episodes", type=int, default=512)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--init", default=None, help="fine-tune these weights (`bundled`: the shipped ones), or with "
                                                      "--teacher distil this student further; the configs must then "
                                                      "be {}")
    parser.add_argument("--teacher", default=None, help="distil these weights (`bundled`: the shipped ones) into "
                                                         "each config's FiLM blocks and decoder")
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(getattr(defaults, f.name)),
                            default=getattr(defaults, f.name))
    args = parser.parse_args()
    configs = parse_configs(args.configs)
    train_config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    args.out.mkdir(parents=True, exist_ok=True)
    episodes = generate_episodes(args.episodes, args.first_seed, train_config.episode_length, args.workers)
    note = f"simulated: {args.episodes} episodes from seed {args.first_seed}"
    # fork: the children share the episodes' memory; CUDA is first touched inside each child.
    ctx = multiprocessing.get_context("fork")
    procs = {name: ctx.Process(target=train_one, args=(name, c, episodes, train_config, args.device, args.out, note,
                                                        args.init, args.teacher))
             for name, c in configs.items()}
    for p in procs.values():
        p.start()
    for name, p in procs.items():
        p.join()
        print(f"{name}: exit {p.exitcode}", flush=True)
    if any(p.exitcode for p in procs.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
