"""The `mcp-registry` command line: `serve` (the default, what editors run) and tools around it."""

from __future__ import annotations

import argparse
import sys

from mcp_registry_server import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mcp-registry", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mcp-registry {__version__}")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve"])
    parser.parse_args(sys.argv[1:] if argv is None else argv)
    print("mcp-registry: serve is not implemented yet", file=sys.stderr)
    return 1
