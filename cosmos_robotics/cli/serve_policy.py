"""``cosmos-robotics serve-policy``: any policy behind an OpenPI-compatible websocket server, in the
Cosmos3-Nano-Policy-DROID format (``cosmos_robotics.serving.openpi_server``)."""

from __future__ import annotations

import argparse

from cosmos_robotics.cli.serve import check_host
from cosmos_robotics.errors import ServeConfigError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve-policy", help="serve a policy over the OpenPI websocket protocol (Policy-DROID [32, 8] joint targets)",
        description=__doc__,
        epilog="example: cosmos-robotics serve-policy --policy embedded --port 8000  "
               "(then: openpi_client.websocket_client_policy.WebsocketClientPolicy('127.0.0.1', 8000))")
    parser.add_argument("--policy", required=True,
                        help="policy spec: embedded, expert..., lerobot:path=DIR, openpi:url=... (a proxy)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback host")
    parser.add_argument("--max-message-mb", type=float, default=16.0, help="larger frames close that connection")
    parser.add_argument("--max-sessions", type=int, default=8, help="policy objects alive at once (LRU beyond)")
    parser.add_argument("--image-size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"),
                        help="camera size the policy expects; incoming views are resized to it (default 128 128)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    host = check_host(args.host, args.allow_remote)
    if args.max_message_mb <= 0 or args.max_sessions < 1 or min(args.image_size) < 8:
        raise ServeConfigError(f"--max-message-mb must be > 0, --max-sessions >= 1 and --image-size >= 8, got "
                               f"{args.max_message_mb}, {args.max_sessions} and {args.image_size}")
    import asyncio
    import logging

    from cosmos_robotics.policies import make_policy
    from cosmos_robotics.serving.openpi_server import PolicyServer, PolicyServerConfig

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = PolicyServerConfig(host=host, port=args.port, max_message_bytes=int(args.max_message_mb * 2**20),
                                max_sessions=args.max_sessions, image_size=tuple(args.image_size))
    server = PolicyServer(lambda: make_policy(args.policy), config)
    print(f"serving {server.name} on ws://{host}:{args.port} (health: http://{host}:{args.port}/healthz)", flush=True)
    try:
        asyncio.run(server.serve_forever())
    except KeyboardInterrupt:
        pass
    return 0
