"""The ``cosmos-robotics`` command. Each sub-command lives in its own module with a ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import sys

from cosmos_robotics import __version__
from cosmos_robotics.errors import CosmosRoboticsError

# One module per command group; each adds its sub-parsers and sets ``func`` on them.
COMMAND_MODULES = (
    "cosmos_robotics.cli.embodiments",
    "cosmos_robotics.cli.dynamics",
    "cosmos_robotics.cli.dev",
    "cosmos_robotics.cli.actions",
    "cosmos_robotics.cli.demo",
    "cosmos_robotics.cli.serve",
    "cosmos_robotics.cli.train",
    "cosmos_robotics.cli.sim",
    "cosmos_robotics.cli.dataset",
    "cosmos_robotics.cli.rollout",
    "cosmos_robotics.cli.augment",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosmos-robotics", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CosmosRoboticsError as exc:  # user-facing: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
