"""The registry's own tools (`registry_search`, `registry_add`, …): what each one does, for the editor.

`run_registry_tool(registry, name, arguments, call)` checks the arguments (`tools.parse_arguments`)
and runs the registry operation. Its result is a tool result: the operation's data as text and
`structuredContent`; a failure the user can act on (`RegistryError`, bad arguments) is a tool
error with the message, so the model reads it. `registry_exec` is a routed call like any other
(see `handlers`), so its outcome may also ask the editor for input; with `background=true` it
starts a background task (`registry.tasks`) and returns its id at once. `registry_task` reports
on one: while it works, its status and latest progress; once finished, the call's own result
(as registry_exec would have returned it), or a tool error saying it failed or was cancelled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcp_registry_server.registry import (
    CallOutcome,
    InputRequired,
    ProgressCallback,
    Registry,
    RegistryError,
    RequestError,
)
from mcp_registry_server.registry.asks import AskMode
from mcp_registry_server.registry.offload import OffloadError
from mcp_registry_server.registry.tasks import BackgroundTask
from mcp_registry_server.server.results import error_result, part_result, slice_result, text_result
from mcp_registry_server.server.tools import REGISTRY_TOOL_NAMES, REGISTRY_TOOLS, GetContentArgs, parse_arguments

__all__ = ["ToolCall", "run_registry_tool", "task_report", "tool_list_size"]


@dataclass(frozen=True)
class ToolCall:
    """How one editor request may use the registry: its progress forwarder and how questions reach it."""

    progress: ProgressCallback | None
    mode: AskMode


async def run_registry_tool(
    registry: Registry, name: str, raw_arguments: Any, call: ToolCall
) -> dict[str, Any] | CallOutcome | InputRequired:
    """Runs one registry tool; see the module docstring. Raises ArgumentError and RegistryError."""
    if name not in REGISTRY_TOOL_NAMES:
        raise RegistryError(f"Unknown registry tool {name!r}")
    args = parse_arguments(name, raw_arguments)
    match name:
        case "registry_search":
            found: dict[str, Any] = {}
            if args.kind in {"all", "servers"}:
                found["results"] = registry.catalog.search(args.query, args.limit)
            if args.kind in {"all", "tools"}:
                found["tools"] = registry.catalog.search_tools(args.query, args.limit)
            return text_result(found)
        case "registry_tool_info":
            return text_result(registry.catalog.tool_info(args.tool_name, args.entry_id))
        case "registry_list":
            return text_result({"entries": registry.catalog.list_entries()})
        case "registry_info":
            return text_result(registry.catalog.info(args.entry_id))
        case "registry_add":
            return text_result(
                await registry.mounts.add(args.entry_id, args.prefix, call.progress, args.expose, args.host)
            )
        case "registry_exec":
            await registry.mounts.wait_for_autostart()
            if args.background:
                return text_result(task_report(registry.tasks.start(args.tool_name, args.arguments)))
            return await registry.calls.call_tool(args.tool_name, args.arguments, call.progress, mode=call.mode)
        case "registry_remove":
            return text_result(await registry.mounts.remove(args.entry_id_or_prefix))
        case "registry_status":
            return text_result({**await registry.status(), "tool_list": tool_list_size(registry)})
        case "registry_config_set":
            return text_result(await registry.config_set(args.entry_id, args.values))
        case "registry_get_content":
            return await _get_content(registry, args)
        case "registry_task":
            return await _task(registry, args.task_id, args.wait_seconds, cancel=args.cancel)
    raise AssertionError(f"registry tool {name!r} has no case here")  # REGISTRY_TOOL_NAMES has one more name


def tool_list_size(registry: Registry) -> dict[str, Any]:
    """What the editor's tools/list costs its model's context: tools, bytes and a token estimate."""
    tools = [*REGISTRY_TOOLS, *registry.router.exposed_tools()]
    size = len(json.dumps(tools, separators=(",", ":")))
    return {
        "tools": len(tools),
        "registry_tools": len(REGISTRY_TOOLS),
        "bytes": size,
        "tokens_estimate": size // 4,
        "estimate": "tokens ~ bytes / 4 of the tool definitions as JSON; the model's tokenizer may differ",
    }


async def _get_content(registry: Registry, args: GetContentArgs) -> dict[str, Any]:
    """A slice of an offloaded result's text (or of one text part), or one other part whole."""
    store, index = registry.offload, args.part
    try:
        parts = (offloaded := store.find(args.ref)).parts
        if index is not None and index < len(parts) and parts[index].type != "text":
            return part_result(*await store.part(offloaded.ref, index))
        piece = await store.text_slice(offloaded.ref, args.offset, args.length, index)
    except OffloadError as error:
        raise RegistryError(str(error)) from None
    return slice_result(offloaded.ref, piece, index)


async def _task(registry: Registry, task_id: str, wait_seconds: float, *, cancel: bool) -> dict[str, Any] | CallOutcome:
    try:
        task = await (registry.tasks.cancel(task_id) if cancel else registry.tasks.wait(task_id, wait_seconds))
    except RequestError as error:
        raise RegistryError(error.message) from None
    if task.status == "cancelled":
        return text_result(task_report(task), is_error=not cancel)
    if task.outcome is not None:
        return task.outcome
    if task.error is not None:
        return error_result(f"{task.tool_name} failed: {task.error.message}")
    return text_result(task_report(task))


def task_report(task: BackgroundTask) -> dict[str, Any]:
    """What registry_exec(background=true) and registry_task say about a task that has no result to show."""
    notes = {
        "working": "Still working: ask registry_task again (wait_seconds waits for it).",
        "cancelled": "Cancelled: the server was told to stop; there is no result.",
    }
    report: dict[str, Any] = {"task_id": task.task_id, "tool_name": task.tool_name, "status": task.status}
    if task.status_message is not None:
        report["status_message"] = task.status_message
    if task.progress is not None:
        report["progress"] = {k: v for k, v in task.progress.items() if v is not None}
    if task.status in notes:
        report["note"] = notes[task.status]
    return report
