"""Developer commands: ``cosmos-robotics dev tiny-checkpoint DIR`` writes the tiny offline Cosmos 3 checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    from cosmos_robotics.cli import add_command

    dev = subparsers.add_parser("dev", help="developer tools (tiny checkpoints for tests and smoke runs)")
    commands = dev.add_subparsers(dest="dev_command", required=True, metavar="DEV_COMMAND")
    tiny = add_command(
        commands, "tiny-checkpoint", "write a tiny random-weight Cosmos 3 diffusers checkpoint",
        "Writes a complete Cosmos 3 diffusers checkpoint with tiny random weights, built offline: it loads like\n"
        "nvidia/Cosmos3-Nano (same classes, configs, tokenizer files), so the real loading code can be tried on\n"
        "any machine. Its outputs are noise: use it to test plumbing, not quality.",
        "cosmos-robotics dev tiny-checkpoint /tmp/tiny && cosmos-robotics fd --backend diffusers "
        "--checkpoint /tmp/tiny --embodiment av --fixture --num-inference-steps 2 --out /tmp/fd")
    tiny.add_argument("directory", type=Path, help="where to write the checkpoint")
    tiny.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    tiny.add_argument("--variant", choices=("base", "policy_droid"), default="base",
                      help="policy_droid: domain 8 answers the Cosmos3-Nano-Policy-DROID joint contract")
    tiny.set_defaults(func=_tiny_checkpoint)


def _tiny_checkpoint(args: argparse.Namespace) -> int:
    from cosmos_robotics.world_models.cosmos3.tiny_checkpoint import write_tiny_checkpoint

    path = write_tiny_checkpoint(args.directory, seed=args.seed, variant=args.variant)
    print(f"wrote tiny Cosmos 3 checkpoint to {path} (use: --backend diffusers --checkpoint {path})")
    return 0
