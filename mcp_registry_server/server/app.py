"""The editor-facing MCP server: the registry tools plus every active server's tools, over stdio.

Built on the `mcp` SDK's low-level `Server`. `tools/list` answers from memory (the registry's
tools and the router's cached exposed tools); it never waits on Podman. A call to
`registry_*` runs the registry operation; any other name is routed exactly like
`registry_exec`, and the child's result goes back as the child sent it. Registry failures come
back as tool results with `isError: true` and a message that says what to do, so the model can
read and act on them; nothing a caller sends can raise out of a handler.

Everything else an active server offers is proxied (see `passthrough`): resources and templates
(aggregated, paginated with our own cursor), subscriptions, prompts, completion, logging, and
the server→client requests sampling, elicitation and roots, relayed child → editor → child.
Capabilities are fixed at `initialize`, before any server is active, so the registry declares
everything it can proxy; lists are empty until a mount offers something.

`serve(settings)` runs until the editor closes stdin or the process gets SIGTERM/SIGINT, then
closes every child and removes its container (bounded) before returning.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp_types as types
from mcp.server.caching import CacheHint
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import TypeAdapter, ValidationError

from mcp_registry_server import __version__
from mcp_registry_server.catalog import load_catalog
from mcp_registry_server.config_store import ConfigStore
from mcp_registry_server.mcp_client import MCPRemoteError
from mcp_registry_server.registry import ProgressCallback, Registry, RegistryError, open_registry
from mcp_registry_server.server.direct_lane import DirectLane
from mcp_registry_server.server.stdio_transport import stdio_server
from mcp_registry_server.server.tools import REGISTRY_TOOL_NAMES, REGISTRY_TOOLS, ArgumentError, parse_arguments
from mcp_registry_server.settings import RegistrySettings

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "mcp-registry runs MCP servers from a catalog in Podman containers. Find one with registry_search, "
    "activate it with registry_add (its tools then appear as <prefix>_<tool>, and are always callable "
    "through registry_exec), and deactivate it with registry_remove. registry_status shows what runs."
)


PAGE_SIZE = 500

# How a relayed server→client request is validated on its way to the editor, and its result.
_RELAYED: dict[str, tuple[Any, TypeAdapter[Any], type[Any]]] = {
    "sampling/createMessage": (
        types.CreateMessageRequest,
        TypeAdapter(types.CreateMessageRequestParams),
        types.CreateMessageResult,
    ),
    "elicitation/create": (types.ElicitRequest, TypeAdapter(types.ElicitRequestParams), types.ElicitResult),
    "roots/list": (types.ListRootsRequest, TypeAdapter(types.RequestParams | None), types.ListRootsResult),
}


CACHEABLE = ("prompts/list", "resources/list", "resources/read", "resources/templates/list", "tools/list")


def _complete_result(handler: Callable[[Any, Any], Awaitable[dict[str, Any]]]) -> Any:
    """Mark raw results `resultType: complete` for 2026-07-28 editors, which require the field.

    Typed SDK results carry it by default; the registry returns children's results as raw
    dicts (faithful and cheap), so it adds the field itself. Older versions drop it.
    """

    async def handle(ctx: Any, params: Any) -> dict[str, Any]:
        result = await handler(ctx, params)
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            result.setdefault("resultType", "complete")
        return result

    return handle


def paginate(items: list[dict[str, Any]], key: str, cursor: str | None) -> dict[str, Any]:
    """One page of `items` under `key`, with an opaque `nextCursor` when more follow."""
    offset = 0
    if cursor is not None:
        try:
            state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if state["k"] != key or not isinstance(state["o"], int) or state["o"] < 0:
                raise ValueError(cursor)
            offset = state["o"]
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
            raise MCPError(INVALID_PARAMS, f"Invalid cursor for {key}: start again without a cursor.") from None
    page: dict[str, Any] = {key: items[offset : offset + PAGE_SIZE]}
    if offset + PAGE_SIZE < len(items):
        page["nextCursor"] = base64.urlsafe_b64encode(json.dumps({"k": key, "o": offset + PAGE_SIZE}).encode()).decode()
    return page


def _cursor(params: Any) -> str | None:
    return getattr(params, "cursor", None) if params is not None else None


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
        self._client_capabilities: dict[str, Any] = {}
        self.server: Server[Any] = Server(
            "mcp-registry",
            version=__version__,
            instructions=INSTRUCTIONS,
            # Lists change whenever a server is added or removed: never fresh, never shared.
            cache_hints={method: CacheHint(ttl_ms=0, scope="private") for method in CACHEABLE},
            on_list_tools=_complete_result(self._list_tools),
            on_call_tool=_complete_result(self._call_tool),
            on_list_resources=_complete_result(self._list_resources),
            on_list_resource_templates=_complete_result(self._list_resource_templates),
            on_read_resource=_complete_result(self._read_resource),
            on_subscribe_resource=self._subscribe,
            on_unsubscribe_resource=self._unsubscribe,
            on_list_prompts=_complete_result(self._list_prompts),
            on_get_prompt=_complete_result(self._get_prompt),
            on_completion=_complete_result(self._complete),
        )
        # Registered directly: the constructor arguments for these warn that 2026-07-28 deprecates
        # them, but editors on earlier versions use them and the registry must pass them on.
        self.server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, self._set_logging_level)
        self.server.add_notification_handler(
            "notifications/roots/list_changed", types.NotificationParams, self._roots_list_changed
        )

    def initialization_options(self) -> Any:
        return self.server.create_initialization_options(
            NotificationOptions(tools_changed=True, resources_changed=True, prompts_changed=True)
        )

    def _bind(self, ctx: Any) -> Registry:
        """Remember the editor's session (for notifications outside a request) and its capabilities."""
        if ctx.session is not self._session:
            self._session = ctx.session
            declared = ctx.session.client_capabilities
            self._client_capabilities = (
                declared.model_dump(by_alias=True, mode="json", exclude_none=True) if declared else {}
            )
        if self.registry is None:
            raise MCPError(-32603, "The registry is still starting; try again in a moment.")
        return self.registry

    # -- EditorLink: what the registry asks of the editor side ----------------------------

    def client_capabilities(self) -> dict[str, Any]:
        # Only what children may use through us: the editor's own extensions stay with it.
        return {k: v for k, v in self._client_capabilities.items() if k in {"sampling", "elicitation", "roots"}}

    async def list_changed(self, kind: str) -> None:
        senders = {"tools": "send_tool_list_changed", "resources": "send_resource_list_changed"}
        await self._notify(getattr(self._session, senders.get(kind, "send_prompt_list_changed"), None))

    async def resource_updated(self, uri: str) -> None:
        if self._session is not None:
            await self._notify(self._session.send_resource_updated, uri)

    async def log(self, level: str, data: Any, logger_name: str) -> None:
        params = types.LoggingMessageNotificationParams(level=level, data=data, logger=logger_name)
        if self._session is not None:
            await self._notify(self._session.send_notification, types.LoggingMessageNotification(params=params))

    async def _notify(self, send: Any, *args: Any) -> None:
        if send is None:
            return
        try:
            await send(*args)
        except Exception as error:  # the editor may be gone; the registry keeps serving
            logger.debug("could not notify the editor: %s", error)

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        if self._session is None or method not in _RELAYED:
            raise MCPRemoteError(-32601, f"Method not found: {method}")
        request_type, params_adapter, result_type = _RELAYED[method]
        try:
            typed_params = params_adapter.validate_python(params, by_alias=True)
        except ValidationError as error:
            raise MCPRemoteError(INVALID_PARAMS, f"Invalid {method} params: {error}") from error
        request = request_type(params=typed_params) if typed_params is not None else request_type()
        try:
            result = await self._session.send_request(request, result_type)
        except MCPError as error:
            raise MCPRemoteError(error.code, error.message, error.data) from error
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)

    # -- MCP handlers ---------------------------------------------------------------------

    async def _list_tools(self, ctx: Any, params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        registry = self._bind(ctx)
        await registry.wait_for_autostart()
        exposed = registry.router.exposed_tools()
        return paginate([*REGISTRY_TOOLS, *exposed], "tools", _cursor(params))

    async def _list_resources(self, ctx: Any, params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        registry = self._bind(ctx)
        await registry.wait_for_autostart()
        return paginate(await registry.passthrough.list_resources(), "resources", _cursor(params))

    async def _list_resource_templates(self, ctx: Any, params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        templates = await self._bind(ctx).passthrough.list_resource_templates()
        return paginate(templates, "resourceTemplates", _cursor(params))

    async def _read_resource(self, ctx: Any, params: types.ReadResourceRequestParams) -> dict[str, Any]:
        return await self._bind(ctx).passthrough.read_resource(str(params.uri))

    async def _subscribe(self, ctx: Any, params: types.SubscribeRequestParams) -> dict[str, Any]:
        return await self._bind(ctx).passthrough.subscribe(str(params.uri), "resources/subscribe")

    async def _unsubscribe(self, ctx: Any, params: types.UnsubscribeRequestParams) -> dict[str, Any]:
        return await self._bind(ctx).passthrough.subscribe(str(params.uri), "resources/unsubscribe")

    async def _list_prompts(self, ctx: Any, params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        registry = self._bind(ctx)
        await registry.wait_for_autostart()
        return paginate(await registry.passthrough.list_prompts(), "prompts", _cursor(params))

    async def _get_prompt(self, ctx: Any, params: types.GetPromptRequestParams) -> dict[str, Any]:
        return await self._bind(ctx).passthrough.get_prompt(params.name, params.arguments)

    async def _complete(self, ctx: Any, params: types.CompleteRequestParams) -> dict[str, Any]:
        wire = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        wire.pop("_meta", None)
        return await self._bind(ctx).passthrough.complete(wire)

    async def _set_logging_level(self, ctx: Any, params: types.SetLevelRequestParams) -> dict[str, Any]:
        await self._bind(ctx).set_logging_level(params.level)
        return {}

    async def _roots_list_changed(self, ctx: Any, params: types.NotificationParams) -> None:
        await self._bind(ctx).roots_list_changed()

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> dict[str, Any]:
        try:
            registry = self._bind(ctx)
        except MCPError as error:
            return _text_result(error.message, is_error=True)
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
        meta = ctx.meta or {}
        token = meta.get("progress_token", meta.get("progressToken"))
        if token is None:
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
    config.load()  # a broken config file is reported now, not at the first activation
    for warning in config.warnings:
        logger.warning("%s", warning)
    app = RegistryServer()
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_cancel_on_signals, scope)
            async with open_registry(settings, catalog, config, app) as registry:
                app.registry = registry
                # Routed tool calls take the direct lane; everything else goes through the SDK server.
                async with stdio_server(DirectLane(registry)) as (read_stream, write_stream):
                    await app.server.run(read_stream, write_stream, app.initialization_options())
            tasks.cancel_scope.cancel()
