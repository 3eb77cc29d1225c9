"""The editor-facing MCP server: the registry tools plus every active server's tools, over stdio.

Built on the `mcp` SDK's low-level `Server`. `tools/list` answers from memory (the registry's
tools and the router's cached exposed tools); it never waits on Podman. A call to
`registry_*` runs the registry operation; any other name is routed exactly like
`registry_exec`, and the child's result goes back as the child sent it. Registry failures come
back as tool results with `isError: true` and a message that says what to do, so the model can
read and act on them; nothing a caller sends can raise out of a handler.

`serve(settings)` runs until the editor closes stdin or the process gets SIGTERM/SIGINT, then
closes every child and removes its container (bounded) before returning.
"""

from __future__ import annotations

import json
import logging
import signal
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.session import ServerSession
from mcp.server.stdio import stdio_server

from mcp_registry_server import __version__
from mcp_registry_server.catalog import load_catalog
from mcp_registry_server.config_store import ConfigStore
from mcp_registry_server.registry import ProgressCallback, Registry, RegistryError, open_registry
from mcp_registry_server.server.tools import REGISTRY_TOOL_NAMES, REGISTRY_TOOLS, ArgumentError, parse_arguments
from mcp_registry_server.settings import RegistrySettings

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "mcp-registry runs MCP servers from a catalog in Podman containers. Find one with registry_search, "
    "activate it with registry_add (its tools then appear as <prefix>_<tool>, and are always callable "
    "through registry_exec), and deactivate it with registry_remove. registry_status shows what runs."
)


def _text_result(payload: Any, *, is_error: bool = False) -> dict[str, Any]:
    if isinstance(payload, str):
        return {"content": [{"type": "text", "text": payload}], "isError": is_error}
    return {
        "content": [{"type": "text", "text": json.dumps(payload, indent=2, ensure_ascii=False)}],
        "structuredContent": payload,
        "isError": is_error,
    }


class RegistryServer:
    """Binds a `Registry` to the SDK's low-level server and to the editor's session."""

    def __init__(self) -> None:
        self.registry: Registry | None = None
        self._session: ServerSession | None = None
        self.server: Server[Any] = Server(
            "mcp-registry",
            version=__version__,
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )

    def initialization_options(self) -> Any:
        return self.server.create_initialization_options(NotificationOptions(tools_changed=True))

    async def notify_tools_changed(self) -> None:
        if self._session is None:
            return
        try:
            await self._session.send_tool_list_changed()
        except Exception as error:  # the editor may be gone; the registry keeps serving
            logger.debug("could not send tools/list_changed: %s", error)

    async def _list_tools(self, ctx: Any, params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        self._session = ctx.session
        exposed = self.registry.router.exposed_tools() if self.registry else []
        return {"tools": [*REGISTRY_TOOLS, *exposed]}

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> dict[str, Any]:
        self._session = ctx.session
        registry = self.registry
        if registry is None:
            return _text_result("The registry is still starting; try again in a moment.", is_error=True)
        progress = self._progress_forwarder(ctx)
        name = params.name
        try:
            if name in REGISTRY_TOOL_NAMES:
                return await self._registry_tool(registry, name, params.arguments, progress)
            return (await registry.exec(name, params.arguments, progress)).result
        except (RegistryError, ArgumentError) as error:
            return _text_result(str(error), is_error=True)
        except Exception:
            logger.exception("internal error in %s", name)
            return _text_result(
                f"Internal error in {name}; the registry keeps serving. Details are in the registry's log.",
                is_error=True,
            )

    def _progress_forwarder(self, ctx: Any) -> ProgressCallback | None:
        if ctx.meta is None or ctx.meta.progress_token is None:
            return None
        session: ServerSession = ctx.session

        async def forward(progress: float, total: float | None, message: str | None) -> None:
            await session.report_progress(progress, total, message)

        return forward

    async def _registry_tool(
        self, registry: Registry, name: str, raw_arguments: Any, progress: ProgressCallback | None
    ) -> dict[str, Any]:
        args = parse_arguments(name, raw_arguments)
        match name:
            case "registry_search":
                return _text_result({"results": registry.search(args["query"], args["limit"])})
            case "registry_list":
                return _text_result({"entries": registry.list_entries()})
            case "registry_info":
                return _text_result(registry.info(args["entry_id"]))
            case "registry_add":
                return _text_result(await registry.add(args["entry_id"], args["prefix"], progress))
            case "registry_exec":
                return (await registry.exec(args["tool_name"], args["arguments"], progress)).result
            case "registry_remove":
                return _text_result(await registry.remove(args["entry_id_or_prefix"]))
            case "registry_status":
                return _text_result(await registry.status())
            case "registry_config_set":
                return _text_result(registry.config_set(args["entry_id"], args["values"]))
        raise RegistryError(f"Unknown registry tool {name!r}")


async def _cancel_on_signals(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            logger.info("received %s; shutting down", signal.Signals(signum).name)
            scope.cancel()
            return


async def serve(settings: RegistrySettings) -> None:
    """Serve the editor over stdio until it disconnects or a signal arrives."""
    catalog = load_catalog(settings.catalog_dirs)
    for warning in catalog.warnings:
        logger.warning("%s", warning)
    config = ConfigStore(settings.config_dir)
    for warning in config.warnings:
        logger.warning("%s", warning)
    app = RegistryServer()
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_cancel_on_signals, scope)
            async with open_registry(settings, catalog, config, app.notify_tools_changed) as registry:
                app.registry = registry
                async with stdio_server() as (read_stream, write_stream):
                    await app.server.run(read_stream, write_stream, app.initialization_options())
            tasks.cancel_scope.cancel()
