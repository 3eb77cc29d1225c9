"""The HTTP front end: the ASGI app of `serve --http`, and running it under uvicorn.

Contract: every request first passes the Host/Origin rules (`guard.HostRules`: 421 / 403). Then:
- `GET /healthz` answers `{"status": "ok", "version": …}` without a token, and nothing else;
- every other path needs a valid bearer token (`guard.authenticate`; else the one 401 answer);
- `/metrics` is the Prometheus text (`metrics.RegistryMetrics`);
- `/mcp` is MCP streamable HTTP, handed to the SDK session manager of the token's workspace
  (`workspaces.WorkspacePool.use`), which answers both the session-based form (2025 versions:
  `initialize`, `Mcp-Session-Id`, GET stream, DELETE) and the stateless 2026-07-28 form, and
  applies the body limit (413) and the per-workspace session cap (503). A session is bound to the
  token that opened it: another token, even of the same workspace, gets 404 for its id;
- anything else is 404.

`serve_http(settings, bind, …)` checks the address (a non-loopback one needs `allow_remote`) and
the TLS files, then serves until SIGINT/SIGTERM, after which every workspace is closed (its
containers removed) before it returns. `HttpSetupError` says what is wrong before anything starts.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import uvicorn
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from mcp_registry_server import __version__
from mcp_registry_server.catalog import load_catalog
from mcp_registry_server.config.tokens import TokenStore
from mcp_registry_server.server.http.guard import HostRules, authenticate, is_loopback, refusal, unauthorized
from mcp_registry_server.server.http.metrics import CONTENT_TYPE, RegistryMetrics
from mcp_registry_server.server.http.workspaces import WorkspacePool
from mcp_registry_server.settings import RegistrySettings

__all__ = ["MCP_PATH", "HttpFront", "HttpSetupError", "TlsFiles", "parse_bind", "serve_http"]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
DEFAULT_HOST = "127.0.0.1"


class HttpSetupError(Exception):
    """`serve --http` cannot start as asked; the message says what to change."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def parse_bind(text: str) -> tuple[str, int]:
    """`[HOST:]PORT` (IPv6 hosts in brackets) → (host, port); the host defaults to 127.0.0.1."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = DEFAULT_HOST, text
    host = host.strip("[]") or DEFAULT_HOST
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise HttpSetupError(f"--http {text!r}: the port must be a number from 1 to 65535 (e.g. --http 8765).")
    return host, int(port_text)


class HttpFront:
    """The ASGI app; see the module contract."""

    def __init__(self, pool: WorkspacePool, tokens: TokenStore, rules: HostRules, metrics: RegistryMetrics) -> None:
        self.pool = pool
        self.tokens = tokens
        self.rules = rules
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # uvicorn runs without lifespan; websockets are not served
        headers = Headers(scope=scope)
        refused = self.rules.refusal(headers)
        path = scope["path"].rstrip("/") or "/"
        if refused is None and path == "/healthz":
            refused = JSONResponse({"status": "ok", "version": __version__})
        if refused is not None:
            await refused(scope, receive, send)
            return
        record = authenticate(headers, self.tokens)
        if record is None:
            await unauthorized()(scope, receive, send)
            return
        if path == "/metrics":
            await Response(self.metrics.render(), media_type=CONTENT_TYPE)(scope, receive, send)
        elif path == MCP_PATH:
            # The SDK binds a session to the credential that opened it (the token's name, not the token).
            access = AccessToken(token=record.name, client_id=f"token:{record.name}", scopes=[])
            scope = {**scope, "user": AuthenticatedUser(access)}
            async with self.pool.use(record.workspace) as workspace:
                await workspace.sessions.handle_request(scope, receive, send)
        else:
            await refusal(404, f"Nothing here; MCP is served at {MCP_PATH}.")(scope, receive, send)


def _check_setup(host: str, allow_remote: bool, tls: TlsFiles | None) -> None:
    if not is_loopback(host) and not allow_remote:
        raise HttpSetupError(
            f"Refusing to listen on {host}: only 127.0.0.1 is the default, since anyone who can reach the port "
            "can try tokens. Add --allow-remote to listen there (and use --tls-cert/--tls-key)."
        )
    if tls is not None:
        for kind, path in (("--tls-cert", tls.cert), ("--tls-key", tls.key)):
            if not path.is_file():
                raise HttpSetupError(f"{kind} {path} is not a readable file.")


async def serve_http(
    settings: RegistrySettings, bind: str, *, allow_remote: bool = False, tls: TlsFiles | None = None
) -> None:
    """Serve MCP over streamable HTTP at `bind` until SIGINT/SIGTERM; see the module contract."""
    host, port = parse_bind(bind)
    _check_setup(host, allow_remote, tls)
    catalog = load_catalog(settings.catalog_dirs)
    for catalog_warning in catalog.warnings:
        logger.warning("%s", catalog_warning)
    tokens = TokenStore(settings.config_dir)
    if not tokens.records():
        logger.warning(
            "%s: no tokens, so every request will be refused. Create one with `mcp-registry token create NAME`.",
            tokens.problem or tokens.path,
        )
    rules = HostRules.for_bind(host, port, settings.http_allowed_hosts, settings.http_allowed_origins)
    pool = WorkspacePool(settings, catalog)
    metrics = RegistryMetrics(pool.live)
    pool.metrics = metrics
    config = uvicorn.Config(
        HttpFront(pool, tokens, rules, metrics),
        host=host,
        port=port,
        lifespan="off",
        log_config=None,  # our logging, set up by the CLI
        access_log=False,
        timeout_graceful_shutdown=5,
        ssl_certfile=tls.cert if tls else None,
        ssl_keyfile=tls.key if tls else None,
    )
    server = _Uvicorn(config)
    listening = _listen(host, port)  # bound here, so a taken port is a clear error, not uvicorn's exit
    async with pool, anyio.create_task_group() as tasks:
        tasks.start_soon(_stop_on_signals, server)
        scheme = "https" if tls else "http"
        logger.info("serving MCP at %s://%s:%d%s", scheme, host if ":" not in host else f"[{host}]", port, MCP_PATH)
        with listening:
            await server.serve(sockets=[listening])
        tasks.cancel_scope.cancel()
    logger.info("all workspaces closed")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as error:
        raise HttpSetupError(
            f"Cannot listen on {host}:{port}: {error.strerror or error}. Pick another port, or stop what uses it."
        ) from None


class _Uvicorn(uvicorn.Server):
    """uvicorn, minus its signal handling: it re-raises the signal once it has stopped, which would
    end the process before the workspaces close and remove their containers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _stop_on_signals(server: uvicorn.Server) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            logger.info("received %s; closing every workspace", signal.Signals(signum).name)
            server.should_exit = True
            return
