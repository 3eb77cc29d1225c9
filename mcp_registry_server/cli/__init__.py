"""The `mcp-registry` command line: `serve` (the default, what editors run) and the tools around it.

Contract: `main(argv)` parses the command line (`cli.parser`), sets up logging on stderr, and runs
the command's handler, imported only then, so `--help` and the bare `mcp-registry` stay fast. A
handler takes the parsed options and returns the exit code. `CLIError` becomes `error: …` and
`hint: …` on stderr and its exit code; Ctrl-C exits 130 without a traceback. `serve` builds the
settings from the environment and runs `server.app.serve` until the editor disconnects, or with
`--http` `server.http.app.serve_http` until a signal.

Commands live in one module each by topic: `editor_commands` (install, uninstall),
`doctor_command`, `catalog_commands` (search, list, info, catalog validate), `config_commands`,
`container_commands` (pull, ps, logs), `build_command` and `try_command`; `output` holds what they share.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp_registry_server.settings import RegistrySettings

__all__ = ["main"]


def _serve(options: argparse.Namespace) -> int:
    import anyio

    from mcp_registry_server.settings import RegistrySettings

    try:
        settings = RegistrySettings.from_environ()
    except ValueError as error:
        print(f"mcp-registry: {error}", file=sys.stderr)
        return 2
    if getattr(options, "http", None) is not None:
        return _serve_http(options, settings)
    if (
        getattr(options, "allow_remote", False)
        or getattr(options, "tls_cert", None)
        or getattr(options, "tls_key", None)
    ):
        print("mcp-registry: --allow-remote, --tls-cert and --tls-key go with --http", file=sys.stderr)
        return 2
    from mcp_registry_server.server.app import serve

    anyio.run(serve, settings)
    return 0


def _serve_http(options: argparse.Namespace, settings: RegistrySettings) -> int:
    from functools import partial
    from pathlib import Path

    import anyio

    from mcp_registry_server.server.http.app import HttpSetupError, TlsFiles, serve_http

    if (options.tls_cert is None) != (options.tls_key is None):
        print("mcp-registry: --tls-cert and --tls-key go together; give both, or neither", file=sys.stderr)
        return 2
    tls = TlsFiles(Path(options.tls_cert), Path(options.tls_key)) if options.tls_cert else None
    try:
        anyio.run(partial(serve_http, settings, options.http, allow_remote=options.allow_remote, tls=tls))
    except HttpSetupError as error:
        print(f"mcp-registry: {error}", file=sys.stderr)
        return 2
    return 0


def _handler(name: str) -> Callable[[argparse.Namespace], int]:
    if name == "serve":
        return _serve
    module_name, _, function = name.partition(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, function)


def main(argv: list[str] | None = None) -> int:
    from mcp_registry_server.cli.parser import build_parser

    options = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    serving = options.handler == "serve"
    level = (options.log_level or ("INFO" if serving else "WARNING")).upper()
    if not isinstance(logging.getLevelName(level), int):
        print(
            f"mcp-registry: --log-level {options.log_level!r} is not one of DEBUG, INFO, WARNING, ERROR",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if serving:
        return _serve(options)

    from mcp_registry_server.cli.output import CLIError, Style

    try:
        return _handler(options.handler)(options)
    except CLIError as error:
        style = Style(sys.stderr)
        print(f"{style.red('error')}: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"{style.bold('hint')}: {error.hint}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mcp-registry list | head` closed the pipe: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
        return 0
