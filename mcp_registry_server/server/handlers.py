"""The MCP request handlers the SDK server runs for the editor: every method, both protocol eras.

Each handler is the one implementation of its method. The SDK's loop calls the `on_*` handlers;
the direct lane calls the same cores (`tool_list`, `tool_call`) after the same checks (see
`wire_shape` and `lane`). Handlers answer from memory where they can
(`tools/list` never waits on Podman) and wait, bounded, for `MCP_REGISTRY_AUTOSTART` before
anything that can reach a mount, so a client that calls right after `initialize` finds its
autostarted servers.

Tool calls: a `registry_*` name runs the registry tool; any other name is routed like
`registry_exec`. A child's tool result, on every path, is offloaded here when it is large
(`results.offload_large`). Failures the user can act on come back as tool results with `isError: true`
and a message that says what to do; nothing a caller sends can raise out of `call_tool`.
A child's question during a call, prompt or read reaches a handshake-era editor as a request;
a 2026-07-28 editor gets an `InputRequiredResult` and its retry (`inputResponses`, the echoed
`requestState`, sealed by the SDK's `RequestStateBoundary`) resumes the parked request.
The other methods raise `MCPError` for the JSON-RPC error the editor should get.

Tasks (2025-11-25 only; 2026-07-28 moved them out of the core protocol into an extension the
registry does not declare): `initialize` declares the `tasks` capability, routed tools and
`registry_exec` say `execution.taskSupport: "optional"` in `tools/list`, and a `tools/call` with
`task` metadata is answered at once with the new task (`tasks_middleware`, on every dispatch path:
the direct lane leaves such calls to the SDK's loop). `tasks/get`, `tasks/result` (waits for the
end), `tasks/list` and `tasks/cancel` read the registry's task table; progress reaches the
request's progressToken, and each status change is sent as `notifications/tasks/status`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.subscriptions import ListenHandler
from mcp.shared.exceptions import MCPError
from mcp.shared.jsonrpc_dispatcher import progress_token_from_params
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND
from mcp_types.jsonrpc import URL_ELICITATION_REQUIRED
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError

from mcp_registry_server.registry import AskMode, CallOutcome, InputRequired, Registry, RegistryError, RequestError
from mcp_registry_server.registry.audit import AuditLog
from mcp_registry_server.registry.tasks import RELATED_TASK_META_KEY, BackgroundTask
from mcp_registry_server.server.editor_session import EditorSession
from mcp_registry_server.server.registry_tools import ToolCall, run_registry_tool
from mcp_registry_server.server.results import error_result, offload_large, routed_result
from mcp_registry_server.server.tools import REGISTRY_TOOL_NAMES, REGISTRY_TOOLS, ArgumentError, parse_arguments

__all__ = ["PAGE_SIZE", "TASKS_VERSION", "EditorHandlers", "paginate"]

logger = logging.getLogger(__name__)

PAGE_SIZE = 500
Context = ServerRequestContext[Any, Any]
TASKS_VERSION = "2025-11-25"
"""The one protocol version whose core defines tasks."""
TASKS_CAPABILITY: dict[str, Any] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
_TASK_SUPPORT = {"taskSupport": "optional"}


def _with_task_support(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as a 2025-11-25 editor sees it: the registry runs any routed call as a task."""
    execution = tool.get("execution")
    if isinstance(execution, dict) and execution.get("taskSupport") in {"optional", "required"}:
        return tool
    return {**tool, "execution": {**(execution if isinstance(execution, dict) else {}), **_TASK_SUPPORT}}


_REGISTRY_TOOLS_WITH_TASKS = [
    _with_task_support(tool) if tool["name"] == "registry_exec" else tool for tool in REGISTRY_TOOLS
]


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


def _answer(outcome: CallOutcome | InputRequired, method: str, version: str) -> dict[str, Any]:
    if isinstance(outcome, InputRequired):
        return {"resultType": "input_required", "inputRequests": outcome.asks, "requestState": outcome.state}
    return routed_result(outcome, method, version)


def _wire(handler: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[dict[str, Any]]]:
    """A handler as the SDK needs it: the registry's `RequestError` as the SDK's `MCPError` (which
    the SDK puts on the wire), and `resultType: complete` on results for 2026-07-28 editors, whose
    surface requires it (the SDK's own typed results carry it; ours are plain dicts)."""

    async def handle(ctx: Context, params: Any) -> dict[str, Any]:
        try:
            result = await handler(ctx, params)
        except RequestError as error:
            raise MCPError(error.code, error.message, error.data) from None
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and "resultType" not in result:
            result["resultType"] = "complete"
        return result

    return handle


class EditorHandlers:
    """The handlers, bound to the registry once it is open (`registry`) and to the editor's session."""

    def __init__(self, editor: EditorSession, listen: ListenHandler) -> None:
        self.registry: Registry | None = None
        self.audit: AuditLog | None = None
        self._editor = editor
        self._listen = listen

    def _registry(self) -> Registry:
        if self.registry is None:
            raise MCPError(INTERNAL_ERROR, "The registry is still starting; try again in a moment.")
        return self.registry

    async def _ready(self) -> Registry:
        """The registry, once the autostart (if any) has finished or timed out."""
        registry = self._registry()
        await registry.mounts.wait_for_autostart()
        return registry

    def handlers(self) -> dict[str, Callable[..., Awaitable[Any]]]:
        """The `on_*` arguments of the SDK's `Server`."""
        return {
            "on_list_tools": _wire(self.list_tools),
            "on_call_tool": _wire(self.call_tool),
            "on_list_resources": _wire(self.list_resources),
            "on_list_resource_templates": _wire(self.list_resource_templates),
            "on_read_resource": _wire(self.read_resource),
            "on_subscribe_resource": _wire(self.subscribe),
            "on_unsubscribe_resource": _wire(self.unsubscribe),
            "on_subscriptions_listen": self.listen,
            "on_list_prompts": _wire(self.list_prompts),
            "on_get_prompt": _wire(self.get_prompt),
            "on_completion": _wire(self.complete),
        }

    def task_handlers(self) -> dict[str, tuple[type[BaseModel], Callable[..., Awaitable[Any]]]]:
        """The tasks/* methods (2025-11-25): `Server.add_request_handler` arguments by method."""
        return {
            "tasks/get": (types.GetTaskRequestParams, _wire(self.get_task)),
            "tasks/result": (types.GetTaskPayloadRequestParams, _wire(self.task_result)),
            "tasks/list": (types.PaginatedRequestParams, _wire(self.list_tasks)),
            "tasks/cancel": (types.CancelTaskRequestParams, _wire(self.cancel_task)),
        }

    # -- tools ----------------------------------------------------------------------------------

    async def list_tools(self, ctx: Context, params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        return await self.tool_list(_cursor(params), ctx.protocol_version)

    async def tool_list(self, cursor: str | None, version: str) -> dict[str, Any]:
        """tools/list, for both dispatch paths."""
        registry = await self._ready()
        self._editor.listed("tools")
        routed = registry.router.exposed_tools()
        if version == TASKS_VERSION:
            return paginate([*_REGISTRY_TOOLS_WITH_TASKS, *map(_with_task_support, routed)], "tools", cursor)
        return paginate([*REGISTRY_TOOLS, *routed], "tools", cursor)

    async def tool_list_generation(self) -> object:
        """What `tool_list`'s pages are made of, once the autostart is done: the same object until
        a mount's tools change (the direct lane keeps its shaped pages while it stays the same)."""
        return (await self._ready()).router.exposed_tools()

    async def call_tool(self, ctx: Context, params: types.CallToolRequestParams) -> dict[str, Any]:
        call = self._tool_call(ctx)
        return await self.tool_call(params.name, params.arguments, ctx.params, call, ctx.protocol_version)

    async def tool_call(
        self, name: str, arguments: Any, params: Mapping[str, Any] | None, call: ToolCall, version: str
    ) -> dict[str, Any]:
        """tools/call, for both dispatch paths: failures are tool errors, except a child's -32042.

        Every call, whichever path it took, is written to the audit log here (when there is one)."""
        if self.audit is None:
            return await self._dispatch_tool_call(name, arguments, params, call, version)
        started, outcome = time.perf_counter(), "cancelled"
        try:
            result = await self._dispatch_tool_call(name, arguments, params, call, version)
            outcome = "error" if result.get("isError") else result.get("resultType") or "ok"
            return result
        except Exception:
            outcome = "failed"
            raise
        finally:
            self.audit.record(
                entry=self._entry_of(name), tool=name, arguments=arguments, started=started, outcome=outcome
            )

    def _entry_of(self, tool: str) -> str:
        if tool in REGISTRY_TOOL_NAMES:
            return "registry"
        found = self.registry.router.resolve(tool) if self.registry is not None else None
        return found[0].entry.id if found is not None else "unknown"

    async def _dispatch_tool_call(
        self, name: str, arguments: Any, params: Mapping[str, Any] | None, call: ToolCall, version: str
    ) -> dict[str, Any]:
        try:
            registry = self._registry()
            if (state := _request_state(version, params)) is not None:
                outcome: Any = await registry.calls.resume(state, _responses(params), call.progress)
            elif name in REGISTRY_TOOL_NAMES:
                outcome = await run_registry_tool(registry, name, arguments, call)
            else:
                await registry.mounts.wait_for_autostart()
                outcome = await registry.calls.call_tool(name, arguments, call.progress, mode=call.mode)
            if isinstance(outcome, dict):
                return outcome
            result = _answer(outcome, "tools/call", version)
            if isinstance(outcome, CallOutcome):  # a child's result, however it came: offloaded when large
                schema_bound = registry.router.declares_output_schema(name)
                result = await offload_large(result, version, registry.offload, schema_bound=schema_bound)
            return result
        except RequestError as error:
            if error.code == URL_ELICITATION_REQUIRED:
                raise MCPError(error.code, error.message, error.data) from None  # the editor opens the URL
            return error_result(error.message)
        except (RegistryError, ArgumentError) as error:
            return error_result(str(error))
        except MCPError as error:
            return error_result(error.error.message)
        except Exception:
            logger.exception("internal error in %s", name)
            return error_result(
                f"Internal error in {name}; the registry keeps serving. Details are in the registry's log."
            )

    def _tool_call(self, ctx: Context) -> ToolCall:
        mode: AskMode = "defer" if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS else "relay"
        progress = None
        if progress_token_from_params(ctx.params) is not None:
            session = ctx.session

            async def progress(value: float, total: float | None, message: str | None) -> None:
                await session.report_progress(value, total, message)

        return ToolCall(progress, mode)

    # -- tasks (2025-11-25) -----------------------------------------------------------------------

    async def tasks_middleware(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        """Server middleware: a task-augmented tools/call starts a task and is answered at once
        (the SDK would check its answer as a CallToolResult); `initialize` declares tasks."""
        if (
            ctx.method == "tools/call"
            and ctx.protocol_version == TASKS_VERSION
            and (ctx.params or {}).get("task") is not None
        ):
            return {"task": (await self._start_task(ctx)).describe()}
        result = await call_next(ctx)
        if ctx.method == "initialize" and isinstance(result, dict) and result.get("protocolVersion") == TASKS_VERSION:
            result["capabilities"] = {**result.get("capabilities", {}), "tasks": TASKS_CAPABILITY}
        return result

    async def _start_task(self, ctx: Context) -> BackgroundTask:
        try:
            params = types.CallToolRequestParams.model_validate(ctx.params, by_name=False)
        except ValidationError:
            raise MCPError(
                INVALID_PARAMS, "Invalid tools/call params: name must be a string, arguments an object."
            ) from None
        registry = await self._ready()
        name, arguments = params.name, params.arguments or {}
        if name == "registry_exec":
            try:
                exec_args = parse_arguments(name, arguments)
            except ArgumentError as error:
                raise MCPError(INVALID_PARAMS, str(error)) from None
            name, arguments = exec_args.tool_name, exec_args.arguments
        elif name in REGISTRY_TOOL_NAMES:
            raise MCPError(METHOD_NOT_FOUND, f"{name} does not run as a task; call it without task metadata.")
        token = progress_token_from_params(ctx.params)
        try:
            return registry.tasks.start(
                name,
                arguments,
                ttl_ms=params.task.ttl if params.task is not None else None,
                on_status=self._task_status,
                on_progress=partial(self._editor.progress, token) if token is not None else None,
            )
        except RegistryError as error:
            raise MCPError(INVALID_PARAMS, str(error)) from None

    async def _task_status(self, task: BackgroundTask) -> None:
        await self._editor.task_status(task.describe())

    def _task(self, ctx: Context) -> Registry:
        if ctx.protocol_version != TASKS_VERSION:
            raise MCPError(METHOD_NOT_FOUND, "Method not found", ctx.method)  # as the SDK answers
        return self._registry()

    async def get_task(self, ctx: Context, params: types.GetTaskRequestParams) -> dict[str, Any]:
        return self._task(ctx).tasks.get(params.task_id).describe()

    async def list_tasks(self, ctx: Context, params: types.PaginatedRequestParams) -> dict[str, Any]:
        tasks = [task.describe() for task in self._task(ctx).tasks.all()]
        return paginate(tasks, "tasks", params.cursor)

    async def cancel_task(self, ctx: Context, params: types.CancelTaskRequestParams) -> dict[str, Any]:
        return (await self._task(ctx).tasks.cancel(params.task_id)).describe()

    async def task_result(self, ctx: Context, params: types.GetTaskPayloadRequestParams) -> dict[str, Any]:
        """tasks/result: the call's result once the task has ended (or its JSON-RPC error)."""
        task = await self._task(ctx).tasks.wait(params.task_id)
        if task.error is not None:
            raise task.error
        if task.outcome is not None:
            result = dict(routed_result(task.outcome, "tools/call", ctx.protocol_version))
        else:
            result = error_result(f"Task {task.task_id} was cancelled: the call has no result.")
        meta = result.get("_meta")
        result["_meta"] = {**(meta if isinstance(meta, dict) else {}), RELATED_TASK_META_KEY: {"taskId": task.task_id}}
        return result

    # -- resources ------------------------------------------------------------------------------

    async def list_resources(self, ctx: Context, params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        registry = await self._ready()
        self._editor.listed("resources")
        return paginate(await registry.passthrough.list_resources(), "resources", _cursor(params))

    async def list_resource_templates(
        self, ctx: Context, params: types.PaginatedRequestParams | None
    ) -> dict[str, Any]:
        registry = await self._ready()
        self._editor.listed("resources")
        return paginate(await registry.passthrough.list_resource_templates(), "resourceTemplates", _cursor(params))

    async def read_resource(self, ctx: Context, params: types.ReadResourceRequestParams) -> dict[str, Any]:
        registry = await self._ready()
        call = self._tool_call(ctx)
        if (state := _request_state(ctx.protocol_version, ctx.params)) is not None:
            outcome = await registry.calls.resume(state, _responses(ctx.params), call.progress)
        else:
            outcome = await registry.passthrough.read_resource(str(params.uri), call.progress, mode=call.mode)
        return _answer(outcome, "resources/read", ctx.protocol_version)

    async def subscribe(self, ctx: Context, params: types.SubscribeRequestParams) -> dict[str, Any]:
        registry = await self._ready()
        return await registry.passthrough.subscribe(str(params.uri), "resources/subscribe")

    async def unsubscribe(self, ctx: Context, params: types.UnsubscribeRequestParams) -> dict[str, Any]:
        registry = await self._ready()
        return await registry.passthrough.subscribe(str(params.uri), "resources/unsubscribe")

    async def listen(self, ctx: Context, params: types.SubscriptionsListenRequestParams) -> Any:
        """2026-07-28 `subscriptions/listen`: the SDK's stream, plus the children's resource subscriptions."""
        registry = await self._ready()
        subscribed: list[str] = []
        for uri in params.notifications.resource_subscriptions or ():
            try:
                await registry.passthrough.subscribe(str(uri), "resources/subscribe")
                subscribed.append(str(uri))
            except RequestError as error:
                logger.info("cannot subscribe to %s for a listen stream: %s", uri, error.message)
        try:
            return await self._listen(ctx, params)
        finally:
            for uri in subscribed:
                await registry.passthrough.unsubscribe_quietly(uri)

    # -- prompts and completion -------------------------------------------------------------------

    async def list_prompts(self, ctx: Context, params: types.PaginatedRequestParams | None) -> dict[str, Any]:
        registry = await self._ready()
        self._editor.listed("prompts")
        return paginate(await registry.passthrough.list_prompts(), "prompts", _cursor(params))

    async def get_prompt(self, ctx: Context, params: types.GetPromptRequestParams) -> dict[str, Any]:
        registry = await self._ready()
        call = self._tool_call(ctx)
        if (state := _request_state(ctx.protocol_version, ctx.params)) is not None:
            outcome = await registry.calls.resume(state, _responses(ctx.params), call.progress)
        else:
            outcome = await registry.passthrough.get_prompt(
                params.name, params.arguments, call.progress, mode=call.mode
            )
        return _answer(outcome, "prompts/get", ctx.protocol_version)

    async def complete(self, ctx: Context, params: types.CompleteRequestParams) -> dict[str, Any]:
        registry = await self._ready()
        wire = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        wire.pop("_meta", None)
        return await registry.passthrough.complete(wire)

    # -- handshake-era settings -----------------------------------------------------------------

    async def set_logging_level(self, ctx: Context, params: types.SetLevelRequestParams) -> dict[str, Any]:
        registry = await self._ready()
        await registry.events.set_logging_level(params.level)
        return {}

    async def roots_list_changed(self, ctx: Context, params: types.NotificationParams) -> None:
        await self._registry().events.roots_list_changed()


def _request_state(version: str, params: Mapping[str, Any] | None) -> str | None:
    """The (unsealed) state of a 2026-07-28 retry; handshake-era requests have none."""
    if version not in MODERN_PROTOCOL_VERSIONS or not params:
        return None
    state = params.get("requestState")
    return state if isinstance(state, str) else None


def _responses(params: Mapping[str, Any] | None) -> dict[str, Any]:
    responses = (params or {}).get("inputResponses")
    return responses if isinstance(responses, dict) else {}
