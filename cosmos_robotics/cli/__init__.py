"""cosmos-robotics: plug NVIDIA Cosmos 3 world models into robots -- embodiment action contracts, world-model
backends (diffusers, vLLM-Omni, TensorRT-LLM, NIM, an embedded CPU model), a MuJoCo ground-truth simulator,
policies acting in simulation or imagination, and LeRobot v3 datasets.

Start with `cosmos-robotics demo`; every command has `--help` with an example."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from cosmos_robotics import __version__
from cosmos_robotics.errors import CosmosRoboticsError

# One module per command group; each adds its sub-parsers (with ``add_command``) and sets ``func`` on them.
COMMAND_MODULES = (
    "cosmos_robotics.cli.embodiments",
    "cosmos_robotics.cli.dynamics",
    "cosmos_robotics.cli.dev",
    "cosmos_robotics.cli.actions",
    "cosmos_robotics.cli.demo",
    "cosmos_robotics.cli.serve",
    "cosmos_robotics.cli.serve_policy",
    "cosmos_robotics.cli.train",
    "cosmos_robotics.cli.sim",
    "cosmos_robotics.cli.dataset",
    "cosmos_robotics.cli.rollout",
    "cosmos_robotics.cli.checkpoints",
    "cosmos_robotics.cli.reason",
    "cosmos_robotics.cli.ros",
    "cosmos_robotics.cli.evaluate",
    "cosmos_robotics.cli.augment",
)


def add_command(subparsers, name: str, summary: str, description: str, example: str) -> argparse.ArgumentParser:
    """A sub-command whose help a person can read: a one-line summary in the command list, a description, the
    defaults shown next to every option, and an example."""
    return subparsers.add_parser(name, help=summary, description=description, epilog=f"example:\n  {example}",
                                 formatter_class=HelpFormatter)


def add_server_address(parser: argparse.ArgumentParser, port: int) -> None:
    """``--host`` / ``--port`` / ``--allow-remote`` of every server command (loopback unless asked)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback unless --allow-remote)")
    parser.add_argument("--port", type=int, default=port, help="TCP port")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (the server has no authentication)")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults after each option (not the empty ones: None, False, []); descriptions keep their line breaks."""

    def _get_help_string(self, action):
        if action.default in (None, False, []) or action.help is None:
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """Usage errors as one ``error:`` line (exit 2), like every other bad input; ``--help`` shows the usage."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="cosmos-robotics", description=__doc__, formatter_class=HelpFormatter)
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
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # the file system refused (permissions, a directory given for a file, disk full)
        if isinstance(exc, BrokenPipeError):  # the reader went away (``| head``): nothing left to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            return 0
        print(f"error: {_one_line(f'{exc.strerror or exc}: {exc.filename or ''}')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
