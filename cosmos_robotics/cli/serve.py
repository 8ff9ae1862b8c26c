"""``cosmos-robotics serve``: put any world-model backend behind the vLLM-Omni-compatible HTTP API."""

from __future__ import annotations

import argparse
import ipaddress
import json
from pathlib import Path

from cosmos_robotics.errors import ServeConfigError


def check_host(host: str, allow_remote: bool) -> str:
    """The server has no authentication: only loopback unless the operator explicitly opts in."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise ServeConfigError(f"--host {host} is not a loopback address and the server has no authentication; "
                               "bind 127.0.0.1 (default) or pass --allow-remote to expose it deliberately")
    return host


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def register(subparsers) -> None:
    from cosmos_robotics.cli import add_command, add_server_address
    from cosmos_robotics.world_models.factory import available_backends

    parser = add_command(
        subparsers, "serve", "serve a world model over HTTP (vLLM-Omni /v1/videos API)",
        "Puts any world-model backend behind the vLLM-Omni-compatible /v1/videos API (+ /v1/models, /health), so\n"
        "the remote clients (--backend vllm-omni) and other tools can call it. Binds 127.0.0.1 unless\n"
        "--allow-remote; oversized requests get 413, a full queue 429, bad input 4xx with a JSON error.",
        "cosmos-robotics serve --backend embedded --port 8000")
    parser.add_argument("--backend", required=True, help=f"world-model backend: {', '.join(available_backends())}")
    parser.add_argument("--checkpoint", default=None, help="checkpoint directory or hub id for the backend")
    parser.add_argument("--opt", type=_option, action="append", default=[], metavar="KEY=VALUE",
                        help="backend option, e.g. --opt device=cuda (repeatable; values parsed as JSON)")
    add_server_address(parser, 8000)
    parser.add_argument("--queue-size", type=int, default=8, help="jobs waiting beyond this get HTTP 429")
    parser.add_argument("--max-body-mb", type=float, default=64.0, help="larger request bodies get HTTP 413")
    parser.add_argument("--allowed-local-media-path", type=Path, default=None,
                        help="directory from which input_reference may name local files (default: uploads only)")
    parser.add_argument("--model-id", default=None, help="id reported by /v1/models (default: the backend name)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    host = check_host(args.host, args.allow_remote)
    if args.queue_size < 1 or args.max_body_mb <= 0:
        raise ServeConfigError(f"--queue-size must be >= 1 and --max-body-mb > 0, got {args.queue_size} and "
                               f"{args.max_body_mb}")
    media_root = args.allowed_local_media_path
    if media_root is not None and not media_root.is_dir():
        raise ServeConfigError(f"--allowed-local-media-path {media_root} is not a directory")
    import uvicorn  # heavy imports only once the options are known to be sane

    from cosmos_robotics.serving import ServerConfig, create_app
    from cosmos_robotics.world_models.factory import make_world_model

    world_model = make_world_model(args.backend, args.checkpoint, **dict(args.opt))
    config = ServerConfig(max_body_bytes=int(args.max_body_mb * 1024 * 1024), queue_size=args.queue_size,
                          allowed_local_media_path=media_root, model_id=args.model_id)
    uvicorn.run(create_app(world_model, config), host=host, port=args.port, log_level="info")
    return 0
