"""Developer commands: ``cosmos-robotics dev tiny-checkpoint DIR`` writes the tiny offline Cosmos 3 checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    dev = subparsers.add_parser("dev", help="developer tools (tiny checkpoints for tests and smoke runs)")
    commands = dev.add_subparsers(dest="dev_command", required=True, metavar="DEV_COMMAND")
    tiny = commands.add_parser(
        "tiny-checkpoint",
        help="write a tiny random-weight Cosmos 3 diffusers checkpoint (offline; loads like nvidia/Cosmos3-Nano)",
    )
    tiny.add_argument("directory", type=Path)
    tiny.add_argument("--seed", type=int, default=0)
    tiny.add_argument("--variant", choices=("base", "policy_droid"), default="base",
                      help="policy_droid: domain 8 answers the Cosmos3-Nano-Policy-DROID joint contract")
    tiny.set_defaults(func=_tiny_checkpoint)


def _tiny_checkpoint(args: argparse.Namespace) -> int:
    from cosmos_robotics.world_models.cosmos3.tiny_checkpoint import write_tiny_checkpoint

    path = write_tiny_checkpoint(args.directory, seed=args.seed, variant=args.variant)
    print(f"wrote tiny Cosmos 3 checkpoint to {path} (use: --backend diffusers --checkpoint {path})")
    return 0
