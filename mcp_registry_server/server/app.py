"""The editor-facing MCP server: the SDK's `Server` with the registry's handlers, served over stdio.

`build_server(handlers, editor, settings)` makes the SDK's low-level `Server`: one handler per
method (`handlers.EditorHandlers`), and this middleware, outermost first:
- `EditorSession.observe`: learns who the editor is (handshake or per-request envelope);
- a bound on the size of an echoed `requestState`, then the SDK's `RequestStateBoundary`, which
  seals every `requestState` we hand a 2026-07-28 editor (AES-GCM under a per-process key,
  bound to the method, tool and arguments, expiring with the parked request) and verifies it on
  the way back, so the editor can neither read nor forge it.
The SDK's default OpenTelemetry middleware is left out: the registry exports no traces, and it
costs every request a span.

Capabilities are fixed at `initialize`, before any mount exists, so the registry declares
everything it can proxy; lists are empty until a mount offers something. Lists carry
`ttlMs: 0`, `cacheScope: private`: they change whenever a server is added or removed.

`serve(settings)` runs until the editor closes stdin or the process gets SIGTERM/SIGINT/SIGHUP,
then closes every child and removes its container (bounded) before returning. Routed tool calls
and tool lists take the direct lane (`lane`); everything else goes through the SDK's loop.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp.server.caching import CacheHint
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from mcp_registry_server import __version__
from mcp_registry_server.catalog import load_catalog
from mcp_registry_server.config import ConfigStore
from mcp_registry_server.registry import Registry, open_registry
from mcp_registry_server.registry.audit import AuditLog
from mcp_registry_server.registry.podman_link import PodmanLink
from mcp_registry_server.server.editor_session import EditorSession
from mcp_registry_server.server.handlers import EditorHandlers
from mcp_registry_server.server.lane import DirectLane
from mcp_registry_server.server.stdio_transport import stdio_server
from mcp_registry_server.settings import RegistrySettings

__all__ = ["INSTRUCTIONS", "Serving", "build_server", "serve"]

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "mcp-registry runs MCP servers from a catalog in Podman containers. Find one with registry_search, "
    "activate it with registry_add (its tools then appear as <prefix>_<tool>, and are always callable "
    "through registry_exec), and deactivate it with registry_remove. registry_status shows what runs. "
    "A very large tool result arrives as a preview and a reference; read the rest with registry_get_content."
    "A long call can run in the background: registry_exec(..., background=true), then registry_task."
)

CACHEABLE = ("prompts/list", "resources/list", "resources/read", "resources/templates/list", "tools/list")
# Our sealed tokens are a few hundred characters; anything much longer was not minted here.
MAX_REQUEST_STATE = 4096


async def _bounded_request_state(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    state = ctx.params.get("requestState") if ctx.params else None
    if isinstance(state, str) and len(state) > MAX_REQUEST_STATE:
        raise MCPError(INVALID_PARAMS, "Invalid or expired requestState", {"reason": "invalid_request_state"})
    return await call_next(ctx)


def build_server(handlers: EditorHandlers, editor: EditorSession, settings: RegistrySettings) -> Server[Any]:
    server: Server[Any] = Server(
        "mcp-registry",
        version=__version__,
        instructions=INSTRUCTIONS,
        # Lists change whenever a server is added or removed: never fresh, never shared.
        cache_hints={method: CacheHint(ttl_ms=0, scope="private") for method in CACHEABLE},
        # The SDK types handlers as returning its models; plain dicts are results too (`HandlerResult`).
        **handlers.handlers(),  # type: ignore[call-overload]
    )
    # Registered directly: the constructor arguments for these warn that 2026-07-28 deprecates
    # them, but editors on earlier versions use them and the registry must pass them on.
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, handlers.set_logging_level)
    server.add_notification_handler(
        "notifications/roots/list_changed", types.NotificationParams, handlers.roots_list_changed
    )
    # Tasks are 2025-11-25 methods outside the SDK's surface tables (it defines their types only).
    for method, (params_type, handler) in handlers.task_handlers().items():
        server.add_request_handler(method, params_type, handler)
    security = RequestStateSecurity.ephemeral(ttl=settings.call_timeout_bound)
    server.middleware = [
        editor.observe,
        handlers.tasks_middleware,
        _bounded_request_state,
        RequestStateBoundary(security, default_audience="mcp-registry"),
    ]
    return server


def initialization_options(server: Server[Any]) -> Any:
    return server.create_initialization_options(
        NotificationOptions(tools_changed=True, resources_changed=True, prompts_changed=True)
    )


async def _cancel_on_signals(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            logger.info("received %s; shutting down", signal.Signals(signum).name)
            scope.cancel()
            return


@dataclass(frozen=True)
class Serving:
    """What `serve` runs, for tests that look inside: the registry, and the lane (None when off)."""

    registry: Registry
    lane: DirectLane | None


async def serve(
    settings: RegistrySettings,
    *,
    fds: tuple[int, int] | None = None,
    podman: PodmanLink | None = None,
    lane: bool | None = None,
    started: Callable[[Serving], None] | None = None,
) -> None:
    """Serve the editor over stdio (or `fds`) until it disconnects or a signal arrives.

    For tests: `podman` replaces the Podman connection (fake containers), `lane` overrides
    `settings.direct_lane` (the parity test compares both paths), and `started` is told what runs."""
    if lane is None:
        lane = settings.direct_lane
    catalog = load_catalog(settings.catalog_dirs)
    for catalog_warning in catalog.warnings:
        logger.warning("%s", catalog_warning)
    config = ConfigStore(settings.config_dir)
    config.load()  # a broken config file is reported now, not at the first activation
    for config_warning in config.warnings:
        logger.warning("%s", config_warning)
    bus = InMemorySubscriptionBus()
    editor = EditorSession(bus)
    handlers = EditorHandlers(editor, ListenHandler(bus))
    server = build_server(handlers, editor, settings)
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tasks:
            if fds is None:
                tasks.start_soon(_cancel_on_signals, scope)
            if settings.state_dir is not None:
                handlers.audit = AuditLog.open(settings.state_dir, include_arguments=settings.audit_arguments)
                tasks.start_soon(handlers.audit.flush_periodically)
            async with open_registry(settings, catalog, config, editor, podman=podman) as registry:
                handlers.registry = registry
                direct = DirectLane(server, handlers, editor) if lane else None
                if started is not None:
                    started(Serving(registry, direct))
                async with stdio_server(direct, fds=fds) as (read_stream, write_stream):
                    await server.run(read_stream, write_stream, initialization_options(server))
            if handlers.audit is not None:
                handlers.audit.close()
            tasks.cancel_scope.cancel()
