"""Background tool calls: the task table behind 2025-11-25 tasks and `registry_exec(background=true)`.

`BackgroundTasks.start(tool_name, arguments, ...)` creates a task and runs the call in the
registry's task group; it returns at once. The call is routed like a foreground one
(`CallRouter`, relay mode: a child's question reaches a handshake-era editor as a request; a
2026-07-28 editor cannot be asked outside a request, so the child is told it refused), unless
the child runs the tool as a task itself (its tool says `execution.taskSupport` "optional" or
"required" and the child declared `tasks.requests.tools.call`): then the child's task is created,
polled with `tasks/get` and fetched with `tasks/result`. The child's task id never leaves the
registry: the editor sees only the registry's own ids, so two mounts' ids never collide.

Contract:
- at most `settings.max_tasks` tasks work at once; `start` raises `RegistryError` past that;
- a task ends `completed`, `failed` (the result has `isError`, e.g. the server exited mid-call:
  the text carries its stderr tail; or a JSON-RPC error, kept for `tasks/result`) or `cancelled`.
  `cancel` marks it cancelled at once and cancels the call: the child gets
  `notifications/cancelled` (or `tasks/cancel` for its own task);
- progress is kept (the latest notification) and passed to the task's `on_progress`; every
  status change after creation goes to its `on_status`;
- a finished task is kept for its ttl, counted from when it finished, then forgotten (checked on
  every access; no timer task); at most `MAX_FINISHED` finished tasks are kept, oldest dropped
  first. Leaving the registry cancels every task with the registry's task group.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS

from mcp_registry_server.registry.calls import CallOutcome, CallRouter
from mcp_registry_server.registry.editor_link import ProgressCallback
from mcp_registry_server.registry.errors import RegistryError, RequestError
from mcp_registry_server.registry.router import ActiveMount, ToolRouter
from mcp_registry_server.settings import RegistrySettings

__all__ = ["MAX_FINISHED", "RELATED_TASK_META_KEY", "TERMINAL", "BackgroundTask", "BackgroundTasks", "TaskStatus"]

logger = logging.getLogger(__name__)

TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]
TERMINAL = frozenset({"completed", "failed", "cancelled"})
MAX_FINISHED = 256
POLL_INTERVAL_MS = 1000
RELATED_TASK_META_KEY = "io.modelcontextprotocol/related-task"
# Bounds on how often a child's own task is polled, whatever pollInterval it suggests.
_CHILD_POLL_SECONDS = (0.1, 5.0)
_CHILD_CANCEL_SECONDS = 5.0

StatusListener = Callable[["BackgroundTask"], Awaitable[None]]


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat().replace("+00:00", "Z")


@dataclass(eq=False)
class BackgroundTask:
    """One background call: its status, latest progress and, once finished, its outcome."""

    task_id: str
    tool_name: str
    ttl_ms: int
    on_status: StatusListener | None = None
    on_progress: ProgressCallback | None = None
    status: TaskStatus = "working"
    status_message: str | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    progress: dict[str, Any] | None = None
    outcome: CallOutcome | None = None
    error: RequestError | None = None
    """The JSON-RPC error the call ended with (`tasks/result` answers with it)."""
    finished_at: float | None = None
    done: anyio.Event = field(default_factory=anyio.Event)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def describe(self) -> dict[str, Any]:
        """The task as the 2025-11-25 `Task` object (wire JSON)."""
        task: dict[str, Any] = {
            "taskId": self.task_id,
            "status": self.status,
            "createdAt": _iso(self.created_at),
            "lastUpdatedAt": _iso(self.updated_at),
            "ttl": self.ttl_ms,
            "pollInterval": POLL_INTERVAL_MS,
        }
        if self.status_message is not None:
            task["statusMessage"] = self.status_message
        return task


class BackgroundTasks:
    """The registry's background calls by task id. See the module docstring."""

    def __init__(
        self, settings: RegistrySettings, router: ToolRouter, calls: CallRouter, task_group: TaskGroup
    ) -> None:
        self._settings = settings
        self._router = router
        self._calls = calls
        self._task_group = task_group
        self._tasks: dict[str, BackgroundTask] = {}  # in creation order

    # -- the table --------------------------------------------------------------------------

    def start(
        self,
        tool_name: str,
        arguments: dict[str, Any],
        *,
        ttl_ms: int | None = None,
        on_status: StatusListener | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BackgroundTask:
        """A new working task for the call, running in the background; raise RegistryError when
        the tool is unknown or `max_tasks` tasks are working."""
        self._expire()
        if self._router.resolve(tool_name) is None:
            raise RegistryError(self._calls.unknown_tool_message(tool_name))
        working = sum(not task.is_terminal for task in self._tasks.values())
        if working >= self._settings.max_tasks:
            raise RegistryError(
                f"{working} background tasks are already working (at most {self._settings.max_tasks}, "
                "MCP_REGISTRY_MAX_TASKS): wait for one to finish or cancel one (registry_task with cancel=true)."
            )
        longest = int(self._settings.task_ttl * 1000)
        task = BackgroundTask(
            secrets.token_hex(8),
            tool_name,
            min(ttl_ms, longest) if ttl_ms is not None and ttl_ms > 0 else longest,
            on_status,
            on_progress,
        )
        self._tasks[task.task_id] = task
        self._task_group.start_soon(self._run, task, arguments, name=f"background task {task.task_id}")
        return task

    def get(self, task_id: Any) -> BackgroundTask:
        """The task; raise RequestError (-32602) for an unknown or expired id."""
        self._expire()
        task = self._tasks.get(task_id) if isinstance(task_id, str) else None
        if task is None:
            raise RequestError(
                INVALID_PARAMS,
                f"No task {str(task_id)[:80]!r}: it never existed, or it finished more than its ttl ago.",
            )
        return task

    def all(self) -> list[BackgroundTask]:
        """Every task still kept, oldest first."""
        self._expire()
        return list(self._tasks.values())

    async def wait(self, task_id: Any, seconds: float | None = None) -> BackgroundTask:
        """The task once it finished, or after `seconds` (None: as long as it takes)."""
        task = self.get(task_id)
        with anyio.move_on_after(seconds if seconds is not None else float("inf")):
            await task.done.wait()
        return task

    async def cancel(self, task_id: Any) -> BackgroundTask:
        """Cancel a working task (it is `cancelled` when this returns); RequestError for a finished one."""
        task = self.get(task_id)
        if task.is_terminal:
            raise RequestError(INVALID_PARAMS, f"Task {task.task_id} already {task.status}: it cannot be cancelled.")
        task.scope.cancel()  # first: telling the editor must not delay it
        await self._set_status(task, "cancelled", "Cancelled by the client.")
        return task

    def cancel_all(self) -> None:
        """Cancel every working task (the registry is closing)."""
        for task in self._tasks.values():
            task.scope.cancel()

    def _expire(self) -> None:
        now = time.monotonic()
        finished = [task for task in self._tasks.values() if task.finished_at is not None]
        for task in finished[: max(0, len(finished) - MAX_FINISHED)]:
            del self._tasks[task.task_id]
        for task in finished:
            if task.finished_at is not None and now - task.finished_at > task.ttl_ms / 1000:
                self._tasks.pop(task.task_id, None)

    # -- running one ------------------------------------------------------------------------

    async def _run(self, task: BackgroundTask, arguments: dict[str, Any]) -> None:
        with task.scope:
            try:
                outcome = await self._call(task, arguments)
            except RequestError as error:
                task.error = error
                await self._set_status(task, "failed", error.message)
            except Exception:
                logger.exception("internal error in background task %s (%s)", task.task_id, task.tool_name)
                task.error = RequestError(
                    INTERNAL_ERROR, f"Internal error in {task.tool_name}; see the registry's log."
                )
                await self._set_status(task, "failed", task.error.message)
            else:
                task.outcome = outcome
                failed = outcome.result.get("isError") is True
                message = _first_text(outcome.result) if failed else None
                await self._set_status(task, "failed" if failed else "completed", message)
        if not task.is_terminal:  # cancelled from outside, by the registry closing
            task.status = "cancelled"
        task.finished_at = time.monotonic()
        task.done.set()

    async def _call(self, task: BackgroundTask, arguments: dict[str, Any]) -> CallOutcome:
        async def progress(value: float, total: float | None, message: str | None) -> None:
            task.progress = {"progress": value, "total": total, "message": message}
            task.updated_at = time.time()
            if task.on_progress is not None:
                await task.on_progress(value, total, message)

        route = self._router.resolve(task.tool_name)
        if route is not None and _runs_tasks(*route):
            return await self._call_child_task(task, route[0], route[1], arguments, progress)
        outcome = await self._calls.call_tool(task.tool_name, arguments, progress, mode="relay")
        assert isinstance(outcome, CallOutcome)  # relay mode never parks
        return outcome

    async def _call_child_task(
        self,
        task: BackgroundTask,
        mount: ActiveMount,
        child_tool: str,
        arguments: dict[str, Any],
        progress: ProgressCallback,
    ) -> CallOutcome:
        """The call as the child's own task: create it, poll it, fetch its result."""
        params = {"name": child_tool, "arguments": arguments, "task": {"ttl": task.ttl_ms}}
        created = await self._calls.request(mount, "tools/call", params, progress, label=task.tool_name)
        assert isinstance(created, CallOutcome)
        child_task = created.result.get("task")
        if not isinstance(child_task, dict) or not isinstance(child_task.get("taskId"), str):
            return created  # the child answered at once (or the call failed): that is the outcome
        child_id = child_task["taskId"]
        finished = False
        try:
            while child_task.get("status") not in TERMINAL:
                if isinstance(message := child_task.get("statusMessage"), str) and message != task.status_message:
                    task.status_message, task.updated_at = message, time.time()
                interval = child_task.get("pollInterval")
                seconds = interval / 1000 if isinstance(interval, int | float) else POLL_INTERVAL_MS / 1000
                await anyio.sleep(min(max(seconds, _CHILD_POLL_SECONDS[0]), _CHILD_POLL_SECONDS[1]))
                child_task = await self._child_request(mount, "tasks/get", child_id, task.tool_name)
            outcome = await self._calls.request(
                mount, "tasks/result", {"taskId": child_id}, label=task.tool_name, shape=_without_child_task_id
            )
            assert isinstance(outcome, CallOutcome)
            finished = True
            return outcome
        finally:
            if not finished:
                with anyio.CancelScope(shield=True), anyio.move_on_after(_CHILD_CANCEL_SECONDS):
                    try:
                        await self._calls.request(mount, "tasks/cancel", {"taskId": child_id}, label=task.tool_name)
                    except RequestError as error:
                        logger.info("the child refused tasks/cancel for %s: %s", child_id, error.message)

    async def _child_request(self, mount: ActiveMount, method: str, child_id: str, label: str) -> dict[str, Any]:
        outcome = await self._calls.request(mount, method, {"taskId": child_id}, label=label)
        assert isinstance(outcome, CallOutcome)
        return outcome.result

    async def _set_status(self, task: BackgroundTask, status: TaskStatus, message: str | None) -> None:
        if task.is_terminal:
            return  # cancelled first; what the call did afterwards does not change that
        task.status, task.status_message, task.updated_at = status, message, time.time()
        if task.on_status is not None:
            with anyio.CancelScope(shield=True):
                try:
                    await task.on_status(task)
                except Exception:
                    logger.exception("could not report the status of task %s", task.task_id)


def _runs_tasks(mount: ActiveMount, child_tool: str) -> bool:
    """Whether the child runs this tool as a task of its own (2025-11-25 tasks)."""
    requests = _dict(_dict(mount.client.server_capabilities.get("tasks")).get("requests"))
    if not isinstance(_dict(requests.get("tools")).get("call"), dict):
        return False
    tool = next((tool for tool in mount.tools if tool.get("name") == child_tool), {})
    return _dict(tool.get("execution")).get("taskSupport") in {"optional", "required"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _without_child_task_id(result: dict[str, Any]) -> dict[str, Any]:
    """The child's result without its related-task stamp: its task ids stay inside the registry."""
    meta = result.get("_meta")
    if isinstance(meta, dict) and RELATED_TASK_META_KEY in meta:
        return {**result, "_meta": {k: v for k, v in meta.items() if k != RELATED_TASK_META_KEY}}
    return result


def _first_text(result: dict[str, Any]) -> str | None:
    for block in result.get("content") or ():
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            return str(block["text"])[:2000]
    return None
