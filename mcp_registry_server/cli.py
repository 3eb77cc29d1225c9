"""The `mcp-registry` command line: `serve` (the default, what editors run) and tools around it."""

from __future__ import annotations

import argparse
import logging
import sys

import anyio

from mcp_registry_server import __version__
from mcp_registry_server.settings import RegistrySettings


def _serve(_: argparse.Namespace) -> int:
    from mcp_registry_server.server.app import serve

    try:
        settings = RegistrySettings.from_environ()
    except ValueError as error:
        print(f"mcp-registry: {error}", file=sys.stderr)
        return 2
    anyio.run(serve, settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-registry",
        description="A Podman-backed MCP registry server for desktop editors.",
        epilog="Editors run `mcp-registry` with no arguments: that serves MCP over stdio.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-registry {__version__}")
    parser.add_argument("--log-level", default="INFO", help="logging level on stderr (default: INFO)")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve MCP over stdio (the default)")
    serve.set_defaults(run=_serve)
    parser.set_defaults(run=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=options.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return options.run(options)
